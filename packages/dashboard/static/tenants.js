// The tenants page: namespaces → brokers, from the admin API's paginated
// lists, with create and delete for the roles that may; a broker opens in
// broker.js's panel.
import { all, apiBase, call, may, send } from "./api.js";
import { brokerPanel } from "./broker.js";
import { $, acting, ask, button, dropControls, replaceRows, row } from "./dom.js";

/** Sets up the tenants page for a signed-in token (`session`: account, role, error reporter); returns its show(). */
export function tenantsPage(session) {
  const base = apiBase(session.account);
  const allowed = may(session.role);
  const act = acting(session);
  dropControls($("tenants"), allowed);
  const panel = brokerPanel(session);
  let namespace;

  const showNamespaces = async () => {
    const namespaces = await all(`${base}/namespaces`);
    replaceRows($("namespaces-table").tBodies[0], namespaces.map((n) => {
      const tr = row([n.name, n.description, new Date(n.created_on).toLocaleString()], { namespace: n.name });
      const cell = tr.appendChild(document.createElement("td"));
      cell.appendChild(button("open", "Brokers", `Show the brokers of ${n.name}`, () => act(() => openNamespace(n.name))));
      if (allowed.namespaces) cell.appendChild(button("delete", "Delete", `Delete namespace ${n.name}`, () => act(() => deleteNamespace(n.name))));
      return tr;
    }));
    if (namespace !== undefined && !namespaces.some((n) => n.name === namespace)) closeNamespace();
  };

  const closeNamespace = () => {
    namespace = undefined;
    $("brokers-panel").hidden = true;
    panel.close();
  };

  async function openNamespace(name) {
    namespace = name;
    $("brokers-of").textContent = name;
    $("brokers-panel").hidden = false;
    const path = `${base}/namespaces/${encodeURIComponent(name)}/brokers`;
    const brokers = await all(path);
    replaceRows($("brokers-table").tBodies[0], brokers.map((b) => {
      const tr = row([b.name, b.description, b.preset, b.endpoint], { broker: b.name });
      const cell = tr.appendChild(document.createElement("td"));
      cell.appendChild(button("open", "Open", `Open broker ${b.name}`, (event) => act(() => panel.open(name, b.name, event.currentTarget))));
      if (allowed.brokers) cell.appendChild(button("delete", "Delete", `Delete broker ${b.name}`, () => act(() => deleteBroker(b.name))));
      return tr;
    }));
    if (!brokers.some((b) => b.name === panel.broker())) panel.close();
  }

  async function deleteNamespace(name) {
    if (!await ask(`Delete namespace ${name}? Only an empty namespace can be deleted.`, "Delete namespace")) return;
    await call("DELETE", `${base}/namespaces/${encodeURIComponent(name)}`);
    await showNamespaces();
  }

  async function deleteBroker(name) {
    if (!await ask(`Delete broker ${name}.${namespace}? Its connected clients are disconnected.`, "Delete broker")) return;
    await call("DELETE", `${base}/namespaces/${encodeURIComponent(namespace)}/brokers/${encodeURIComponent(name)}`);
    await openNamespace(namespace);
  }


  $("namespace-create")?.addEventListener("submit", (event) => {
    event.preventDefault();
    const description = $("namespace-description").value.trim();
    void act(async () => {
      const created = (await send("POST", `${base}/namespaces`, { name: $("namespace-name").value.trim(), ...(description ? { description } : {}) })).result;
      event.target.reset();
      await showNamespaces();
      await openNamespace(created.name);
    });
  });

  $("broker-create")?.addEventListener("submit", (event) => {
    event.preventDefault();
    const description = $("broker-new-description").value.trim();
    void act(async () => {
      const created = (await send("POST", `${base}/namespaces/${encodeURIComponent(namespace)}/brokers`, { name: $("broker-name").value.trim(), ...(description ? { description } : {}) })).result;
      event.target.reset();
      await openNamespace(namespace);
      await panel.open(namespace, created.name);
    });
  });

  return { show: () => act(showNamespaces) };
}
