import type { QoS } from "../codec/constants.ts";
import { encodePacket } from "../codec/packet.ts";
import { ReasonCode } from "../codec/reason-codes.ts";
import type { ClientInfo } from "../model/client.ts";
import { type Message, ownCopy } from "../model/message.ts";
import type { OutgoingRecord } from "../model/outgoing-record.ts";
import type { ConnInfo } from "../transport/duplex.ts";
import type { BrokerContext } from "./context.ts";
import type { RetainedBacklog } from "./retained-backlog.ts";
import type { ShareGroupRef } from "./routing.ts";
import type { BrokerConnection, Session } from "./session.ts";

/**
 * Per-session delivery and flow control: a message sent now when the client
 * is connected and its receive window has room, queued otherwise; resends on
 * reconnect; PUBLISHes held behind store commits, in order; the queue pumped
 * as acknowledgements free room.
 */
export class Delivery {
  readonly #ctx: BrokerContext;
  // A record reused for QoS 0 sends, which need no identity of their own.
  readonly #scratch: OutgoingRecord = { message: undefined as unknown as Message, qos: 0, retain: false, subscriptionIdentifiers: undefined, packetId: 0, state: "publish" };

  constructor(ctx: BrokerContext) {
    this.#ctx = ctx;
  }

  /**
   * Delivers one message to one session at a QoS; returns the store commit
   * the message's acknowledgement must wait for, if any.
   */
  deliver(session: Session, message: Message, qos: QoS, retain: boolean, ids: number[] | undefined, now: number, shareGroup?: ShareGroupRef): Promise<unknown> | void {
    const conn = session.connection;
    const live = conn !== undefined && conn.state === "connected";
    if (qos === 0) {
      if (live) {
        if (conn.backpressured) {
          // The socket is backed up: a slow subscriber loses QoS 0 rather than growing memory.
          this.#ctx.stats.messagesDropped++;
          return;
        }
        if (session.queue.length === 0 && session.retainedBacklog === undefined) {
          if (session.outbox !== undefined) {
            // Behind PUBLISHes that wait for a commit: order is kept [MQTT-4.6.0-5]
            this.#sendAfter(session, { message, qos, retain, subscriptionIdentifiers: ids, packetId: 0, state: "publish" }, false, undefined);
            return;
          }
          const r = this.#scratch;
          r.message = message; r.retain = retain; r.subscriptionIdentifiers = ids;
          if (!conn.sendPublish(r, false, now)) this.#ctx.stats.messagesDropped++;
          r.message = undefined as unknown as Message;
          return;
        }
      } else if (!this.#ctx.limits.queueQos0) {
        return; // QoS 0 is not kept for offline sessions unless configured
      }
    }
    const record: OutgoingRecord = { message, qos, retain, subscriptionIdentifiers: ids, packetId: 0, state: "publish" };
    if (shareGroup !== undefined && qos > 0) record.shareGroup = shareGroup;
    // Behind queued messages and retained ones a SUBSCRIBE brought, a message waits its turn in the queue.
    if (live && !conn.backpressured && session.queue.length === 0 && session.retainedBacklog === undefined && qos > 0 && session.inflight.size < this.#window(conn)) {
      const id = session.allocatePacketId();
      record.packetId = id;
      session.inflight.set(id, record);
      return this.#sendNew(conn, session, record, now);
    }
    return this.#enqueue(session, record);
  }

  /** After CONNACK: resend what was in flight, in order [MQTT-4.4.0-1], then the queue. */
  resume(conn: BrokerConnection, session: Session): void {
    const now = this.#ctx.now();
    const window = this.#window(conn);
    let outstanding = 0;
    for (const record of session.inflight.values()) {
      if (record.state === "pubrel") {
        conn.write(encodePacket({ type: "pubrel", packetId: record.packetId, reasonCode: 0 }, conn.version));
        outstanding++;
      } else if (outstanding >= window) {
        (session.resendBacklog ??= []).push(record); // the client's Receive Maximum holds the rest back [MQTT-4.9.0-2]
      } else if (!conn.sendPublish(record, true, now)) {
        this.#dropInflight(session, record); // too large: done with it
      } else {
        outstanding++;
      }
    }
    this.pump(conn);
  }

