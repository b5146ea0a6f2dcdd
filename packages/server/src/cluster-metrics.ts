import type { ClusterCounters, ClusterStatus } from "@edgemq/cluster-nats";

/** What /metrics shows of this node's link to the cluster (ClusterLink has it all). */
export interface ClusterFigures {
  /** The NATS server this node is connected to (or was, while reconnecting). */
  readonly server: string | undefined;
  /** False between a lost NATS server and the next one. */
  readonly connected: boolean;
  readonly counters: ClusterCounters;
  readonly status: ClusterStatus;
  /** The nodes up now, this one included. */
  readonly presence: { count(): number };
}

type Family = (name: string, type: "gauge" | "counter", help: string) => void;

// Counters of messages over NATS and of the connection's events, with their help.
const COUNTERS: [(c: ClusterFigures) => number, string, string][] = [
  [(c) => c.counters.sent, "edgemq_cluster_messages_sent_total", "Messages published to the other nodes over NATS."],
  [(c) => c.counters.received, "edgemq_cluster_messages_received_total", "Messages from other nodes handed to this node's sessions (duplicates excluded)."],
  [(c) => c.counters.notSent, "edgemq_cluster_messages_not_sent_total", "Messages delivered on this node only: a topic too long for a NATS subject, or the NATS connection closed."],
  [(c) => c.counters.malformed, "edgemq_cluster_messages_malformed_total", "Messages from NATS that were not edgemq's (ignored)."],
  [(c) => c.counters.handedOff, "edgemq_cluster_share_handoffs_total", "Share group messages this node had no member for any more, sent on to the group's other nodes."],
  [(c) => c.counters.unserved, "edgemq_cluster_share_unserved_total", "Share group messages no member could take and that could not be handed on (lost)."],
  [(c) => c.status.slowConsumers, "edgemq_cluster_slow_consumer_events_total", "Times the NATS client said this node reads too slowly (the NATS server may drop its messages)."],
  [(c) => c.status.reconnects, "edgemq_cluster_reconnects_total", "Times this node reconnected to NATS after losing its server."],
];

// A label value as the exposition format wants it: backslash, quote and newline escaped.
const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** The cluster's families for /metrics: server-wide, so shown to all-namespace scopes only. */
export function renderClusterMetrics(cluster: ClusterFigures, family: Family, out: string[]): void {
  family("edgemq_cluster_nodes", "gauge", "Nodes of the cluster up now, this one included (each says so over NATS every 2 s).");
  out.push(`edgemq_cluster_nodes ${cluster.presence.count()}`);
  family("edgemq_cluster_nats_connected", "gauge", "1 while this node is connected to a NATS server (the label names it), 0 while cut off and reconnecting.");
  out.push(`edgemq_cluster_nats_connected{server="${label(cluster.server ?? "")}"} ${cluster.connected ? 1 : 0}`);
  for (const [value, name, help] of COUNTERS) {
    family(name, "counter", help);
    out.push(`${name} ${value(cluster)}`);
  }
}
