/**
 * What a broker tells its hooks' `onEvent` of, besides counting it: a refused
 * CONNECT, a refused PUBLISH or SUBSCRIBE, a connection closed for a malformed
 * packet, a protocol error or its rate, an authentication hook that threw, and
 * a message dropped because a session's queue is full (a slow or absent consumer).
 * Each happens on a rare path; none on a message's normal way through.
 */
export type BrokerEventKind =
  | "connect_refused"
  | "publish_denied"
  | "subscribe_denied"
  | "malformed_packet"
  | "protocol_error"
  | "rate_limited"
  | "hook_failed"
  | "queue_full"
  | "memory_budget";

/** Counters the broker keeps and publishes under $SYS. */
export interface BrokerStats {
  connectionsCurrent: number;
  connectionsTotal: number;
  messagesReceived: number;
  messagesSent: number;
  bytesReceived: number;
  bytesSent: number;
  packetsReceived: number;
  packetsSent: number;
  /** Messages not delivered: a full queue, too large for the client, or expired. */
  messagesDropped: number;
  /** Publishes and subscriptions refused by policy. */
  denied: number;
  /** Connections closed for a malformed packet or a protocol error. */
  protocolErrors: number;
  /** Connections closed for sending too many packets or bytes per second (0x96). */
  rateLimited: number;
  /** Connections, subscriptions and retained messages refused by a quota (0x97). */
  quotaExceeded: number;
  /** QoS 1 and 2 PUBLISH refused because the routing could not make them durable: a cluster node cut off from NATS. */
  unavailable: number;
}

/** A zeroed set of counters. */
export function newStats(): BrokerStats {
  return {
    connectionsCurrent: 0, connectionsTotal: 0, messagesReceived: 0, messagesSent: 0, bytesReceived: 0,
    bytesSent: 0, packetsReceived: 0, packetsSent: 0, messagesDropped: 0, denied: 0, protocolErrors: 0,
    rateLimited: 0, quotaExceeded: 0, unavailable: 0,
  };
}
