import type { QoS } from "../codec/constants.ts";
import type { SubscribePacket } from "../codec/packets/subscribe.ts";
import { ReasonCode } from "../codec/reason-codes.ts";
import type { SubscribeOutcome } from "../connection/host.ts";
import type { Message } from "../model/message.ts";
import type { OutgoingRecord } from "../model/outgoing-record.ts";
import { parseSharedFilter, type SubscriptionEntry } from "../model/subscription.ts";
import { checkTopicLimits } from "../policy/limits.ts";
import type { BrokerContext } from "./context.ts";
import type { Delivery } from "./delivery.ts";
import { RetainedBacklog } from "./retained-backlog.ts";
import type { Routing } from "./routing.ts";
import { type BrokerConnection, type Session, sessionRecord } from "./session.ts";
import type { TopicTree } from "./topic-tree.ts";

/** SUBSCRIBE and UNSUBSCRIBE: the topic tree, quotas, authorization and the retained messages a subscription receives. */
export class Subscriptions {
  readonly #ctx: BrokerContext;
  readonly #tree: TopicTree;
  readonly #routing: Routing;
  readonly #delivery: Delivery;

  constructor(ctx: BrokerContext, tree: TopicTree, routing: Routing, delivery: Delivery) {
    this.#ctx = ctx;
    this.#tree = tree;
    this.#routing = routing;
    this.#delivery = delivery;
  }

  /** Handles SUBSCRIBE; returns "disconnected" if the client used a disabled feature. */
  subscribe(conn: BrokerConnection, p: SubscribePacket): SubscribeOutcome | "disconnected" {
    const ctx = this.#ctx;
    const session = conn.session!;
    const f = ctx.features;
    const id = p.properties?.subscriptionIdentifier;
    if (id !== undefined && !f.subscriptionIdentifiersAvailable) {
      conn.disconnect(ReasonCode.SubscriptionIdentifiersNotSupported, "subscription identifiers are not available"); // §3.2.2.3.12
      return "disconnected";
    }
    // A disabled feature is a Protocol Error that refuses the whole SUBSCRIBE: check every filter before subscribing any.
    for (const s of p.subscriptions) {
      const { shareGroup, filter } = parseSharedFilter(s.topicFilter);
      if (shareGroup !== undefined && !f.sharedSubscriptionAvailable) {
        conn.disconnect(ReasonCode.SharedSubscriptionsNotSupported, "shared subscriptions are not available"); // §3.2.2.3.13
        return "disconnected";
      }
      if (!f.wildcardSubscriptionAvailable && (filter.includes("+") || filter.includes("#"))) {
        // The spec's answer is 0xA2; Cloudflare Pub/Sub answered 0x90.
        conn.disconnect(f.refusal === "cloudflare" ? ReasonCode.TopicNameInvalid : ReasonCode.WildcardSubscriptionsNotSupported, "wildcard subscriptions are not available"); // §3.2.2.3.11
        return "disconnected";
      }
    }
    const v5 = conn.version === 5;
    const reasonCodes: number[] = [];
    const retainedToSend: { messages: Message[]; qos: QoS; ids: number[] | undefined }[] = [];
    // What routing asks the SUBACK to wait for (a cluster's interest reaching the other nodes).
    let routed: Promise<unknown>[] | undefined;
    for (const s of p.subscriptions) {
      const { shareGroup, filter } = parseSharedFilter(s.topicFilter);
      if (checkTopicLimits(filter, ctx.limits) !== undefined) {
        reasonCodes.push(v5 ? ReasonCode.TopicFilterInvalid : 0x80);
        continue;
      }
      const entry: SubscriptionEntry = {
        clientId: session.clientId, topicFilter: s.topicFilter, filter, shareGroup,
        qos: conn.grant(s.qos), noLocal: s.noLocal, retainAsPublished: s.retainAsPublished,
        retainHandling: s.retainHandling, subscriptionIdentifier: id,
      };
      const verdict = ctx.hooks.authorizeSubscribe(conn.client, entry);
      if (!verdict.allowed) {
        ctx.stats.denied++;
        ctx.hooks.event("subscribe_denied", conn.client.clientId, conn.client.conn, verdict.reasonCode, s.topicFilter);
        reasonCodes.push(v5 ? verdict.reasonCode : 0x80);
        continue;
      }
      const existed = session.subscriptions.has(s.topicFilter);
      if (!existed && session.subscriptions.size >= ctx.limits.maximumSubscriptionsPerClient) {
        ctx.stats.quotaExceeded++;
        reasonCodes.push(v5 ? ReasonCode.QuotaExceeded : 0x80); // §3.9.3: 0x97 Quota exceeded; 3.1.1 has only 0x80 Failure
        continue;
      }
      const perTopic = ctx.limits.maximumSubscribersPerTopic;
      if (!existed && perTopic > 0 && this.#tree.subscriberCount(filter, shareGroup) >= perTopic) {
        ctx.stats.quotaExceeded++;
        reasonCodes.push(v5 ? ReasonCode.QuotaExceeded : 0x80);
        continue;
      }
      const ready = this.add(session, entry); // replaces an existing one [MQTT-3.8.4-3]
      if (ready) (routed ??= []).push(ready);
      reasonCodes.push(entry.qos); // the granted QoS [MQTT-3.8.4-6]
      // Retained messages: none for shared subscriptions; by Retain Handling otherwise.
      if (shareGroup === undefined && (s.retainHandling === 0 || (s.retainHandling === 1 && !existed))) { // [MQTT-3.3.1-9], [MQTT-3.3.1-10]
        const messages = ctx.retained.match(filter);
        if (messages.length > 0) retainedToSend.push({ messages, qos: entry.qos, ids: id !== undefined ? [id] : undefined });
      }
    }
    // A lasting session's subscriptions are committed before SUBACK.
    const saved = session.expiryInterval > 0 ? ctx.store.saveSession(sessionRecord(session)) : undefined;
    if (saved) (routed ??= []).push(saved);
    const committed = routed === undefined ? undefined : routed.length === 1 ? routed[0] : Promise.all(routed);
    return {
      reasonCodes,
      committed,
      afterAck: () => {
        if (retainedToSend.length === 0) return;
        // Sent after SUBACK [MQTT-3.3.1-9], as the client's window frees: never dropped by the queue's cap.
        const backlog = session.retainedBacklog ??= new RetainedBacklog(session.queue.length);
        for (const r of retainedToSend) backlog.add(r.messages, r.qos, r.ids);
        this.#delivery.pump(conn);
      },
    };
  }

