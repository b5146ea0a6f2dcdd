// The retained messages page: a broker's (a tenant's or the default) retained messages matching a
// topic or filter (GET …/retained?topic=), a payload shown as text, pretty
// JSON or hex, and clearing (DELETE …/retained?topic=) for roles that may.
import { all, call, may } from "./api.js";
import { fillBrokerSelect, selectedBrokerPath } from "./broker-select.js";
import { $, acting, ask, button, dropControls, openPanel, replaceRows, row } from "./dom.js";

const bytesOf = (base64) => Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));

/** A payload in one of the three views; what cannot be shown so says why. */
export function formatPayload(message, format) {
  if (format === "hex") {
    const bytes = bytesOf(message.payload);
    const lines = [];
    for (let i = 0; i < bytes.length; i += 16) {
      const chunk = [...bytes.slice(i, i + 16)];
      lines.push(`${i.toString(16).padStart(8, "0")}  ${chunk.map((b) => b.toString(16).padStart(2, "0")).join(" ")}`);
    }
    return lines.join("\n");
  }
  if (message.payload_utf8 === null) return "(the payload is not UTF-8 text: show it as hex)";
  if (format === "json") {
    try {
      return JSON.stringify(JSON.parse(message.payload_utf8), null, 2);
    } catch (e) {
      return `(the payload is not JSON: ${e.message})`;
    }
  }
  return message.payload_utf8;
}

/** Sets up the retained page for a signed-in token; returns its show(). */
export function retainedPage(session) {
  const act = acting(session);
  const allowed = may(session.role);
  dropControls($("retained"), allowed);
  const select = $("retained-broker");
  let viewed;

  const done = (text) => Object.assign($("retained-done"), { textContent: text, hidden: text === "" });
  const path = () => selectedBrokerPath(select, session.account);

  const view = (m, opener) => {
    viewed = m;
    $("retained-view-topic").textContent = m.topic;
    $("retained-payload").textContent = formatPayload(m, $("retained-format").value);
    const p = Object.entries(m.properties).map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
    $("retained-properties").textContent = [`QoS ${m.qos}`, `stored ${m.stored_at}`, m.expires_at ? `expires ${m.expires_at}` : "never expires", ...p].join(" · ");
    if (opener !== undefined) openPanel($("retained-view"), opener, () => { $("retained-view").hidden = true; });
  };

  const browse = async () => {
    if (select.value === "") return;
    const messages = await all(`${path()}/retained?topic=${encodeURIComponent($("retained-filter").value.trim())}`);
    replaceRows($("retained-table").tBodies[0], messages.map((m) => {
      const tr = row([m.topic, String(m.qos), String(bytesOf(m.payload).length), new Date(m.stored_at).toLocaleString()], { topic: m.topic });
      const cell = tr.appendChild(document.createElement("td"));
      cell.appendChild(button("view", "View", `View the payload of ${m.topic}`, (event) => view(m, event.currentTarget)));
      if (allowed.retained) cell.appendChild(button("clear", "Clear", `Clear the retained message of ${m.topic}`, () => act(() => clear(m.topic))));
      return tr;
    }));
    $("retained-empty").hidden = messages.length > 0;
    if (viewed !== undefined && !messages.some((m) => m.topic === viewed.topic)) $("retained-view").hidden = true;
  };

  // A topic with a wildcard clears every message it matches: asked once more, with the filter named.
  async function clear(topic) {
    if (/[#+]/.test(topic) && !await ask(`Clear every retained message matching ${topic}?`, "Clear")) return;
    const { deleted } = (await call("DELETE", `${path()}/retained?topic=${encodeURIComponent(topic)}`)).result;
    done(`Cleared ${deleted} retained message${deleted === 1 ? "" : "s"} (${topic}).`);
    await browse();
  }

  $("retained-browse").addEventListener("submit", (event) => {
    event.preventDefault();
    done("");
    void act(browse);
  });
  $("retained-clear")?.addEventListener("click", () => act(() => clear($("retained-filter").value.trim())));
  $("retained-format").addEventListener("change", () => viewed && view(viewed));
  select.addEventListener("change", () => act(browse));

  return { show: () => act(async () => { await fillBrokerSelect(select, session); await browse(); }) };
}
