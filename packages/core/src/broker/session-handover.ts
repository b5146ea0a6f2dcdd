import type { OutgoingRecord } from "../model/outgoing-record.ts";
import type { SessionRecord } from "../store/store.ts";
import type { BrokerContext } from "./context.ts";
import { type Session, sessionRecord } from "./session.ts";
import type { SessionBacklog } from "./session-backlog.ts";
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
