import type { Will } from "../codec/packets/connect.ts";
import type { OutgoingRecord } from "../store/store.ts";
import type { Connection } from "../session/connection.ts";
import type { ClientInfo } from "../policy/hook.ts";
import { RecordQueue } from "./record-queue.ts";
import type { SubscriptionEntry } from "./topic-tree.ts";

/** A session expiry interval that never ends (§3.1.2.11.2). */
export const NEVER_EXPIRES = 0xffffffff;

/**
 * The state of one client's session, which outlives its connections when
 * its Session Expiry Interval is above zero (§4.1).
 */
export class Session {
  readonly clientId: string;
  /** The live connection, if the client is connected. */
  connection: Connection | undefined;
  /** Subscriptions by the filter the client sent (`$share/…` included). */
  readonly subscriptions = new Map<string, SubscriptionEntry>();
  /** Seconds the session lives after its connection closes. */
  expiryInterval = 0;
  /** When the session expires (ms), set while no connection is attached. */
  expiresAt: number | undefined;
  /** When its last connection closed (ms), set while no connection is attached; expiry counts from it. */
  disconnectedAt: number | undefined;
  /** QoS 1 and 2 messages sent and not yet fully acknowledged, in send order. */
  readonly inflight = new Map<number, OutgoingRecord>();
  /** Messages waiting for the client's receive window or for the client to return. */
  readonly queue = new RecordQueue();
  /** Payload bytes held in `queue`. */
  queuedBytes = 0;
  /** Inbound QoS 2 packet ids for which PUBREC was sent and PUBREL not yet received. */
  readonly inboundQos2 = new Set<number>();
  /** The will of the last connection, waiting for its delay to pass. */
  pendingWill: { will: Will; publishAt: number; client: ClientInfo } | undefined;
  /** Who the last connection was: offline deliveries are checked against it. */
  client: ClientInfo | undefined;
  #nextPacketId = 1;

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
