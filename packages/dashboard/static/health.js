// The overview's health tables, from GET /stats: each on-publish hook's calls,
// verdicts and mean call time, the store's mode and commits, and the cluster (for a token that sees the whole server).
import { $, row } from "./dom.js";

const keyOf = (b) => (b.namespace === "" ? "default" : `${b.broker}.${b.namespace}`);
const ms = (v) => (v === null ? "–" : `${v.toFixed(1)} ms`);

/** Shows the hooks of the brokers in scope (`*` for all), the store's state and the cluster. */
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
      ? `Store: ${store.mode}, durable (--data); ${store.commits} commits since start, ${ms(store.commit_ms_mean)} each on average.`
      : `Store: ${store.mode}: sessions and retained messages do not outlive a restart (no --data).`;
  }
  showCluster(stats.cluster ?? null);
}

// The cluster line: this node, its NATS server (or that NATS is away), and the nodes seen.
function showCluster(cluster) {
  $("cluster").hidden = cluster === null;
  if (cluster === null) return;
  const nats = cluster.connected ? `connected to NATS at ${cluster.nats_server ?? "?"}` : "NATS away: messages do not cross nodes until it is back";
  const seen = cluster.nodes_seen === null ? "" : `; ${cluster.nodes_seen} ${cluster.nodes_seen === 1 ? "node" : "nodes"} seen`;
  $("cluster").textContent = `Cluster: node ${cluster.node_id}, ${nats}${seen}.`;
  $("cluster").dataset.connected = String(cluster.connected);
}
