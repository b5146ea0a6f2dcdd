import { NEVER_EXPIRES } from "../codec/constants.ts";
import type { Will } from "../codec/packets/connect.ts";
import type { ClientInfo } from "../model/client.ts";
import type { SubscriptionEntry } from "../model/subscription.ts";
import type { SessionRecord, StoredState } from "../store/store.ts";
import type { HeldState } from "./ownership.ts";
import { anonymousClient, type BrokerContext } from "./context.ts";
import { Session, sessionRecord } from "./session.ts";
import type { Subscriptions } from "./subscriptions.ts";

/** What {@link Broker.restore} brought back, and what it let go. */
export interface RestoreReport {
  /** Sessions restored (offline until their clients return). */
  sessions: number;
  /** Sessions whose expiry passed while the broker was down: deleted. */
  expiredSessions: number;
  subscriptions: number;
  /** Messages in flight (sent, not fully acknowledged), to resend with DUP. */
  inflight: number;
  /** Messages queued, not yet sent. */
  queued: number;
  /** Queued messages whose Message Expiry Interval passed while the broker was down: dropped. */
  expiredMessages: number;
  /** Inbound QoS 2 packet ids awaiting PUBREL. */
  inboundQos2: number;
  retained: number;
  /** Retained messages that expired while the broker was down: deleted. */
  expiredRetained: number;
  /** Wills published at restore: their delay passed, or their session ended, while the broker was down. */
  willsPublished: number;
}

/** The parts of a broker that restoring fills in. */
export interface RestoreTarget {
  ctx: BrokerContext;
  /** The sessions the broker holds, and those without a connection (the session registry's). */
  registry: { readonly sessions: Map<string, Session>; readonly offline: Set<Session> };
  subscriptions: Subscriptions;
  publishWill(will: Will, client: ClientInfo): void;
}

/**
 * Brings back what a store held when the broker (or the process) stopped;
 * see {@link Broker.restore}. Times are absolute, so the downtime counts.
 */