  /** Sends queued messages while the client's window has room. */
  pump(conn: BrokerConnection): void {
    const session = conn.session;
    if (session === undefined || conn.state !== "connected") return;
    const window = this.#window(conn);
    const backlog = session.resendBacklog;
    if (backlog !== undefined && backlog.length > 0) {
      // Held-back resends go first, in their order, as acknowledgements make room [MQTT-4.6.0-1]
      const now = this.#ctx.now();
      while (backlog.length > 0 && session.inflight.size - backlog.length < window && !conn.backpressured) {
        const record = backlog.shift()!;
        if (session.inflight.get(record.packetId) !== record) continue; // acknowledged meanwhile
        if (session.outbox !== undefined) this.#sendAfter(session, record, true, undefined);
        else if (!conn.sendPublish(record, true, now)) this.#dropInflight(session, record);
      }
      if (backlog.length > 0) return;
    }
    const retained = session.retainedBacklog;
    if (retained !== undefined) {
      // What waited in the queue before the retained messages came goes first.
      if (retained.ahead > 0) retained.ahead -= this.#pumpQueue(conn, session, retained.ahead);
      if (retained.ahead > 0 && session.queue.length > 0) return;
      retained.ahead = 0;
      if (!this.#pumpRetained(conn, session, retained)) return;
      session.retainedBacklog = undefined;
    }
    this.#pumpQueue(conn, session, Infinity);
  }

  // Sends up to `max` queued messages while the window and socket have room; returns how many left the queue.
  #pumpQueue(conn: BrokerConnection, session: Session, max: number): number {
    const queue = session.queue;
    if (queue.length === 0) return 0;
    const window = this.#window(conn);
    const stored = session.expiryInterval > 0;
    const now = this.#ctx.now();
    let taken = 0;
    for (let record = queue.peek(); record !== undefined && taken < max; record = queue.peek()) {
      if (conn.backpressured) break; // resumed by drain()
      if (record.qos > 0) {
        if (session.inflight.size >= window) break;
        const id = session.allocatePacketId();
        if (id === 0) break;
        record.packetId = id;
        session.inflight.set(id, record);
      }
      queue.shift();
      taken++;
      session.queuedBytes -= record.message.payload.byteLength;
      this.#ctx.memoryBudget.give("queues", record.message.payload.byteLength);
      if (record.qos > 0) {
        this.#sendNew(conn, session, record, now);
        continue;
      }
      // A queued QoS 0 message was stored for a lasting session; once sent it is done.
      if (stored) this.#ctx.store.deleteOutgoing(session.clientId, record);
      if (session.outbox !== undefined) this.#sendAfter(session, record, false, undefined);
      else if (!conn.sendPublish(record, false, now)) this.#ctx.stats.messagesDropped++;
    }
    return taken;
  }

