import type { Broker, MemoryBudget } from "@edgemq/core";
import { type ClusterFigures, renderClusterMetrics } from "./cluster-metrics.ts";
import type { Histogram } from "./histogram.ts";
import { type EventLoopLag, type GcPauses, processFigures } from "./process-metrics.ts";

export { Histogram, LATENCY_BUCKETS } from "./histogram.ts";
export { EventLoopLag, GcPauses } from "./process-metrics.ts";

/** One broker as /metrics names it: `namespace` is "" for the default broker. */
export interface MeteredBroker {
  namespace: string;
  name: string;
  broker: Broker;
}

/** What the metrics endpoint reads at each scrape. */
export interface MetricsSources {
  /** Every broker: the default one and the tenant brokers created so far. */
  brokers(): Iterable<MeteredBroker>;
  lag: EventLoopLag;
  gc?: GcPauses;
  /** Store commits, when the store is durable. */
  commits: Histogram | undefined;
  /** On-publish hook call durations by broker name (`default` or `<broker>.<namespace>`). */
  hookLatency?: Map<string, Histogram>;
  /** Milliseconds since the epoch when the server started. */
  startedAt: number;
  /** Tenant limit changes refused by the operator's ceilings, by limit name. */
  ceilingRefusals?(): ReadonlyMap<string, number>;
  /** Failed API token checks on the admin listener, and those answered 429. */
  adminAuth?(): { failures: number; rateLimited: number };
  /** The process-wide budget for bytes held in partial packets and queues. */
  memoryBudget?: MemoryBudget;
  /** This node's link to the cluster (--cluster), if any. */
  cluster?: ClusterFigures;
}

/**
 * Whose series a scrape shows: `*` (an all-namespace token, or --metrics-public)
 * sees everything; a token scoped to namespaces sees only their brokers' series,
 * since the default broker, the process and the server belong to no tenant.
 */
export type MetricsScope = "*" | readonly string[];

const COUNTERS: [key: keyof Broker["stats"], name: string, help: string][] = [
  ["connectionsTotal", "edgemq_connections_opened_total", "Client connections accepted since start."],
  ["messagesReceived", "edgemq_messages_received_total", "PUBLISH packets received from clients."],
  ["messagesSent", "edgemq_messages_sent_total", "PUBLISH packets sent to clients."],
  ["bytesReceived", "edgemq_received_bytes_total", "Bytes received from clients."],
  ["bytesSent", "edgemq_sent_bytes_total", "Bytes sent to clients."],
  ["packetsReceived", "edgemq_packets_received_total", "MQTT packets received."],
  ["packetsSent", "edgemq_packets_sent_total", "MQTT packets sent."],
  ["messagesDropped", "edgemq_messages_dropped_total", "Messages not delivered: a full session queue (a slow or absent consumer), too large for the receiver, or expired."],
  ["denied", "edgemq_access_denials_total", "Publishes, subscriptions, deliveries and session takeovers refused by access rules or a credential's topicAcl."],
  ["protocolErrors", "edgemq_protocol_errors_total", "Connections closed for a malformed packet or a protocol error."],
  ["rateLimited", "edgemq_rate_limit_disconnects_total", "Connections closed for sending too many packets or bytes per second (0x96)."],
  ["quotaExceeded", "edgemq_quota_refusals_total", "Connections, subscriptions and retained messages refused by a quota (0x97)."],
  ["unavailable", "edgemq_unavailable_refusals_total", "QoS 1 and 2 PUBLISH refused while this node was cut off from NATS (5.0: PUBACK/PUBREC 0x83; 3.1.1: connection closed)."],
];

