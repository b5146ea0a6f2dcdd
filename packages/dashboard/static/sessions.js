// The offline sessions of a broker on the clients page (GET …/sessions?connected=false):
// what a disconnected client left behind (subscriptions, queued messages), with End session
// (DELETE …/sessions/{client_id}) for roles that may.
import { all, call, may } from "./api.js";
import { $, button, replaceRows, row } from "./dom.js";

/** Sets up the offline sessions table; `load(brokerPath)` fills it, `search` filters it by client id. */
export function offlineSessions(session) {
  const allowed = may(session.role).brokers;
  let path;
  let sessions = [];

  const render = (search) => {
    const q = search.trim().toLowerCase();
    const shown = sessions.filter((s) => q === "" || s.client_id.toLowerCase().includes(q));
    replaceRows($("sessions-table").tBodies[0], shown.map((s) => {
      const expires = s.never_expires ? "never" : s.expires_at === null ? "" : new Date(s.expires_at).toLocaleString();
      const tr = row([s.client_id, s.topic_filters.join(", "), `${s.queued} (${s.queued_bytes} bytes)`, expires, s.will_pending ? "yes" : "no"], { clientId: s.client_id });
      const cell = tr.appendChild(document.createElement("td"));
      if (allowed) cell.appendChild(button("end-session", "End session", `End the session of ${s.client_id}`, () => end(s.client_id)));
      return tr;
    }));
    $("sessions-empty").hidden = shown.length > 0;
  };

  async function end(clientId) {
    try {
      await call("DELETE", `${path}/sessions/${encodeURIComponent(clientId)}`);
      await load(path, $("clients-search").value);
    } catch (e) {
      session.error(e);
    }
  }

  async function load(brokerPath, search) {
    path = brokerPath;
    sessions = path === undefined ? [] : await all(`${path}/sessions?connected=false`);
    render(search);
  }

  return { load, render };
}
