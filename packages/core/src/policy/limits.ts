/** Per-broker limits; defaults follow the reliability reference (§5). */
export interface Limits {
  /** Largest packet accepted after CONNECT, and advertised in CONNACK (bytes). */
  maximumPacketSize: number;
  /** Largest CONNECT accepted before authentication (bytes). */
  maximumConnectPacketSize: number;
  /** Seconds a socket may stay open without a CONNECT being accepted. */
  connectTimeout: number;
  /** Longest keep alive honoured (seconds); sent as Server Keep Alive. 0 for no cap. */
  maximumKeepAlive: number;
  /** How many QoS 1/2 messages a client may have unacknowledged towards us. */
  receiveMaximum: number;
  /** Most QoS 1/2 messages in flight to one client, below its own Receive Maximum. */
  maximumInflight: number;
  /** Messages queued per session (offline or window full); beyond it new ones are dropped and counted. */
  maximumQueuedMessages: number;
  /** Payload bytes queued per session. */
  maximumQueuedBytes: number;
  /** Whether QoS 0 messages are queued for offline persistent sessions. */
  queueQos0: boolean;
  /** Topic aliases accepted from a client, and the most used towards one. */
  topicAliasMaximum: number;
  /** Longest session expiry interval granted (seconds). */
  maximumSessionExpiryInterval: number;
  /** Longest client identifier accepted (characters). */
  maximumClientIdLength: number;
  /** Most levels in a topic name or filter. */
  maximumTopicLevels: number;
  /** Longest topic name or filter (bytes of UTF-16; a close bound for UTF-8). */
  maximumTopicLength: number;
  /** Most subscriptions one client may hold. */
  maximumSubscriptionsPerClient: number;
  /** Seconds between $SYS updates; 0 turns $SYS off. */
  sysInterval: number;
  /** Packets per second one client may send after CONNECT (a bucket that holds one second's worth); 0 for no limit. */
  maximumPacketsPerSecond: number;
  /** Bytes per second one client may send (a bucket that holds one second's worth, at least one largest packet); 0 for no limit. */
  maximumBytesPerSecond: number;
  /** Clients connected to the broker at once; 0 for no limit. */
  maximumConnections: number;
  /** Sessions held at once, connected or not; a CONNECT that would start one more is refused (0x97). 0 for no limit. */
  maximumSessions: number;
  /** Subscriptions to one topic filter, from all clients; 0 for no limit. */
  maximumSubscribersPerTopic: number;
  /** Retained messages held; 0 for no limit. */
  maximumRetainedMessages: number;
  /** Payload bytes of retained messages held; 0 for no limit. */
  maximumRetainedBytes: number;
  /** Shortest keep alive honoured (seconds); a v5 client asking less (or 0) is told this as Server Keep Alive. 0 for no floor. */
  minimumKeepAlive: number;
}

/** The defaults. */
export const DEFAULT_LIMITS: Limits = {
  maximumPacketSize: 1024 * 1024,
  maximumConnectPacketSize: 64 * 1024,
  connectTimeout: 10,
  maximumKeepAlive: 300,
  receiveMaximum: 100,
  maximumInflight: 64,
  maximumQueuedMessages: 1000,
  maximumQueuedBytes: 16 * 1024 * 1024,
  queueQos0: false,
  topicAliasMaximum: 16,
  maximumSessionExpiryInterval: 7 * 24 * 3600, // reliability.md §5: at most 7 days
  maximumClientIdLength: 65535,
  maximumTopicLevels: 128,
  maximumTopicLength: 65535,
  maximumSubscriptionsPerClient: 100,
  sysInterval: 10,
  maximumPacketsPerSecond: 0,
  maximumBytesPerSecond: 0,
  maximumConnections: 0,
  maximumSessions: 100_000,
  maximumSubscribersPerTopic: 0,
  maximumRetainedMessages: 100_000,
  maximumRetainedBytes: 256 * 1024 * 1024,
  minimumKeepAlive: 0,
};

/**
 * Cloudflare Pub/Sub's published limits (its limits page): 64 KB messages,
 * 10 packets/s per client, topics 8 levels deep (8 slashes, so 9 levels),
 * client ids of at most 23 bytes, 7-day sessions, 1000 subscribers per
 * topic, 10 s to CONNECT, keep alive at least 10 s (and at most 3600 s).
 */
export const CLOUDFLARE_LIMITS: Partial<Limits> = {
  maximumPacketSize: 64_000,
  maximumConnectPacketSize: 64_000,
  maximumPacketsPerSecond: 10,
  maximumTopicLevels: 9,
  maximumTopicLength: 65_000,
  maximumClientIdLength: 23,
  maximumSessionExpiryInterval: 7 * 24 * 3600,
  maximumSubscribersPerTopic: 1000,
  connectTimeout: 10,
  minimumKeepAlive: 10,
  maximumKeepAlive: 3600,
};

/** Why a topic (or a filter) breaks the length or level limits, or undefined when it does not. */
export function checkTopicLimits(topic: string, limits: Limits): string | undefined {
  if (topic.length > limits.maximumTopicLength) return `topic longer than ${limits.maximumTopicLength}`;
  let levels = 1;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 0x2f) levels++;
  if (levels > limits.maximumTopicLevels) return `topic deeper than ${limits.maximumTopicLevels} levels`;
  return undefined;
}
