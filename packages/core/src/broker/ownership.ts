//
// The session ownership seam: who holds a client id's session right now. On
// one process the broker always does (SingleNodeOwnership). In a cluster an
// implementation claims the session for this node before a connection
// attaches to it (compare-and-set on a shared record, say), and when another
// node claims a session held here it calls `fence` on the handle it was
// bound to: the local connection is taken over (DISCONNECT 0x8E) and the
// local copy let go. A claim that resumes the session may bring it with it:
// the node it was taken from hands it over (`handOver`), and this node adopts
// it before CONNACK.
//
import type { ConnectRefused } from "../connection/connect-refused.ts";
import type { SessionRecord } from "../store/store.ts";
import type { PendingSummary, SessionBacklog } from "./session-backlog.ts";
import type { SessionHandover } from "./session-handover.ts";

/** What a gone node's store kept for a session besides its record: read back by the node that adopts it. */
export type HeldState = Pick<SessionHandover, "outgoing" | "inboundQos2">;

/** What a claim says of the CONNECT that makes it. */
export interface ClaimRequest {
  /** Clean Start 0: the session is to be resumed, and so handed over. */
  resume: boolean;
  /** Who connects: its user name, or the identity its authentication attached; undefined for an anonymous client. */
  identity: string | undefined;
  /** Sessions belong to their user (`sessionTakeover` is not `any`): a session of another identity must not be taken. */
  ownerOnly: boolean;
}


/** What an ownership implementation may do to the broker it serves. */
export interface OwnershipHandle {
  /**
   * Another node now owns `clientId`'s session: the connection holding it
   * here gets DISCONNECT 0x8E (Session taken over) and the session is
   * forgotten here, without touching the store. Returns false when this
   * node held nothing for it.
   */
  fence(clientId: string): boolean;
  /**
   * As {@link fence}, for a claim by another node that brings the session
   * along: the local connection is taken over, the session forgotten here
   * (its stored copy and a will waiting for its delay [MQTT-3.1.2-8] too),
   * and, when `resume` (the new CONNECT's Clean Start is 0), what it held is
   * returned for the new owner. Undefined when this node held no session
   * that outlives its connection.
   */
  handOver(clientId: string, resume: boolean): SessionHandover | undefined;
  /**
   * This node now holds a session whose node is gone, from its last record:
   * it is kept offline here, subscribed (so messages for it queue here),
   * until its client returns or it expires, with the `backlog` it missed
   * queued, and `held`, what the gone node's store kept for it (QoS 2
   * messages in flight, inbound QoS 2 ids), as a restart restores them. False
   * when this node already holds a session for that client id.
   */
  adopt(record: SessionRecord, backlog?: SessionBacklog, held?: HeldState): boolean;
  /** The connected lasting sessions held here, and the earliest receipt among what they have not acknowledged. */
  pending(): PendingSummary;
}

/** The contract of a session ownership implementation. */
export interface SessionOwnership {
  /** Called once by the broker that uses it, before any claim. */
  bind(handle: OwnershipHandle): void;
  /**
   * Claims `clientId`'s session for this node, before a connection attaches
   * to it. `true`: this node holds it now. A promise: the CONNACK waits for
   * it, and a rejection refuses the connection (as a failed store commit
   * does); an implementation resolves once the claim is recorded and the
   * old holder fenced. It resolves with the session the old holder handed
   * over, when `resume` and it had one: the broker adopts it (Session Present
   * 1). A {@link ConnectRefused} rejection refuses it with its reason code
   * (0x87 for a session of another identity when `ownerOnly`).
   */
  claim(clientId: string, request: ClaimRequest): true | Promise<SessionHandover | void>;
  /** This node let the session go: it ended (expired, Clean Start, or discarded). */
  release(clientId: string): void;
  /**
   * A lasting session's record was saved (it connected or disconnected, its
   * subscriptions or expiry changed; never per message): an implementation
   * may keep it where another node can resume the session from it once this
   * node is gone. The acknowledgement that caused it (CONNACK, SUBACK,
   * UNSUBACK) waits for a promise it returns, as for a store commit.
   */
  recordSession?(record: SessionRecord): void | Promise<unknown>;
}

/** One process: every session is this broker's, at once. */
export class SingleNodeOwnership implements SessionOwnership {
  /** Nothing to keep: no other node can take a session away. */
  bind(_handle: OwnershipHandle): void {}

  /** Always held here. */
  claim(_clientId: string, _request: ClaimRequest): true {
    return true;
  }

  /** Nothing to tell anyone. */
  release(_clientId: string): void {}
}