  /** Handles UNSUBSCRIBE; returns one reason code per filter, and the commit UNSUBACK waits for. */
  unsubscribe(conn: BrokerConnection, filters: string[]): { reasonCodes: number[]; committed: Promise<unknown> | undefined } {
    const session = conn.session!;
    const reasonCodes = filters.map((filter) => (this.remove(session, filter) ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted)); // [MQTT-3.11.3-1]
    const committed = session.expiryInterval > 0 ? this.#ctx.store.saveSession(sessionRecord(session)) : undefined;
    return { reasonCodes, committed: committed || undefined };
  }

  /** Adds (or replaces) a session's subscription in the tree and tells routing; returns what routing asks a SUBACK to wait for. */
  add(session: Session, entry: SubscriptionEntry): void | Promise<unknown> {
    this.#tree.add(entry);
    session.subscriptions.set(entry.topicFilter, entry);
    return this.#routing.subscribed(entry);
  }

  /** Removes one of a session's subscriptions; false when it had none on that filter. */
  remove(session: Session, topicFilter: string): boolean {
    const entry = session.subscriptions.get(topicFilter);
    const removed = this.#tree.remove(session.clientId, topicFilter);
    session.subscriptions.delete(topicFilter);
    if (entry !== undefined) this.#routing.unsubscribed(entry);
    return removed;
  }

  /** Gives messages a leaving share group member had not acknowledged to the groups' other members (see {@link Routing.handOn}). */
  handOn(records: readonly OutgoingRecord[]): void {
    for (const r of records) this.#routing.handOn?.(r.message, r.shareGroup!);
  }

  /** Removes every subscription of a session that ends. */
  removeAll(session: Session): void {
    for (const entry of session.subscriptions.values()) {
      this.#tree.remove(session.clientId, entry.topicFilter);
      this.#routing.unsubscribed(entry);
    }
    session.subscriptions.clear();
  }
}
