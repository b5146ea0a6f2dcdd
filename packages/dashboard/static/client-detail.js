// A connected client's detail on the clients page: its connection facts, its
// subscriptions (GET …/subscriptions?client_id=), and, for roles that may,
// End session (DELETE …/sessions/{client_id}) and Revoke its credential (its jti).
import { all, call, may } from "./api.js";
import { $, acting, ask, dropControls, openPanel, replaceRows, row } from "./dom.js";

/** Sets up the detail panel; `open(brokerPath, client, opener)` shows a client from the clients list (Escape closes it, back to `opener`). */
export function clientDetail(session) {
  const act = acting(session);
  dropControls($("client-detail"), may(session.role));
  let shown; // [brokerPath, client]

  const done = (text) => {
    $("client-detail-done").textContent = text;
    $("client-detail-done").hidden = false;
  };

  const facts = (c) => {
    const items = [
      ["user", c.username ?? "(none)"], ["address", `${c.remote_address}:${c.remote_port}`], ["transport", c.transport],
      ["protocol", c.protocol_version], ["keep alive", `${c.keep_alive} s`], ["clean start", String(c.clean_start)],
      ["session expiry", `${c.session_expiry_interval} s`], ["credential id (jti)", c.jti ?? "(none)"],
      ["credential expires", c.credential_expires_at ?? "never"], ["in flight / queued", `${c.inflight} / ${c.queued} (${c.queued_bytes} bytes)`],
    ];
    $("client-detail-facts").replaceChildren(...items.flatMap(([k, v]) => [
      Object.assign(document.createElement("dt"), { textContent: k }), Object.assign(document.createElement("dd"), { textContent: v }),
    ]));
  };

  const close = () => { shown = undefined; $("client-detail").hidden = true; };

  const open = async (brokerPath, client, opener) => {
    shown = [brokerPath, client];
    $("client-detail-id").textContent = client.client_id;
    $("client-detail-done").hidden = true;
    facts(client);
    const subs = await all(`${brokerPath}/subscriptions?client_id=${encodeURIComponent(client.client_id)}`);
    replaceRows($("client-subscriptions").tBodies[0], subs.map((s) => row(
      [s.topic_filter, String(s.qos), s.share_group ?? "", String(s.no_local), String(s.retain_as_published), String(s.retain_handling)],
      { filter: s.topic_filter },
    )));
    $("client-subscriptions-empty").hidden = subs.length > 0;
    if ($("client-revoke")) $("client-revoke").hidden = client.jti === null;
    openPanel($("client-detail"), opener, close);
  };

  $("client-end-session")?.addEventListener("click", () => act(async () => {
    const [path, c] = shown;
    if (!await ask(`End the session of ${c.client_id}? Its subscriptions and queued messages go, and it is disconnected.`, "End session")) return;
    await call("DELETE", `${path}/sessions/${encodeURIComponent(c.client_id)}`);
    done(`The session of ${c.client_id} is ended.`);
  }));

  $("client-revoke")?.addEventListener("click", () => act(async () => {
    const [path, c] = shown;
    if (!await ask(`Revoke the credential ${c.jti}? Every client using it is disconnected and refused from now on.`, "Revoke")) return;
    await call("POST", `${path}/revocations?jti=${encodeURIComponent(c.jti)}`);
    done(`Credential ${c.jti} is revoked; take it back on the tenants page.`);
  }));

  return { open, close };
}
