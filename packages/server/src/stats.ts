import type { ApiTokenRecord } from "@edgemq/tenancy";
import type { MeteredBroker, MetricsScope, MetricsSources } from "./metrics.ts";

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
}

/** What `GET /stats` answers: the time, the token's role and scope, and each broker it may see. */
export interface StatsAnswer {
  time: number;
  /** The account id the admin API serves; null when it takes any. */
  account_id: string | null;
  token: { role: ApiTokenRecord["role"]; namespaces: "*" | string[] };
  brokers: BrokerFigures[];
}

function figures(m: MeteredBroker): BrokerFigures {
  const b = m.broker;
  const s = b.stats;
  const hook = b.publishHook?.stats;
  return {
    namespace: m.namespace, broker: m.name,
    connections: s.connectionsCurrent, sessions: b.sessionCount, subscriptions: b.subscriptionCount, retained: b.retainedCount,
    messages_received: s.messagesReceived, messages_sent: s.messagesSent, bytes_received: s.bytesReceived, bytes_sent: s.bytesSent,
    drops: {
      queue_full_or_too_large: s.messagesDropped, denied: s.denied, rate_limited: s.rateLimited, quota: s.quotaExceeded,
      protocol_error: s.protocolErrors, hook_dropped: hook?.dropped ?? 0, hook_failed: hook?.failed ?? 0,
    },
  };
}

/**
 * The brokers' figures for the dashboard, as JSON: the same numbers /metrics
 * shows, under the same rule (a token scoped to some namespaces sees only
 * their brokers; the default broker belongs to no tenant).
 */
export function brokerStats(src: MetricsSources, token: Pick<ApiTokenRecord, "role" | "namespaces">, accountId?: string, now = Date.now()): StatsAnswer {
  const scope: MetricsScope = token.namespaces;
  const all = scope === "*";
  const brokers = [...src.brokers()].filter((b) => all || (b.namespace !== "" && scope.includes(b.namespace)));
  return { time: now, account_id: accountId ?? null, token: { role: token.role, namespaces: token.namespaces }, brokers: brokers.map(figures) };
}
