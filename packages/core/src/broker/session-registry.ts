import { NEVER_EXPIRES } from "../codec/constants.ts";
import type { Will } from "../codec/packets/connect.ts";
import { ReasonCode } from "../codec/reason-codes.ts";
import type { AttachOutcome, ConnectRefusal } from "../connection/host.ts";
import { type ClientInfo, clientIdentity } from "../model/client.ts";
import type { OutgoingRecord } from "../model/outgoing-record.ts";
import type { SessionRecord } from "../store/store.ts";
import type { BrokerContext } from "./context.ts";
import type { Delivery } from "./delivery.ts";
import type { HeldState, OwnershipHandle, SessionOwnership } from "./ownership.ts";
import { type BrokerConnection, Session, sessionRecord } from "./session.ts";
import { restoreAdopted } from "./restore.ts";
import { catchUp, type PendingSummary, pendingSummary, type RouteTo, type SessionBacklog } from "./session-backlog.ts";
import { adoptHandover, type SessionHandover, handOverSession } from "./session-handover.ts";
import type { Subscriptions } from "./subscriptions.ts";
import type { WillKeeper } from "./will-keeper.ts";

/**
 * The sessions and connections of one broker, and their life: takeover,
 * Clean Start, resume, disconnection, wills that wait for their delay, and
 * expiry. Who holds a session across nodes is asked of {@link SessionOwnership}.
 */
export class SessionRegistry implements OwnershipHandle {
  /** Every session, connected or not, by client id. */
  readonly sessions: Map<string, Session>;
  /** Every open socket, connected or not. */
  readonly connections: Set<BrokerConnection> = new Set();
  /** Sessions without a connection, scanned by {@link expire} for wills and expiry. */
  readonly offline: Set<Session> = new Set();
  /** When each connection's CONNECT was accepted and with which Clean Start. */
  readonly connectedAt: WeakMap<BrokerConnection, { at: number; cleanStart: boolean }> = new WeakMap();
  readonly #ctx: BrokerContext;
  readonly #subscriptions: Subscriptions;
  readonly #delivery: Delivery;
  readonly #ownership: SessionOwnership;
  readonly #publishWill: (will: Will, client: ClientInfo) => void;
  readonly #wills: WillKeeper;
  // Delivers to one session alone (a backlog read back by the cluster).
  readonly #routeTo: RouteTo;
  // Connections whose will another node published (a cluster's keeper said so): theirs goes no more.
  readonly #droppedWills = new WeakSet<BrokerConnection>();
  // The broker closed: its sessions no longer count against the process-wide budget.
  #released = false;

