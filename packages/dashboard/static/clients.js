// The clients page: the connected clients of a broker (a tenant's or the default), from the admin
// API's clients endpoint, searchable, with a disconnect button for roles that may.
import { all, call } from "./api.js";
import { fillBrokerSelect, selectedBrokerPath } from "./broker-select.js";
import { clientDetail } from "./client-detail.js";
import { replaceRows } from "./dom.js";
import { offlineSessions } from "./sessions.js";

const $ = (id) => document.getElementById(id);

/** Shows the clients page for a signed-in token: `session` has the account, the role and an error reporter. */
export function clientsPage(session) {
  const select = $("clients-broker");
  const search = $("clients-search");
  let clients = [];
  const detail = clientDetail(session);
  const offline = offlineSessions(session);

  const render = () => {
    const q = search.value.trim().toLowerCase();
    const shown = clients.filter((c) => q === "" || [c.client_id, c.username ?? "", c.remote_address].some((v) => v.toLowerCase().includes(q)));
    const canDisconnect = session.role === "Admin" || session.role === "User";
    // The node column only when the API names nodes (edgemq run as a cluster).
    const clustered = clients.some((c) => c.node !== undefined);
    $("clients-table").classList.toggle("clustered", clustered);
    replaceRows($("clients-table").tBodies[0], shown.map((c) => {
      const tr = document.createElement("tr");
      tr.dataset.clientId = c.client_id;
      const cells = [c.client_id, c.username ?? "", `${c.remote_address}:${c.remote_port}`, c.protocol_version, new Date(c.connected_at).toLocaleString(), c.keep_alive === 0 ? "none" : `${c.keep_alive} s`, String(c.inflight), String(c.queued)];
      if (clustered) cells.push(c.node ?? "");
      for (const text of cells) tr.appendChild(document.createElement("td")).textContent = text;
      const action = tr.appendChild(document.createElement("td"));
      const details = action.appendChild(document.createElement("button"));
      details.type = "button";
      details.className = "details";
      details.textContent = "Details";
      details.setAttribute("aria-label", `Details of ${c.client_id}`);
      const opener = () => document.querySelector(`#clients-table tr[data-client-id="${CSS.escape(c.client_id)}"] button.details`);
      details.addEventListener("click", () => detail.open(brokerPath(), c, opener).catch(session.error));
      if (canDisconnect) {
        const button = action.appendChild(document.createElement("button"));
        button.type = "button";
        button.className = "disconnect";
        button.textContent = "Disconnect";
        button.setAttribute("aria-label", `Disconnect ${c.client_id}`);
        button.addEventListener("click", () => disconnect(c.client_id));
      }
      return tr;
    }));
    $("clients-empty").hidden = shown.length > 0;
    offline.render(search.value);
  };

  const brokerPath = () => selectedBrokerPath(select, session.account);

  const load = async () => {
    if (select.value === "") { clients = []; await offline.load(undefined, ""); render(); return; }
    try {
      clients = await all(`${brokerPath()}/clients`);
      await offline.load(brokerPath(), search.value);
      render();
    } catch (e) {
      session.error(e);
    }
  };

  async function disconnect(clientId) {
    try {
      await call("DELETE", `${brokerPath()}/clients/${encodeURIComponent(clientId)}`);
      await load();
    } catch (e) {
      session.error(e);
    }
  }

  const loadBrokers = async () => {
    try {
      await fillBrokerSelect(select, session);
      await load();
    } catch (e) {
      session.error(e);
    }
  };

  select.addEventListener("change", () => { detail.close(); void load(); });
  search.addEventListener("input", render);
  return { show: loadBrokers, refresh: load };
}