  /**
   * Sends the retained messages new subscriptions brought while the window and
   * socket have room, checking each as it goes (still retained, not expired,
   * allowed to this client); true once none are left.
   */
  #pumpRetained(conn: BrokerConnection, session: Session, backlog: RetainedBacklog): boolean {
    const ctx = this.#ctx;
    const window = this.#window(conn);
    const now = ctx.now();
    const allowed = ctx.hooks.checksDelivery ? (m: Message) => ctx.hooks.authorizeDelivery(conn.client, m) : everything;
    while (!backlog.empty) {
      if (conn.backpressured || session.inflight.size >= window) return false; // resumed by drain() or an acknowledgement
      const due = backlog.take(ctx.retained, now, allowed);
      if (due === undefined) break;
      // Sent because of a new subscription, so RETAIN is 1 [MQTT-3.3.1-8]
      const record: OutgoingRecord = { message: due.message, qos: due.qos, retain: true, subscriptionIdentifiers: due.ids, packetId: 0, state: "publish" };
      if (record.qos === 0) {
        if (session.outbox !== undefined) this.#sendAfter(session, record, false, undefined);
        else if (!conn.sendPublish(record, false, now)) ctx.stats.messagesDropped++;
        continue;
      }
      const id = session.allocatePacketId();
      if (id === 0) {
        void this.#enqueue(session, record); // every packet id in use: it waits in the queue instead
        continue;
      }
      record.packetId = id;
      session.inflight.set(id, record);
      void this.#sendNew(conn, session, record, now);
    }
    return true;
  }

  /**
   * A QoS 1 PUBACK or QoS 2 PUBCOMP (or failed PUBREC) ended an outgoing
   * message. Returns whether messages wait for the room it freed: the
   * connection pumps once per chunk read, not once per acknowledgement.
   */
  complete(session: Session, record: OutgoingRecord): boolean {
    session.inflight.delete(record.packetId);
    if (session.expiryInterval > 0) this.#ctx.store.deleteOutgoing(session.clientId, record);
    return session.queue.length > 0 || session.retainedBacklog !== undefined || (session.resendBacklog !== undefined && session.resendBacklog.length > 0);
  }

  /** Withholds what waits for a session that its (new) client may not receive. */
  recheck(session: Session, client: ClientInfo): void {
    const ctx = this.#ctx;
    const denied = (r: OutgoingRecord): boolean => {
      if (ctx.hooks.authorizeDelivery(client, r.message)) return false;
      ctx.stats.denied++;
      if (session.expiryInterval > 0) ctx.store.deleteOutgoing(session.clientId, r);
      return true;
    };
    // A message already known to the client (awaiting PUBCOMP) is finished, not withheld.
    for (const r of [...session.inflight.values()]) if (r.state === "publish" && denied(r)) session.inflight.delete(r.packetId);
    session.queue.retain((r) => {
      if (!denied(r)) return true;
      session.queuedBytes -= r.message.payload.byteLength;
      ctx.memoryBudget.give("queues", r.message.payload.byteLength);
      return false;
    });
  }

  /**
   * Sends a record that was just given its packet id, saving it first for a
   * lasting session. A QoS 2 PUBLISH leaves only once its id is committed:
   * after a crash it is resent with that same id and DUP, which the client
   * recognises, never under a new id it would take for a new message.
   */
  #sendNew(conn: BrokerConnection, session: Session, record: OutgoingRecord, now: number): Promise<unknown> | void {
    const c = session.expiryInterval > 0 ? this.#ctx.store.saveOutgoing(session.clientId, [record]) : undefined;
    if ((record.qos === 2 && c) || session.outbox !== undefined) {
      this.#sendAfter(session, record, false, record.qos === 2 ? c || undefined : undefined);
      return c;
    }
    // Too large for this client or expired: discarded as if delivered [MQTT-3.1.2-25]
    if (!conn.sendPublish(record, false, now)) this.#dropInflight(session, record);
    return c;
  }

  /**
   * Holds a PUBLISH in the session's outbox until `gate` (a store commit)
   * resolves, or behind the ones already held; they leave in order. Store
   * writes commit in order, so the latest gate covers the earlier ones.
   */
  #sendAfter(session: Session, record: OutgoingRecord, dup: boolean, gate: Promise<unknown> | undefined): void {
    (session.outbox ??= []).push({ record, dup });
    if (gate === undefined || gate === session.outboxGate) return;
    session.outboxGate = gate;
    gate.then(
      () => {
        if (session.outboxGate === gate) this.#flushOutbox(session);
      },
      () => session.connection?.disconnect(ReasonCode.UnspecifiedError, "the store failed to commit"),
    );
  }

  #flushOutbox(session: Session): void {
    const box = session.outbox;
    session.outbox = undefined;
    session.outboxGate = undefined;
    const conn = session.connection;
    // A closed connection's held records stay in flight: the next connection resends them with DUP.
    if (box === undefined || conn === undefined || conn.state !== "connected") return;
    const now = this.#ctx.now();
    for (const { record, dup } of box) {
      if (record.qos > 0 && session.inflight.get(record.packetId) !== record) continue;
      if (!conn.sendPublish(record, dup, now)) {
        if (record.qos > 0) this.#dropInflight(session, record);
        else this.#ctx.stats.messagesDropped++;
      }
    }
    this.pump(conn);
  }

  // An in-flight message that cannot be sent (too large, or expired): done with it, counted.
  #dropInflight(session: Session, record: OutgoingRecord): void {
    session.inflight.delete(record.packetId);
    this.#ctx.stats.messagesDropped++;
    if (session.expiryInterval > 0) this.#ctx.store.deleteOutgoing(session.clientId, record);
  }

  #window(conn: BrokerConnection): number {
    // Never more in flight than the client's Receive Maximum [MQTT-3.3.4-9]
    return Math.min(conn.sendWindow, this.#ctx.limits.maximumInflight);
  }

  #enqueue(session: Session, record: OutgoingRecord): Promise<unknown> | void {
    const ctx = this.#ctx;
    const m = record.message;
    // A lifetime already over (Message Expiry Interval 0) is not kept for later [MQTT-3.3.2-5]
    if (m.expiresAt !== undefined && m.expiresAt <= m.receivedAt) {
      ctx.stats.messagesDropped++;
      return;
    }
    const size = m.payload.byteLength;
    if (session.queue.length >= ctx.limits.maximumQueuedMessages || session.queuedBytes + size > ctx.limits.maximumQueuedBytes) {
      ctx.stats.messagesDropped++; // a slow or absent client cannot grow memory without bound
      // The hooks hear of it with the topic only: a burst of drops builds no strings here.
      ctx.hooks.event("queue_full", session.clientId, (session.connection?.client ?? session.client)?.conn ?? OFFLINE, ReasonCode.QuotaExceeded, m.topic);
      return;
    }
    // Nor can all of them together: every broker of the process draws on one budget.
    if (!ctx.memoryBudget.take("queues", size)) {
      ctx.stats.messagesDropped++;
      ctx.hooks.event("memory_budget", session.clientId, (session.connection?.client ?? session.client)?.conn ?? OFFLINE, ReasonCode.QuotaExceeded, "a queued message was dropped");
      return;
    }
    // A queued message may wait long: it owns its bytes instead of pinning a read buffer.
    if (session.connection === undefined) record.message = ownCopy(record.message);
    session.queue.push(record);
    session.queuedBytes += size;
    return session.expiryInterval > 0 ? ctx.store.saveOutgoing(session.clientId, [record]) : undefined;
  }
}

// Where an offline session's client was, when nothing recorded it.
const OFFLINE: ConnInfo = { remoteAddress: "", remotePort: 0, transport: "memory" };

// Without access rules to check at delivery, every retained message may go.
const everything = (_message: Message): boolean => true;