  constructor(
    ctx: BrokerContext, sessions: Map<string, Session>, subscriptions: Subscriptions, delivery: Delivery, ownership: SessionOwnership,
    publishWill: (will: Will, client: ClientInfo) => void, wills: WillKeeper, routeTo: RouteTo,
  ) {
    this.#routeTo = routeTo;
    this.#ctx = ctx;
    this.sessions = sessions;
    this.#subscriptions = subscriptions;
    this.#delivery = delivery;
    this.#ownership = ownership;
    this.#publishWill = publishWill;
    this.#wills = wills;
    ownership.bind(this);
    wills.bind({ dropWill: (clientId) => this.#dropWill(clientId), publishWill });
  }

  /** Whether a client may connect under the connection quota (a takeover of a connected client id always may). */
  mayConnect(clientId: string): boolean {
    const max = this.#ctx.limits.maximumConnections;
    return max === 0 || this.#ctx.stats.connectionsCurrent < max || this.sessions.get(clientId)?.connection !== undefined;
  }

  /**
   * Whether an authenticated client may attach to `clientId`'s session: the
   * connection quota, then a session's owner (only its identity may take it
   * over or start it afresh, unless the features say `any`), then the session
   * quota, which a client resuming or taking over a session never meets.
   */
  admitConnect(conn: BrokerConnection, clientId: string): ConnectRefusal | undefined {
    const ctx = this.#ctx;
    if (!this.mayConnect(clientId)) {
      // An administrative limit: CONNACK 0x97 Quota exceeded (§3.2.2.2)
      return { reasonCode: ReasonCode.QuotaExceeded, reason: `the broker allows ${ctx.limits.maximumConnections} connections` };
    }
    const session = this.sessions.get(clientId);
    if (session !== undefined) {
      // Another identity would take the session over, and its access re-check or a Clean Start would destroy the owner's data.
      const owner = session.owner;
      if (ctx.features.sessionTakeover !== "any" && owner !== undefined && owner !== clientIdentity(conn.client)) {
        ctx.stats.denied++;
        return { reasonCode: ReasonCode.NotAuthorized, reason: "this client id's session belongs to another user" };
      }
      return undefined;
    }
    const maxSessions = ctx.limits.maximumSessions;
    if (maxSessions !== 0 && this.sessions.size >= maxSessions) {
      ctx.stats.quotaExceeded++;
      return { reasonCode: ReasonCode.QuotaExceeded, reason: `the broker holds at most ${maxSessions} sessions` };
    }
    if (ctx.memoryBudget.sessionsFull) {
      ctx.stats.quotaExceeded++;
      return { reasonCode: ReasonCode.QuotaExceeded, reason: `the server holds at most ${ctx.memoryBudget.sessionLimit} sessions, all brokers together` };
    }
    return undefined;
  }

  /**
   * Binds a connection to its session: takes over a live one [MQTT-3.1.4-3],
   * discards an old one on Clean Start [MQTT-3.1.2-4], or resumes it.
   */
  attach(conn: BrokerConnection, clientId: string, cleanStart: boolean, expiryInterval: number): AttachOutcome<Session> {
    const ctx = this.#ctx;
    // Held elsewhere (a cluster): the CONNACK waits until this node holds it, and adopts the session it brings.
    const claimed = this.#ownership.claim(clientId, { resume: !cleanStart, identity: clientIdentity(conn.client), ownerOnly: ctx.features.sessionTakeover !== "any" });
    let session = this.sessions.get(clientId);
    const old = session?.connection;
    if (old !== undefined) {
      old.disconnect(ReasonCode.SessionTakenOver, "another connection took over the session"); // [MQTT-3.1.4-3]
      old.end();
      session = this.sessions.get(clientId);
    }
    // The CONNACK waits for what changed the stored session (store writes commit in order,
    // so the last one covers the others): a confirmed session survives a crash.
    let committed: Promise<unknown> | void = undefined;
    if (session !== undefined) {
      // A new connection before the will delay passes cancels the will [MQTT-3.1.2-8]
      if (session.pendingWill !== undefined) this.#wills.ended(clientId);
      session.pendingWill = undefined;
      if (cleanStart) {
        committed = this.discard(session, false) || committed; // [MQTT-3.1.2-4]
        session = undefined;
      }
    }
    const wasStored = session !== undefined && session.expiryInterval > 0;
    const sessionPresent = session !== undefined && conn.version > 3; // 3.1 has no session present flag
    const created = session === undefined;
    if (session === undefined) {
      session = new Session(clientId);
      this.sessions.set(clientId, session);
      this.#ctx.memoryBudget.sessions++;
    }
    this.offline.delete(session);
    session.connection = conn;
    session.client = conn.client;
    session.expiryInterval = expiryInterval;
    session.expiresAt = undefined;
    session.disconnectedAt = undefined;
    // What an earlier connection held back is resent from `inflight` by this one.
    session.resendBacklog = undefined;
    session.outbox = undefined;
    session.outboxGate = undefined;
    ctx.stats.connectionsCurrent++;
    ctx.stats.connectionsTotal++;
    this.connectedAt.set(conn, { at: ctx.now(), cleanStart });
    // Saved with the connection's will, which a crash under it leaves to publish after a restart.
    if (expiryInterval > 0) committed = ctx.store.saveSession(sessionRecord(session)) || committed;
    else if (wasStored) committed = ctx.store.deleteSession(clientId) || committed; // now it ends with this connection
    const outcome: AttachOutcome<Session> = { session, sessionPresent, committed: undefined };
    // And for the claim, which is no store write: the last store write does not cover it.
    if (claimed !== true) {
      const adopted = claimed.then((handover) => handover === undefined ? undefined : this.#adopt(conn, outcome, handover), (e: unknown) => {
        // Refused: a session this CONNECT made ends with its connection, rather than stay here in the owner's way.
        if (created && session.connection === conn) session.expiryInterval = 0;
        throw e;
      });
      committed = committed ? Promise.all([adopted, committed]) : adopted;
    }
    outcome.committed = committed || undefined;
    return outcome;
  }

  // The session another node handed over becomes this connection's, unless the
  // connection went meanwhile or it belongs to another identity (which would take it over).
  #adopt(conn: BrokerConnection, outcome: AttachOutcome<Session>, snapshot: SessionHandover): Promise<unknown> | undefined {
    const session = outcome.session;
    if (session.connection !== conn || this.sessions.get(session.clientId) !== session) return undefined;
    const owner = snapshot.record.client === undefined ? undefined : clientIdentity(snapshot.record.client);
    if (this.#ctx.features.sessionTakeover !== "any" && owner !== undefined && owner !== clientIdentity(conn.client)) return undefined;
    outcome.sessionPresent = conn.version > 3; // [MQTT-3.2.2-3]
    const adopted = adoptHandover({ ctx: this.#ctx, subscriptions: this.#subscriptions }, session, snapshot);
    if (snapshot.backlog === undefined) return adopted;
    // Queued before CONNACK, behind what was handed over: the client gets them once connected.
    return Promise.all([adopted, catchUp(snapshot.backlog, session, this.#routeTo)]);
  }

  /** After CONNACK: observers hear of it, what waits is checked again, then resent and sent. */
  connected(conn: BrokerConnection): void {
    const session = conn.session!;
    const hooks = this.#ctx.hooks;
    const will = conn.will;
    // Its delay, never past the session's end [MQTT-3.1.3-9]
    if (will !== undefined) this.#wills.kept(session.clientId, will, conn.client, Math.min(will.properties?.willDelayInterval ?? 0, session.expiryInterval) * 1000);
    hooks.connected(conn.client);
    // A resumed session may now be used by a client with other rights: what waits for it is checked again.
    if (hooks.checksDelivery && (session.queue.length > 0 || session.inflight.size > 0)) this.#delivery.recheck(session, conn.client);
    this.#delivery.resume(conn, session);
  }

  /** Called once when a connection's socket ends. */
  detach(conn: BrokerConnection, wasConnected: boolean, will: Will | undefined, reasonCode: number): void {
    const ctx = this.#ctx;
    this.connections.delete(conn);
    const session = conn.session;
    if (!wasConnected || session === undefined) return;
    if (this.#droppedWills.has(conn)) will = undefined; // another node published it
    else if (will === undefined && conn.will !== undefined) this.#wills.ended(session.clientId); // discarded by DISCONNECT 0x00
    ctx.stats.connectionsCurrent--;
    ctx.hooks.disconnected(conn.client, reasonCode);
    const now = ctx.now();
    if (session.connection === conn) {
      session.connection = undefined;
      if (session.expiryInterval === 0) {
        if (will) this.#release(session.clientId, will, conn.client);
        this.discard(session); // the session ends with the connection
        return;
      }
      session.disconnectedAt = now;
      if (session.expiryInterval !== NEVER_EXPIRES) session.expiresAt = now + session.expiryInterval * 1000;
      this.offline.add(session);
    }
    if (will) {
      // The will waits for its delay, but never past the session's end [MQTT-3.1.3-9]
      const delay = Math.min(will.properties?.willDelayInterval ?? 0, session.expiryInterval);
      if (delay === 0) this.#release(session.clientId, will, conn.client);
      else {
        session.pendingWill = { will, publishAt: now + delay * 1000, client: conn.client };
        this.#wills.waiting(session.clientId, session.pendingWill.publishAt);
      }
    }
    // From now on its expiry counts from this moment, and a pending will waits in the store too.
    if (session.connection === undefined && this.sessions.get(session.clientId) === session) ctx.store.saveSession(sessionRecord(session));
  }

  /** Ends a session: its subscriptions, its place here and its stored state; `release` lets other nodes claim it. */
  discard(session: Session, release = true): Promise<unknown> | void {
    const unacknowledged = sharedUnacknowledged(session);
    this.#releaseQueue(session);
    if (this.sessions.get(session.clientId) === session) this.#ctx.memoryBudget.sessions--;
    this.#subscriptions.removeAll(session);
    this.sessions.delete(session.clientId);
    this.offline.delete(session);
    if (release) this.#ownership.release(session.clientId);
    const deleted = this.#ctx.store.deleteSession(session.clientId);
    // Once it is no member any more: the groups give them to their other members [MQTT-4.8.2-3].
    if (unacknowledged.length > 0) this.#subscriptions.handOn(unacknowledged);
    return deleted;
  }

  /**
   * Disconnects one connected client with `reasonCode` and detaches it now;
   * with `discardSession` its session ends too. False when it is not connected.
   */
  disconnectClient(clientId: string, reasonCode: number, options: { reason?: string; discardSession?: boolean } = {}): boolean {
    const conn = this.sessions.get(clientId)?.connection;
    if (conn === undefined || conn.state !== "connected") return false;
    if (options.discardSession) conn.session!.expiryInterval = 0; // the session now ends with the connection
    conn.disconnect(reasonCode, options.reason);
    conn.end(); // detached now, as a taken-over connection is, not whenever the adapter reports the close
    return true;
  }

  /**
   * Ends a session now, connected or not; an offline session's pending will
   * is published, since the session ends [MQTT-3.1.3-9]. False when there is none.
   */
  endSession(clientId: string, reasonCode: number, reason?: string): boolean {
    const session = this.sessions.get(clientId);
    if (session === undefined) return false;
    if (session.connection !== undefined) {
      // Still connecting (false): its CONNECT decides what becomes of the session.
      return this.disconnectClient(clientId, reasonCode, { reason, discardSession: true });
    }
    const pending = session.pendingWill;
    session.pendingWill = undefined;
    if (pending !== undefined) this.#release(clientId, pending.will, pending.client);
    void this.discard(session);
    return true;
  }

  /** Another node took the session: the local connection is taken over and the local copy forgotten (the stored state is the new owner's). */
  fence(clientId: string): boolean {
    const session = this.sessions.get(clientId);
    if (session === undefined) return false;
    this.#takeOver(session);
    this.#forget(session);
    return true;
  }

  /** See {@link OwnershipHandle.handOver}. */
  handOver(clientId: string, resume: boolean): SessionHandover | undefined {
    const session = this.sessions.get(clientId);
    if (session === undefined) return undefined;
    this.#takeOver(session);
    // A session that ended with its connection (Session Expiry 0) has nothing to hand over.
    if (this.sessions.get(clientId) !== session) return undefined;
    // The client is back, on another node, before its will's delay passed [MQTT-3.1.2-8]
    if (session.pendingWill !== undefined) this.#wills.ended(clientId);
    session.pendingWill = undefined;
    const snapshot = resume ? handOverSession(session) : undefined;
    this.#forget(session);
    // It lives on the other node now: this node's store must not bring it back at a restart.
    void this.#ctx.store.deleteSession(clientId);
    return snapshot;
  }

  /** See {@link OwnershipHandle.adopt}: as a restart restores a session, with the record's times. */
  adopt(record: SessionRecord, backlog?: SessionBacklog, held?: HeldState): boolean {
    if (this.sessions.has(record.clientId)) return false;
    const target = { ctx: this.#ctx, registry: this, subscriptions: this.#subscriptions, publishWill: this.#publishWill };
    const session = restoreAdopted(target, record, held, this.#ctx.now());
    // What it missed queues behind; a backlog that cannot be read is the cluster's to report.
    if (session !== undefined && backlog !== undefined) catchUp(backlog, session, this.#routeTo).catch(() => {});
    return session !== undefined;
  }

  /** See {@link OwnershipHandle.pending}. */
  pending(): PendingSummary {
    return pendingSummary(this.sessions.values());
  }

  // As a takeover on this node: DISCONNECT 0x8E, and the will goes as that one's would [MQTT-3.1.4-3]
  #takeOver(session: Session): void {
    const conn = session.connection;
    if (conn === undefined) return;
    conn.disconnect(ReasonCode.SessionTakenOver, "another node took over the session");
    conn.end();
  }

  // The session is no longer this node's: its queue, subscriptions and place go, not its stored state.
  #forget(session: Session): void {
    this.#releaseQueue(session);
    this.#ctx.memoryBudget.sessions--;
    this.#subscriptions.removeAll(session);
    this.sessions.delete(session.clientId);
    this.offline.delete(session);
  }

  /** The broker is closing: every session's queued bytes go back to the process's budget (the store keeps what lasts). */
  releaseQueues(): void {
    if (this.#released) return;
    this.#released = true;
    for (const session of this.sessions.values()) this.#releaseQueue(session);
    this.#ctx.memoryBudget.sessions -= this.sessions.size;
  }

  // A due will goes through the keeper, which says when (in a cluster: not twice across nodes).
  #release(clientId: string, will: Will, client: ClientInfo): void {
    this.#wills.release(clientId, () => this.#publishWill(will, client));
  }

  // Another node published this client id's will: the one in force here goes no more.
  #dropWill(clientId: string): void {
    const session = this.sessions.get(clientId);
    if (session === undefined) return;
    if (session.connection !== undefined) this.#droppedWills.add(session.connection);
    if (session.pendingWill !== undefined) {
      session.pendingWill = undefined;
      if (session.connection === undefined) this.#ctx.store.saveSession(sessionRecord(session));
    }
  }

  // An ended session's queued messages go, and their bytes back to the process's budget.
  #releaseQueue(session: Session): void {
    this.#ctx.memoryBudget.give("queues", session.queuedBytes);
    session.queuedBytes = 0;
    session.queue.retain(() => false);
  }

  /** Publishes wills whose delay passed and ends sessions whose expiry passed. */
  expire(now: number): void {
    for (const session of this.offline) {
      const pending = session.pendingWill;
      const ending = session.expiresAt !== undefined && session.expiresAt <= now;
      // The will goes when its delay passes, or when the session ends first [MQTT-3.1.3-9]
      if (pending !== undefined && (pending.publishAt <= now || ending)) {
        session.pendingWill = undefined;
        this.#release(session.clientId, pending.will, pending.client);
        // Published once: a restart must not publish it again.
        if (!ending) this.#ctx.store.saveSession(sessionRecord(session));
      }
      if (ending) this.discard(session);
    }
  }
}

// The QoS 1 and 2 messages share groups gave a session that its client has not
// acknowledged (in flight before PUBREC, or still queued), in the order they came.
function sharedUnacknowledged(session: Session): OutgoingRecord[] {
  const records: OutgoingRecord[] = [];
  for (const r of session.inflight.values()) if (r.shareGroup !== undefined && r.state === "publish") records.push(r);
  session.queue.retain((r) => {
    if (r.shareGroup !== undefined) records.push(r);
    return true;
  });
  return records;
}
