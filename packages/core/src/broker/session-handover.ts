import type { Message } from "../model/message.ts";
import type { OutgoingRecord } from "../model/outgoing-record.ts";
import type { SessionRecord } from "../store/store.ts";
import type { BrokerContext } from "./context.ts";
import { type Session, sessionRecord } from "./session.ts";
import type { Subscriptions } from "./subscriptions.ts";

/**
 * A session as one node hands it to another when a cluster moves it (a
 * client reconnecting elsewhere): what a store holds for it.
 */
export interface SessionHandover {
  /** Its subscriptions, expiry and owner (the will is not carried: the client is back). */
  record: SessionRecord;
  /** Messages in flight (packet id set, resent with DUP) in send order, then the queued ones (packet id 0) in order. */
  outgoing: OutgoingRecord[];
  /** Inbound QoS 2 packet ids that wait for PUBREL: a resent PUBLISH is not delivered again [MQTT-4.3.3-10]. */
  inboundQos2: number[];
  /** What it missed while the node that held it was gone (a session resumed from its last record), queued before CONNACK. */
  backlog?: SessionBacklog;
}

/**
 * Messages a session missed while the node that held it was gone, read back
 * from wherever the cluster keeps them: `deliver` hands each to the session
 * as routing would (its subscriptions choose; no-local and the delivery
 * policy apply). Resolves once all are handed over.
 */
export type SessionBacklog = (deliver: (message: Message) => void) => Promise<unknown>;

/** Delivers one message to one session only, as routing would; store commits go into `commits`. */
export type RouteTo = (clientId: string, message: Message, commits: Promise<unknown>[]) => number;

/**
 * Queues `backlog` for `session` (offline, or before its CONNACK), ahead of
 * what reached it live meanwhile (the backlog is older); resolves once its
 * messages are in the store.
 */
export async function catchUp(backlog: SessionBacklog, session: Session, routeTo: RouteTo): Promise<unknown> {
  const commits: Promise<unknown>[] = [];
  // The records the backlog queued (the queue keeps its own copy of each message).
  const missed = new Set<OutgoingRecord>();
  await backlog((message) => {
    const before = session.queue.length;
    routeTo(session.clientId, message, commits);
    if (session.queue.length > before) missed.add(session.queue.last()!);
  });
  if (missed.size > 0 && session.queue.length > 0) {
    const older: OutgoingRecord[] = [];
    const newer: OutgoingRecord[] = [];
    session.queue.retain((r) => {
      (missed.has(r) ? older : newer).push(r);
      return false;
    });
    for (const r of older) session.queue.push(r);
    for (const r of newer) session.queue.push(r);
  }
  return Promise.all(commits);
}

/** What `session` holds, to hand over; read before its queue is released. */
export function handOverSession(session: Session): SessionHandover {
  const outgoing: OutgoingRecord[] = [...session.inflight.values()];
  session.queue.retain((r) => {
    outgoing.push(r);
    return true;
  });
  return { record: { ...sessionRecord(session), will: undefined, willAt: undefined }, outgoing, inboundQos2: [...session.inboundQos2] };
}

/** What adopting a snapshot needs of the broker. */
export interface AdoptTarget {
  ctx: BrokerContext;
  subscriptions: Subscriptions;
}

/**
 * Fills the session a connection just attached to with the one another node
 * handed over: its subscriptions (whatever this node held for the id gives
 * way: the other node was its owner), its in-flight messages (resent with
 * DUP once connected [MQTT-4.4.0-1]), its queue (messages whose lifetime ran
 * out meanwhile dropped [MQTT-3.3.2-5]) and its inbound QoS 2 state, and
 * stores them when the session lasts. Returns what CONNACK must wait for: the
 * subscriptions' routing and the store.
 */
export function adoptHandover(target: AdoptTarget, session: Session, snapshot: SessionHandover): Promise<unknown> | undefined {
  const { ctx, subscriptions } = target;
  const store = ctx.store;
  const clientId = session.clientId;
  const now = ctx.now();
  subscriptions.removeAll(session);
  ctx.memoryBudget.give("queues", session.queuedBytes);
  session.queuedBytes = 0;
  session.queue.retain(() => false);
  session.inflight.clear();
  session.inboundQos2.clear();
  const waits: Promise<unknown>[] = [];
  for (const sub of snapshot.record.subscriptions) {
    const routed = subscriptions.add(session, { ...sub, clientId });
    if (routed) waits.push(routed);
  }
  const kept: OutgoingRecord[] = [];
  for (const r of snapshot.outgoing) {
    if (r.packetId !== 0) {
      if (session.inflight.has(r.packetId)) continue; // two records cannot share an id
      session.inflight.set(r.packetId, r);
    } else if (r.message.expiresAt !== undefined && r.message.expiresAt <= now) {
      ctx.stats.messagesDropped++; // [MQTT-3.3.2-5]
      continue;
    } else {
      session.queue.push(r);
      session.queuedBytes += r.message.payload.byteLength;
      // Acknowledged to its publisher already: kept even past the budget, which only refuses new messages.
      ctx.memoryBudget.take("queues", r.message.payload.byteLength, true);
    }
    kept.push(r);
  }
  for (const id of snapshot.inboundQos2) session.inboundQos2.add(id); // [MQTT-4.3.3-10]
  if (session.expiryInterval > 0) {
    // Writes commit in order: the last one covers the others.
    let last = store.saveSession(sessionRecord(session));
    if (kept.length > 0) last = store.saveOutgoing(clientId, kept) || last;
    for (const id of snapshot.inboundQos2) last = store.saveInboundQos2(clientId, id) || last;
    if (last) waits.push(last);
  }
  return waits.length === 0 ? undefined : Promise.all(waits);
}

/** What the connected lasting sessions of a broker hold unacknowledged (see {@link pendingSummary}). */
export interface PendingSummary {
  /** How many lasting sessions are connected. */
  connected: number;
  /** The earliest receipt (ms) among the messages in flight or queued for them; undefined when none waits. */
  oldest: number | undefined;
}

/**
 * The connected lasting sessions among `sessions`, and the earliest receipt
 * among what they hold unacknowledged (the first in flight and the first
 * queued of each: both are in the order received): what a cluster must be
 * able to send again should this node die.
 */
export function pendingSummary(sessions: Iterable<Session>): PendingSummary {
  let connected = 0;
  let oldest: number | undefined;
  for (const session of sessions) {
    if (session.connection === undefined || session.expiryInterval === 0) continue;
    connected++;
    const first = session.inflight.values().next().value?.message.receivedAt;
    if (first !== undefined && (oldest === undefined || first < oldest)) oldest = first;
    const queued = session.queue.peek()?.message.receivedAt;
    if (queued !== undefined && (oldest === undefined || queued < oldest)) oldest = queued;
  }
  return { connected, oldest };
}
