import type { Message } from "../model/message.ts";
import type { OutgoingRecord } from "../model/outgoing-record.ts";
import type { Session } from "./session.ts";

//
// What a cluster reads back for a session whose node died (its backlog), and
// what it must be able to read back should this node die (what the connected
// lasting sessions hold unacknowledged).
//

/**
 * Messages a session missed while the node that held it was gone, read back
 * from wherever the cluster keeps them: `deliver` hands each to the session
 * as routing would (its subscriptions choose; no-local and the delivery
 * policy apply), `sentAtQos2` when the session was sent it at QoS 2 already
 * (it is then not sent again at QoS 2 [MQTT-4.3.3-2], though at QoS 1 or 0
 * it would be). Resolves once all are handed over.
 */
export type SessionBacklog = (deliver: (message: Message, sentAtQos2?: boolean) => void) => Promise<unknown>;

/** Delivers one message to one session only, as routing would (not at QoS 2 when `sentAtQos2`); store commits go into `commits`. */
export type RouteTo = (clientId: string, message: Message, commits: Promise<unknown>[], sentAtQos2?: boolean) => number;

/**
 * Queues `backlog` for `session` (offline, or before its CONNACK), ahead of
 * what reached it live meanwhile (the backlog is older); resolves once its
 * messages are in the store.
 */
export async function catchUp(backlog: SessionBacklog, session: Session, routeTo: RouteTo): Promise<unknown> {
  const commits: Promise<unknown>[] = [];
  // The records the backlog queued (the queue keeps its own copy of each message).
  const missed = new Set<OutgoingRecord>();
  await backlog((message, sentAtQos2) => {
    const before = session.queue.length;
    routeTo(session.clientId, message, commits, sentAtQos2);
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
 * able to send again should this node die. QoS 2 messages in flight are left
 * out: the store keeps them with their packet ids (a cluster's where another
 * node reads them), and they are resent from there, not read back again.
 */
export function pendingSummary(sessions: Iterable<Session>): PendingSummary {
  let connected = 0;
  let oldest: number | undefined;
  for (const session of sessions) {
    if (session.connection === undefined || session.expiryInterval === 0) continue;
    connected++;
    let first: number | undefined;
    for (const r of session.inflight.values()) {
      if (r.qos === 2) continue;
      first = r.message.receivedAt;
      break;
    }
    if (first !== undefined && (oldest === undefined || first < oldest)) oldest = first;
    const queued = session.queue.peek()?.message.receivedAt;
    if (queued !== undefined && (oldest === undefined || queued < oldest)) oldest = queued;
  }
  return { connected, oldest };
}
