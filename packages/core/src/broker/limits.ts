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
  maximumSessionExpiryInterval: 0xffffffff,
  maximumClientIdLength: 65535,
  maximumTopicLevels: 128,
  maximumTopicLength: 65535,
  maximumSubscriptionsPerClient: 100,
  sysInterval: 10,
};
