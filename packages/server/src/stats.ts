import type { ApiTokenRecord } from "@edgemq/tenancy";
import type { Histogram, MeteredBroker, MetricsScope, MetricsSources } from "./metrics.ts";

/** One broker's figures as `GET /stats` answers them: gauges now, counters since start. */
export interface BrokerFigures {
  namespace: string;
  broker: string;
  connections: number;
  sessions: number;
  subscriptions: number;
  retained: number;
  messages_received: number;
  messages_sent: number;
  bytes_received: number;
  bytes_sent: number;
  /** Messages and connections refused or dropped, by reason (counters). */
  drops: Record<string, number>;
  /** The on-publish hook's health, for a broker that has one: counters since start, mean call time. */
  hook: HookFigures | null;
}

/** An on-publish hook's calls and verdicts since start, and its mean call duration (null before the first). */
export interface HookFigures {
  calls: number;
  delivered: number;
  modified: number;
  dropped: number;
  failed: number;
  failed_open: number;
  latency_ms_mean: number | null;
}

/** The store, for a token that sees the whole server: its mode, commits since start and their mean duration. */
export interface StoreFigures {
  /** `memory (not durable)` or `sqlite (fsync)`, `sqlite (batched 5 ms)`…: the start-up line's words without the data path. */
  mode: string;
  durable: boolean;
  commits: number;
  commit_ms_mean: number | null;
}

/** This node's place in the cluster (--cluster), for a token that sees the whole server. */
export interface ClusterFigures {
  node_id: string;
  /** False while the NATS server is away (messages do not cross nodes then). */
  connected: boolean;
  /** The NATS server this node is connected to now (`host:port`), or null. */
  nats_server: string | null;
  /** How many nodes answered the roll call (this one included), or null before one. */
  nodes_seen: number | null;
}

/** What the server tells `GET /stats` besides the metrics: the store's mode and the cluster, if any. */
export interface ServerFacts {
  storeMode: string;
  cluster?(): ClusterFigures;
}

/** What `GET /stats` answers: the time, the token's role and scope, and each broker it may see. */
export interface StatsAnswer {
  time: number;
  /** The account id the admin API serves; null when it takes any. */
  account_id: string | null;
  token: { role: ApiTokenRecord["role"]; namespaces: "*" | string[] };
  brokers: BrokerFigures[];
  /** The store; null for a token scoped to namespaces (the store belongs to no tenant). */
  store: StoreFigures | null;
  /** The cluster; null when not clustered, or for a token scoped to namespaces. */
  cluster: ClusterFigures | null;
}

const meanMs = (h: Histogram | undefined) => (h === undefined || h.count === 0 ? null : (h.sum * 1000) / h.count);

function figures(m: MeteredBroker, src: MetricsSources): BrokerFigures {
  const b = m.broker;
  const s = b.stats;
  const hook = b.publishHook?.stats;
  // The hook latency histograms are keyed as /metrics names brokers.
  const latency = src.hookLatency?.get(m.namespace === "" ? m.name : `${m.name}.${m.namespace}`);
  return {
    namespace: m.namespace, broker: m.name,
    connections: s.connectionsCurrent, sessions: b.sessionCount, subscriptions: b.subscriptionCount, retained: b.retainedCount,
    messages_received: s.messagesReceived, messages_sent: s.messagesSent, bytes_received: s.bytesReceived, bytes_sent: s.bytesSent,
    drops: {
      queue_full_or_too_large: s.messagesDropped, denied: s.denied, rate_limited: s.rateLimited, quota: s.quotaExceeded,
      protocol_error: s.protocolErrors, hook_dropped: hook?.dropped ?? 0, hook_failed: hook?.failed ?? 0,
    },
    hook: hook === undefined ? null : {
      calls: hook.calls, delivered: hook.delivered, modified: hook.modified, dropped: hook.dropped, failed: hook.failed,
      failed_open: hook.failedOpen, latency_ms_mean: meanMs(latency),
    },
  };
}

/**
 * The brokers' figures for the dashboard, as JSON: the same numbers /metrics
 * shows, under the same rule (a token scoped to some namespaces sees only
 * their brokers; the default broker, the store and the cluster belong to no tenant).
 */
export function brokerStats(
  src: MetricsSources, token: Pick<ApiTokenRecord, "role" | "namespaces">, accountId?: string, now = Date.now(), facts?: ServerFacts,
): StatsAnswer {
  const scope: MetricsScope = token.namespaces;
  const all = scope === "*";
  const brokers = [...src.brokers()].filter((b) => all || (b.namespace !== "" && scope.includes(b.namespace)));
  const durable = src.commits !== undefined;
  const store = all
    ? { mode: facts?.storeMode ?? (durable ? "sqlite" : "memory (not durable)"), durable, commits: src.commits?.count ?? 0, commit_ms_mean: meanMs(src.commits) }
    : null;
  const cluster = all ? facts?.cluster?.() ?? null : null;
  return { time: now, account_id: accountId ?? null, token: { role: token.role, namespaces: token.namespaces }, brokers: brokers.map((b) => figures(b, src)), store, cluster };
}
