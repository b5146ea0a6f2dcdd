import type { Broker, MemoryBudget } from "@edgemq/core";

/** Upper bounds (seconds) of the latency histograms' buckets. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** A Prometheus histogram of durations in seconds, with fixed buckets. */
export class Histogram {
  readonly counts = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  sum = 0;
  count = 0;

  /** Records one duration, in milliseconds. */
  observeMs(ms: number): void {
    const s = ms / 1000;
    this.sum += s;
    this.count++;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      if (s <= LATENCY_BUCKETS[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  /** The histogram's lines in the text exposition format (buckets are cumulative). */
  render(name: string, labels = ""): string[] {
    const lines: string[] = [];
    let cumulative = 0;
    const sep = labels === "" ? "" : `${labels},`;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      cumulative += this.counts[i]!;
      lines.push(`${name}_bucket{${sep}le="${LATENCY_BUCKETS[i]}"} ${cumulative}`);
    }
    lines.push(`${name}_bucket{${sep}le="+Inf"} ${this.count}`);
    const braces = labels === "" ? "" : `{${labels}}`;
    lines.push(`${name}_sum${braces} ${this.sum}`, `${name}_count${braces} ${this.count}`);
    return lines;
  }
}

/**
 * Measures event-loop lag: a timer due every `intervalMs` records how late it
 * ran. Lag is what every connection waits before its bytes are looked at.
 */
export class EventLoopLag {
  readonly histogram = new Histogram();
  /** The latest lag, in milliseconds. */
  last = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /** Starts measuring every `intervalMs`. */
  start(intervalMs = 500): this {
    const tick = (due: number) => {
      if (this.#stopped) return;
      const lag = Math.max(0, performance.now() - due);
      this.last = lag;
      this.histogram.observeMs(lag);
      this.#schedule(intervalMs, tick);
    };
    this.#schedule(intervalMs, tick);
    return this;
  }

  /** Stops measuring. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }

  #schedule(intervalMs: number, tick: (due: number) => void): void {
    const due = performance.now() + intervalMs;
    this.#timer = setTimeout(() => tick(due), intervalMs);
    // A measuring timer must not keep the process alive (Node, Bun; Deno has Deno.unrefTimer).
    (this.#timer as { unref?: () => void }).unref?.();
  }
}

/** What the metrics endpoint reads at each scrape. */
export interface MetricsSources {
  /** Every broker by name: `default` and `<broker>.<namespace>` for tenants (only those created so far). */
  brokers(): Iterable<[string, Broker]>;
  lag: EventLoopLag;
  /** Store commits, when the store is durable. */
  commits: Histogram | undefined;
  /** On-publish hook call durations by broker name. */
  hookLatency?: Map<string, Histogram>;
  /** Milliseconds since the epoch when the server started. */
  startedAt: number;
  /** Tenant limit changes refused by the operator's ceilings, by limit name. */
  ceilingRefusals?(): ReadonlyMap<string, number>;
  /** Failed API token checks on the admin listener, and those answered 429. */
  adminAuth?(): { failures: number; rateLimited: number };
  /** The process-wide budget for bytes held in partial packets and queues. */
  memoryBudget?: MemoryBudget;
}

const COUNTERS: [key: keyof Broker["stats"], name: string, help: string][] = [
  ["connectionsTotal", "edgemq_connections_total", "Connections accepted since start."],
  ["messagesReceived", "edgemq_messages_received_total", "PUBLISH packets received from clients."],
  ["messagesSent", "edgemq_messages_sent_total", "PUBLISH packets sent to clients."],
  ["bytesReceived", "edgemq_bytes_received_total", "Bytes received from clients."],
  ["bytesSent", "edgemq_bytes_sent_total", "Bytes sent to clients."],
  ["packetsReceived", "edgemq_packets_received_total", "MQTT packets received."],
  ["packetsSent", "edgemq_packets_sent_total", "MQTT packets sent."],
];

// A label value as the exposition format wants it: backslash, quote and newline escaped.
const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** The metrics in Prometheus' text exposition format (version 0.0.4). */
export function renderMetrics(src: MetricsSources): string {
  const brokers = [...src.brokers()];
  const out: string[] = [];
  const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

  family("edgemq_connections", "gauge", "Open client connections.");
  for (const [name, b] of brokers) out.push(`edgemq_connections{broker="${label(name)}"} ${b.stats.connectionsCurrent}`);
  family("edgemq_sessions", "gauge", "Sessions, connected or not.");
  for (const [name, b] of brokers) out.push(`edgemq_sessions{broker="${label(name)}"} ${b.sessionCount}`);
  family("edgemq_subscriptions", "gauge", "Subscriptions.");
  for (const [name, b] of brokers) out.push(`edgemq_subscriptions{broker="${label(name)}"} ${b.subscriptionCount}`);
  family("edgemq_retained_messages", "gauge", "Retained messages.");
  for (const [name, b] of brokers) out.push(`edgemq_retained_messages{broker="${label(name)}"} ${b.retained.size}`);
  for (const [key, metric, help] of COUNTERS) {
    family(metric, "counter", help);
    for (const [name, b] of brokers) out.push(`${metric}{broker="${label(name)}"} ${b.stats[key]}`);
  }
  family("edgemq_messages_dropped_total", "counter", "Messages not delivered or not accepted, by reason.");
  for (const [name, b] of brokers) {
    const n = label(name);
    // undeliverable: a full session queue, too large for the receiver, or expired;
    // denied: refused by access rules or a credential's topicAcl (QoS 0 drops included);
    // protocol_error: connections closed for a malformed packet or a protocol error;
    // rate_limited: connections closed with 0x96; quota_exceeded: refused with 0x97.
    out.push(
      `edgemq_messages_dropped_total{broker="${n}",reason="undeliverable"} ${b.stats.messagesDropped}`,
      `edgemq_messages_dropped_total{broker="${n}",reason="denied"} ${b.stats.denied}`,
      `edgemq_messages_dropped_total{broker="${n}",reason="protocol_error"} ${b.stats.protocolErrors}`,
      `edgemq_messages_dropped_total{broker="${n}",reason="rate_limited"} ${b.stats.rateLimited}`,
      `edgemq_messages_dropped_total{broker="${n}",reason="quota_exceeded"} ${b.stats.quotaExceeded}`,
    );
  }
  family("edgemq_hook_messages_total", "counter", "Messages through an on-publish hook, by outcome: delivered (unchanged), modified, dropped (by the hook's reply), failed (dropped: the call failed), failed_open (delivered unchanged: the call failed).");
  for (const [name, b] of brokers) {
    const st = b.publishHook?.stats;
    if (st === undefined) continue;
    const n = label(name);
    for (const [outcome, v] of [["delivered", st.delivered], ["modified", st.modified], ["dropped", st.dropped], ["failed", st.failed], ["failed_open", st.failedOpen]] as const) {
      out.push(`edgemq_hook_messages_total{broker="${n}",outcome="${outcome}"} ${v}`);
    }
  }
  family("edgemq_hook_pending_messages", "gauge", "Messages waiting for an on-publish hook's verdict.");
  for (const [name, b] of brokers) if (b.publishHook !== undefined) out.push(`edgemq_hook_pending_messages{broker="${label(name)}"} ${b.publishHook.pending}`);
  family("edgemq_hook_latency_seconds", "histogram", "On-publish hook calls, from the call to its verdict.");
  for (const [name, h] of src.hookLatency ?? []) out.push(...h.render("edgemq_hook_latency_seconds", `broker="${label(name)}"`));
  family("edgemq_event_loop_lag_seconds", "histogram", "How late a timer runs: the wait every connection's bytes see.");
  out.push(...src.lag.histogram.render("edgemq_event_loop_lag_seconds"));
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
  family("edgemq_start_time_seconds", "gauge", "When the server started (Unix time).");
  out.push(`edgemq_start_time_seconds ${src.startedAt / 1000}`);
  return `${out.join("\n")}\n`;
}
