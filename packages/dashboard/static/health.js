// The overview's health tables, from GET /stats: each on-publish hook's calls,
// verdicts and mean call time, and the store's commits (for a token that sees the whole server).
import { $, row } from "./dom.js";

const keyOf = (b) => (b.namespace === "" ? "default" : `${b.broker}.${b.namespace}`);
const ms = (v) => (v === null ? "–" : `${v.toFixed(1)} ms`);

/** Shows the hooks of the brokers in scope (`*` for all) and the store's state. */
export function showHealth(stats, scope) {
  const hooked = stats.brokers.filter((b) => b.hook !== null && (scope === "*" || keyOf(b) === scope));
  $("hooks").tBodies[0].replaceChildren(...hooked.map((b) => {
    const h = b.hook;
    return row([keyOf(b), String(h.calls), String(h.delivered), String(h.modified), String(h.dropped), String(h.failed), String(h.failed_open), ms(h.latency_ms_mean)], { broker: keyOf(b) });
  }));
  $("hooks-none").hidden = hooked.length > 0;
  $("hooks").hidden = hooked.length === 0;
  const store = stats.store;
  $("store").hidden = store === null;
  if (store !== null) {
    $("store").textContent = store.durable
      ? `Store: durable (--data); ${store.commits} commits since start, ${ms(store.commit_ms_mean)} each on average.`
      : "Store: memory only (no --data): sessions and retained messages do not outlive a restart.";
  }
}