// A label value as the exposition format wants it: backslash, quote and newline escaped.
const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** The metrics in Prometheus' text exposition format (version 0.0.4), for a scope. */
export function renderMetrics(src: MetricsSources, scope: MetricsScope = "*"): string {
  const all = scope === "*";
  const brokers = [...src.brokers()].filter((b) => all || (b.namespace !== "" && scope.includes(b.namespace)));
  const out: string[] = [];
  const seen = new Set<string>();
  const family = (name: string, type: "gauge" | "counter" | "histogram", help: string) => {
    // Two families of one name would make the scrape invalid: a programming error, caught by the unit tests.
    if (seen.has(name)) throw new Error(`metric family ${name} emitted twice`);
    seen.add(name);
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  const labelsOf = (b: MeteredBroker) => `namespace="${label(b.namespace)}",broker="${label(b.name)}"`;
  const perBroker = (name: string, value: (b: Broker) => number) => {
    for (const b of brokers) out.push(`${name}{${labelsOf(b)}} ${value(b.broker)}`);
  };

  family("edgemq_connections_current", "gauge", "Open client connections.");
  perBroker("edgemq_connections_current", (b) => b.stats.connectionsCurrent);
  family("edgemq_sessions", "gauge", "Sessions, connected or not.");
  perBroker("edgemq_sessions", (b) => b.sessionCount);
  family("edgemq_subscriptions", "gauge", "Subscriptions.");
  perBroker("edgemq_subscriptions", (b) => b.subscriptionCount);
  family("edgemq_retained_messages", "gauge", "Retained messages of clients (the broker's own $SYS values are not counted).");
  perBroker("edgemq_retained_messages", (b) => b.retainedCount);
  for (const [key, name, help] of COUNTERS) {
    family(name, "counter", help);
    perBroker(name, (b) => b.stats[key]);
  }
  family("edgemq_hook_messages_total", "counter", "Messages through an on-publish hook, by outcome: delivered (unchanged), modified, dropped (by the hook's reply), failed (dropped: the call failed), failed_open (delivered unchanged: the call failed).");
  for (const b of brokers) {
    const st = b.broker.publishHook?.stats;
    if (st === undefined) continue;
    for (const [outcome, v] of [["delivered", st.delivered], ["modified", st.modified], ["dropped", st.dropped], ["failed", st.failed], ["failed_open", st.failedOpen]] as const) {
      out.push(`edgemq_hook_messages_total{${labelsOf(b)},outcome="${outcome}"} ${v}`);
    }
  }
  family("edgemq_hook_pending_messages", "gauge", "Messages waiting for an on-publish hook's verdict.");
  for (const b of brokers) if (b.broker.publishHook !== undefined) out.push(`edgemq_hook_pending_messages{${labelsOf(b)}} ${b.broker.publishHook.pending}`);
  family("edgemq_hook_latency_seconds", "histogram", "On-publish hook calls, from the call to its verdict.");
  for (const b of brokers) {
    const h = src.hookLatency?.get(b.namespace === "" ? b.name : `${b.name}.${b.namespace}`);
    if (h !== undefined) out.push(...h.render("edgemq_hook_latency_seconds", labelsOf(b)));
  }
  if (all) renderServerWide(src, family, out);
  return `${out.join("\n")}\n`;
}

// What belongs to no tenant: the process, the event loop, the store, the admin listener.
function renderServerWide(src: MetricsSources, family: (name: string, type: "gauge" | "counter" | "histogram", help: string) => void, out: string[]): void {
  family("edgemq_event_loop_lag_seconds", "histogram", "How late a timer runs: the wait every connection's bytes see.");
  out.push(...src.lag.histogram.render("edgemq_event_loop_lag_seconds"));
  if (src.gc?.available) {
    family("edgemq_gc_pause_seconds", "histogram", "Garbage-collection pauses, by kind (Node only: Bun and Deno do not report them).");
    for (const [kind, h] of src.gc.byKind) out.push(...h.render("edgemq_gc_pause_seconds", `kind="${label(kind)}"`));
  }
  if (src.commits !== undefined) {
    family("edgemq_store_commit_seconds", "histogram", "From a transaction's first write to its commit (fsync included): what acknowledgements wait for.");
    out.push(...src.commits.render("edgemq_store_commit_seconds"));
  }
  family("edgemq_tenant_ceiling_refusals_total", "counter", "Tenant broker limits refused by the server's ceilings (--tenant-ceiling), by limit.");
  for (const [name, n] of src.ceilingRefusals?.() ?? []) out.push(`edgemq_tenant_ceiling_refusals_total{limit="${label(name)}"} ${n}`);
  const auth = src.adminAuth?.() ?? { failures: 0, rateLimited: 0 };
  family("edgemq_admin_auth_failures_total", "counter", "Failed API token checks on the admin listener (missing, malformed or unknown tokens), 429s included.");
  out.push(`edgemq_admin_auth_failures_total ${auth.failures}`);
  family("edgemq_admin_auth_rate_limited_total", "counter", "Failed API token checks answered 429: their address was past 10 failures in 10 s.");
  out.push(`edgemq_admin_auth_rate_limited_total ${auth.rateLimited}`);
  const budget = src.memoryBudget;
  if (budget !== undefined) {
    family("edgemq_memory_budget_bytes", "gauge", "The process-wide budget for bytes held in partial packets and queued messages (--memory-budget; 0: none).");
    out.push(`edgemq_memory_budget_bytes ${budget.limit}`);
    family("edgemq_memory_held_bytes", "gauge", "Bytes held against the budget, by kind: partial_packets (packets not yet whole), queues (messages queued for slow or offline sessions).");
    out.push(`edgemq_memory_held_bytes{kind="partial_packets"} ${budget.held.partialPackets}`, `edgemq_memory_held_bytes{kind="queues"} ${budget.held.queues}`);
    family("edgemq_memory_budget_refusals_total", "counter", "Takes refused because the budget was spent, by kind: a partial packet's connection closed with 0x97, a queued message dropped.");
    out.push(`edgemq_memory_budget_refusals_total{kind="partial_packets"} ${budget.refused.partialPackets}`, `edgemq_memory_budget_refusals_total{kind="queues"} ${budget.refused.queues}`);
    family("edgemq_sessions_limit", "gauge", "Sessions all brokers together may hold (--max-sessions-total; 0: no cap).");
    out.push(`edgemq_sessions_limit ${budget.sessionLimit}`);
  }
  if (src.cluster !== undefined) renderClusterMetrics(src.cluster, family, out);
  const p = processFigures();
  const single = (name: string, type: "gauge" | "counter", help: string, value: number | undefined) => {
    if (value === undefined) return;
    family(name, type, help);
    out.push(`${name} ${value}`);
  };
  single("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.", p.cpuSeconds);
  single("process_resident_memory_bytes", "gauge", "Resident memory size, in bytes.", p.residentBytes);
  single("process_open_fds", "gauge", "Open file descriptors (from /proc/self/fd).", p.openFds);
  single("process_max_fds", "gauge", "The limit on open file descriptors.", p.maxFds);
  single("process_start_time_seconds", "gauge", "When the server started (Unix time, seconds).", src.startedAt / 1000);
}