export function restoreState(target: RestoreTarget, state: StoredState, now: number): RestoreReport {
  const { ctx, registry } = target;
  const store = ctx.store;
  const report: RestoreReport = {
    sessions: 0, expiredSessions: 0, subscriptions: 0, inflight: 0, queued: 0, expiredMessages: 0, inboundQos2: 0, retained: 0, expiredRetained: 0, willsPublished: 0,
  };
  const downSince = Math.min(state.downSince ?? now, now);
  // Retained messages first: a will published below may replace one.
  for (const m of state.retained) {
    if (m.expiresAt !== undefined && m.expiresAt <= now) { // [MQTT-3.3.2-5]
      store.saveRetained({ ...m, payload: new Uint8Array(0) });
      report.expiredRetained++;
      continue;
    }
    ctx.retained.set(m);
    report.retained++;
  }
  const due: { will: Will; client: ClientInfo }[] = [];
  const known = new Set<string>();
  for (const rec of state.sessions) {
    known.add(rec.clientId);
    // A session that was connected when the process stopped lost its connection then.
    const disconnectedAt = rec.disconnectedAt ?? downSince;
    const expiresAt = rec.expiryInterval === NEVER_EXPIRES ? undefined : disconnectedAt + rec.expiryInterval * 1000;
    const client = rec.client ?? anonymousClient(rec.clientId);
    const will = rec.will;
    // A connection that ended without DISCONNECT leaves its will, after its delay but never
    // past the session's end [MQTT-3.1.3-9]
    const willAt = will === undefined ? undefined : rec.willAt ?? disconnectedAt + Math.min(will.properties?.willDelayInterval ?? 0, rec.expiryInterval) * 1000;
    if (rec.expiryInterval === 0 || (expiresAt !== undefined && expiresAt <= now)) {
      // Its expiry passed while the broker was down: it ends, and its will goes now [MQTT-3.1.3-9]
      if (will !== undefined) due.push({ will, client });
      store.deleteSession(rec.clientId);
      report.expiredSessions++;
      continue;
    }
    const session = new Session(rec.clientId);
    session.expiryInterval = rec.expiryInterval;
    session.expiresAt = expiresAt;
    session.disconnectedAt = disconnectedAt;
    session.client = client;
    for (const sub of rec.subscriptions) {
      const entry: SubscriptionEntry = { ...sub, clientId: rec.clientId };
      target.subscriptions.add(session, entry);
      report.subscriptions++;
    }
    let resave = rec.disconnectedAt === undefined; // so that a second crash does not move its expiry again
    if (will !== undefined) {
      if (willAt! <= now) {
        due.push({ will, client });
        resave = true; // published once: the record drops it
      } else {
        session.pendingWill = { will, publishAt: willAt!, client };
        resave ||= rec.willAt === undefined;
      }
    }
    registry.sessions.set(rec.clientId, session);
    ctx.memoryBudget.sessions++; // kept even past the cap, which only refuses new sessions
    registry.offline.add(session);
    report.sessions++;
    if (resave) store.saveSession(sessionRecord(session));
  }
  for (const [clientId, records] of state.outgoing) {
    const session = registry.sessions.get(clientId);
    if (session === undefined) {
      // An expired session's rows went with deleteSession; rows of no session at all go now.
      if (!known.has(clientId)) for (const r of records) store.deleteOutgoing(clientId, r);
      continue;
    }
    for (const r of records) {
      if (r.packetId !== 0) {
        if (session.inflight.has(r.packetId)) {
          store.deleteOutgoing(clientId, r); // two records cannot share an id; the first sent stays
          continue;
        }
        // Resent with DUP on reconnect, in this order [MQTT-4.4.0-1]; expiry no longer stops them [MQTT-4.3.3-7]
        session.inflight.set(r.packetId, r);
        report.inflight++;
      } else if (r.message.expiresAt !== undefined && r.message.expiresAt <= now) {
        store.deleteOutgoing(clientId, r); // its lifetime ran out while it waited [MQTT-3.3.2-5]
        ctx.stats.messagesDropped++;
        report.expiredMessages++;
      } else {
        session.queue.push(r);
        session.queuedBytes += r.message.payload.byteLength;
        // Acknowledged before the restart: kept even past the budget, which only refuses new messages.
        ctx.memoryBudget.take("queues", r.message.payload.byteLength, true);
        report.queued++;
      }
    }
  }
  for (const [clientId, ids] of state.inboundQos2) {
    const session = registry.sessions.get(clientId);
    for (const id of ids) {
      if (session !== undefined) {
        session.inboundQos2.add(id); // a resent PUBLISH is acknowledged, not delivered again [MQTT-4.3.3-10]
        report.inboundQos2++;
      } else if (!known.has(clientId)) {
        store.deleteInboundQos2(clientId, id);
      }
    }
  }
  // Wills last, so that they reach the sessions restored above.
  for (const { will, client } of due) target.publishWill(will, client);
  report.willsPublished = due.length;
  return report;
}

/**
 * Restores one session a cluster node adopts from a gone node's record, with
 * what that node's store `held` for it (QoS 2 in flight, inbound QoS 2 ids),
 * and keeps it in this node's store too (restoring resaves only a record that
 * was connected). Undefined when it expired meanwhile.
 */
export function restoreAdopted(target: RestoreTarget, record: SessionRecord, held: HeldState | undefined, now: number): Session | undefined {
  const clientId = record.clientId;
  const state: StoredState = {
    sessions: [{ ...record, will: undefined, willAt: undefined }], retained: [], downSince: undefined,
    outgoing: new Map(held === undefined ? [] : [[clientId, held.outgoing]]), inboundQos2: new Map(held === undefined ? [] : [[clientId, held.inboundQos2]]),
  };
  restoreState(target, state, now);
  const session = target.registry.sessions.get(clientId);
  if (session === undefined) return undefined;
  const store = target.ctx.store;
  if (record.disconnectedAt !== undefined) void store.saveSession(sessionRecord(session));
  if (held !== undefined) {
    const kept = [...session.inflight.values()];
    const given = new Set(held.outgoing);
    session.queue.retain((r) => {
      if (given.has(r)) kept.push(r);
      return true;
    });
    if (kept.length > 0) void store.saveOutgoing(clientId, kept);
    for (const id of session.inboundQos2) void store.saveInboundQos2(clientId, id);
  }
  return session;
}
