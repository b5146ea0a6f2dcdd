import type { QoS } from "../codec/constants.ts";
import type { PublishProperties } from "../codec/packets/publish.ts";
import type { SubscriptionEntry } from "../model/subscription.ts";
import type { ConnInfo } from "../transport/duplex.ts";
import type { RetainedStore } from "./retained.ts";
import type { BrokerConnection, Session } from "./session.ts";
import type { SessionRegistry } from "./session-registry.ts";

//
// Read-only views for the admin API: copies taken when asked, so that a
// caller can never change the broker's state through them.
//

/** A connected client as {@link Broker.clients} lists it: a copy, taken when asked. */
export interface ClientSnapshot {
  clientId: string;
  username: string | undefined;
  /** 3 (MQTT 3.1), 4 (3.1.1) or 5 (5.0). */
  protocolVersion: 3 | 4 | 5;
  /** How and from where it connected. */
  conn: ConnInfo;
  /** When its CONNECT was accepted (ms since the epoch). */
  connectedAt: number;
  /** The keep alive the server enforces (seconds; 0 for none). */
  keepAlive: number;
  /** Clean Start (5.0) or Clean Session (3.x) of its CONNECT. */
  cleanStart: boolean;
  /** Seconds its session outlives the connection; 0xFFFFFFFF never expires. */
  sessionExpiryInterval: number;
  /** What authentication attached (a credential's jti, its access rules); not to be changed. */
  attributes: Readonly<Record<string, unknown>>;
  /** When its credential expires (ms), if it has one that does. */
  credentialExpiresAt: number | undefined;
  subscriptions: number;
  /** QoS 1 and 2 messages sent and not yet acknowledged. */
  inflight: number;
  /** Messages waiting for room in its receive window. */
  queued: number;
  queuedBytes: number;
}

/** A session, connected or not, as {@link Broker.sessions} lists it. */
export interface SessionSnapshot {
  clientId: string;
  connected: boolean;
  /** Seconds the session outlives its connection; 0xFFFFFFFF never expires. */
  expiryInterval: number;
  /** When an offline session ends (ms), unless it never expires; undefined while connected. */
  expiresAt: number | undefined;
  subscriptions: number;
  inflight: number;
  queued: number;
  queuedBytes: number;
  /** Whether a will waits for its delay to pass. */
  willPending: boolean;
}

/** A retained message as {@link Broker.retainedMessages} lists it. */
export interface RetainedSnapshot {
  topic: string;
  /** A copy of the payload. */
  payload: Uint8Array;
  qos: QoS;
  properties: PublishProperties | undefined;
  /** When the broker received it (ms). */
  storedAt: number;
  /** When its Message Expiry Interval runs out (ms), if it has one. */
  expiresAt: number | undefined;
}

/** The connected clients (one, or none, when `clientId` is given). */
export function clientSnapshots(registry: SessionRegistry, clientId?: string): ClientSnapshot[] {
  if (clientId !== undefined) {
    const conn = registry.sessions.get(clientId)?.connection;
    return conn !== undefined && conn.state === "connected" ? [clientSnapshot(registry, conn)] : [];
  }
  const out: ClientSnapshot[] = [];
  for (const conn of registry.connections) {
    if (conn.state === "connected" && conn.session !== undefined) out.push(clientSnapshot(registry, conn));
  }
  return out;
}

function clientSnapshot(registry: SessionRegistry, conn: BrokerConnection): ClientSnapshot {
  const session = conn.session!;
  const c = conn.client;
  const connect = registry.connectedAt.get(conn);
  return {
    clientId: c.clientId, username: c.username, protocolVersion: c.protocolVersion, conn: { ...c.conn },
    connectedAt: connect?.at ?? conn.openedAt, keepAlive: conn.keepAlive, cleanStart: connect?.cleanStart ?? true,
    sessionExpiryInterval: session.expiryInterval, attributes: c.attributes, credentialExpiresAt: conn.credentialExpiresAt,
    subscriptions: session.subscriptions.size, inflight: session.inflight.size, queued: session.queue.length, queuedBytes: session.queuedBytes,
  };
}

/** Every session, connected or not (one, or none, when `clientId` is given). */
export function sessionSnapshots(registry: SessionRegistry, clientId?: string): SessionSnapshot[] {
  const out: SessionSnapshot[] = [];
  const add = (s: Session) => out.push({
    clientId: s.clientId, connected: s.connection !== undefined, expiryInterval: s.expiryInterval, expiresAt: s.expiresAt,
    subscriptions: s.subscriptions.size, inflight: s.inflight.size, queued: s.queue.length, queuedBytes: s.queuedBytes,
    willPending: s.pendingWill !== undefined,
  });
  if (clientId !== undefined) {
    const s = registry.sessions.get(clientId);
    if (s !== undefined) add(s);
  } else {
    for (const s of registry.sessions.values()) add(s);
  }
  return out;
}

/** Every subscription of every session (or of one client). */
export function subscriptionSnapshots(registry: SessionRegistry, clientId?: string): SubscriptionEntry[] {
  const out: SubscriptionEntry[] = [];
  const sessions = clientId === undefined ? registry.sessions.values() : [registry.sessions.get(clientId)];
  for (const s of sessions) {
    if (s !== undefined) for (const e of s.subscriptions.values()) out.push({ ...e });
  }
  return out;
}

/** The retained messages whose topics match `filter`, leaving out those whose expiry has passed. */
export function retainedSnapshots(retained: RetainedStore, filter: string, now: number): RetainedSnapshot[] {
  const out: RetainedSnapshot[] = [];
  for (const m of retained.match(filter)) {
    if (m.expiresAt !== undefined && m.expiresAt <= now) continue;
    out.push({ topic: m.topic, payload: m.payload.slice(), qos: m.qos, properties: m.properties, storedAt: m.receivedAt, expiresAt: m.expiresAt });
  }
  return out;
}
