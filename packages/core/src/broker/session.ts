import type { Will } from "../codec/packets/connect.ts";
import type { Connection } from "../connection/connection.ts";
import type { ConnectionSession } from "../connection/host.ts";
import { type ClientInfo, clientIdentity } from "../model/client.ts";
import { LazyMap, LazySet } from "../model/lazy-collections.ts";
import type { OutgoingRecord } from "../model/outgoing-record.ts";
import type { SubscriptionEntry } from "../model/subscription.ts";
import type { SessionRecord } from "../store/store.ts";
import { RecordQueue } from "./record-queue.ts";
import type { RetainedBacklog } from "./retained-backlog.ts";

/** A connection attached to a broker session. */
export type BrokerConnection = Connection<Session>;

/** A PUBLISH held back until a store commit resolves (see {@link Session.outbox}). */
export interface HeldPublish {
  record: OutgoingRecord;
  dup: boolean;
}

/**
 * The state of one client's session, which outlives its connections when
 * its Session Expiry Interval is above zero (§4.1).
 */
export class Session implements ConnectionSession {
  readonly clientId: string;
  /** The live connection, if the client is connected. */
  connection: BrokerConnection | undefined;
  /** Subscriptions by the filter the client sent (`$share/…` included). */
  readonly subscriptions: LazyMap<string, SubscriptionEntry> = new LazyMap();
  /** Seconds the session lives after its connection closes. */
  expiryInterval = 0;
  /** When the session expires (ms), set while no connection is attached. */
  expiresAt: number | undefined;
  /** When its last connection closed (ms), set while no connection is attached; expiry counts from it. */
  disconnectedAt: number | undefined;
  /** QoS 1 and 2 messages sent and not yet fully acknowledged, in send order. */
  readonly inflight: LazyMap<number, OutgoingRecord> = new LazyMap();
  /** Messages waiting for the client's receive window or for the client to return. */
  readonly queue: RecordQueue = new RecordQueue();
  /** Payload bytes held in `queue`. */
  queuedBytes = 0;
  /** Inbound QoS 2 packet ids for which PUBREC was sent and PUBREL not yet received. */
  readonly inboundQos2: LazySet<number> = new LazySet();
  /** The will of the last connection, waiting for its delay to pass. */
  pendingWill: { will: Will; publishAt: number; client: ClientInfo } | undefined;
  /**
   * Who the last connection was: offline deliveries are checked against it,
   * and its identity owns the session. It is stored with the session
   * ({@link SessionRecord.client}), so the owner survives a restart.
   */
  client: ClientInfo | undefined;
  #nextPacketId = 1;

  // Outbound flow for the attached connection, reset when a connection attaches.
  /** Unacknowledged messages of a resumed session not yet resent, waiting for room in the client's Receive Maximum. */
  resendBacklog: OutgoingRecord[] | undefined;
  /**
   * PUBLISHes held until a store commit ({@link outboxGate}) resolves, in send
   * order; QoS > 0 ones are already in flight with their packet ids.
   * Undefined when nothing is held (the usual case).
   */
  outbox: HeldPublish[] | undefined;
  /** The commit the outbox waits for. */
  outboxGate: Promise<unknown> | undefined;
  /**
   * Retained messages new subscriptions brought, sent as the window frees
   * (before later queued messages); undefined when none wait. Kept across a
   * reconnect of the session, not stored.
   */
  retainedBacklog: RetainedBacklog | undefined;

  // Routing scratch, valid while `routeGeneration` equals the broker's current
  // one: overlapping subscriptions of this session merge here, so matching a
  // message allocates nothing per subscriber.
  /** The routing pass that last matched this session. */
  routeGeneration = 0;
  /** The highest QoS among this session's matching subscriptions. */
  routeQos: 0 | 1 | 2 = 0;
  /** Whether any matching subscription has Retain As Published. */
  routeRetainAsPublished = false;
  /** Every matching subscription identifier. */
  routeIds: number[] | undefined;

  constructor(clientId: string) {
    this.clientId = clientId;
  }

  /** The identity the session belongs to ({@link clientIdentity} of its client); undefined: an anonymous client's, anyone's. */
  get owner(): string | undefined {
    return this.client === undefined ? undefined : clientIdentity(this.client);
  }

  /** Picks an unused non-zero packet identifier [MQTT-2.2.1-3]. */
  allocatePacketId(): number {
    for (let tries = 0; tries < 65535; tries++) {
      const id = this.#nextPacketId;
      this.#nextPacketId = id === 65535 ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
    return 0; // every identifier is in use; the caller queues instead
  }
}

/**
 * A session as the store keeps it: while connected, with the connection's will
 * (a crash under it leaves that will to publish); once disconnected, with the
 * pending will and the time its expiry counts from.
 */
export function sessionRecord(session: Session): SessionRecord {
  const conn = session.connection;
  const pending = session.pendingWill;
  return {
    clientId: session.clientId,
    expiryInterval: session.expiryInterval,
    subscriptions: [...session.subscriptions.values()],
    will: conn !== undefined ? conn.will : pending?.will,
    willAt: conn !== undefined ? undefined : pending?.publishAt,
    disconnectedAt: conn !== undefined ? undefined : session.disconnectedAt,
    client: session.client,
  };
}
