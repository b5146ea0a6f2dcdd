import type { QoS } from "../codec/constants.ts";
import type { Message } from "../model/message.ts";
import type { SubscriptionEntry } from "../model/subscription.ts";
import { anonymousClient, type BrokerContext } from "./context.ts";
import type { Delivery } from "./delivery.ts";
import type { LocalRoute, RouteScope, ShareGroupRef } from "./routing.ts";
import type { Session } from "./session.ts";
import type { TopicTree } from "./topic-tree.ts";

// One share group member's delivery of one message.
interface Target {
  session: Session;
  qos: QoS;
  retainAsPublished: boolean;
  ids: number[] | undefined;
  group: ShareGroupRef;
}

/**
 * The local fan-out: matches a topic against the subscription tree and hands
 * each matching session one merged delivery. Matching reuses its scratch
 * state (a generation number on each session, two arrays) so that routing a
 * message allocates nothing per subscriber.
 */
export class LocalFanOut implements LocalRoute {
  readonly #ctx: BrokerContext;
  readonly #tree: TopicTree;
  readonly #sessions: ReadonlyMap<string, Session>;
  readonly #delivery: Delivery;
  readonly #roundRobin = new WeakMap<Map<string, SubscriptionEntry>, number>();
  #generation = 0;
  #matched: Session[] = [];
  #shared: Target[] = [];
  #routing: Message | undefined;
  // The one share group a "shared" pass serves, when a cluster names it (issue 12).
  #only: ShareGroupRef | undefined;

  constructor(ctx: BrokerContext, tree: TopicTree, sessions: ReadonlyMap<string, Session>, delivery: Delivery) {
    this.#ctx = ctx;
    this.#tree = tree;
    this.#sessions = sessions;
    this.#delivery = delivery;
  }

  readonly #visit = (entry: SubscriptionEntry): void => {
    const message = this.#routing!;
    if (entry.noLocal && entry.clientId === message.senderId) return; // [MQTT-3.8.3-3]
    const session = this.#sessions.get(entry.clientId);
    if (session === undefined) return;
    const id = entry.subscriptionIdentifier;
    if (session.routeGeneration !== this.#generation) {
      session.routeGeneration = this.#generation;
      session.routeQos = entry.qos;
      session.routeRetainAsPublished = entry.retainAsPublished;
      session.routeIds = id !== undefined ? [id] : undefined;
      this.#matched.push(session);
      return;
    }
    // Overlapping subscriptions: one copy at the highest QoS with every identifier [MQTT-3.3.4-2], [MQTT-3.3.4-4]
    if (entry.qos > session.routeQos) session.routeQos = entry.qos;
    if (entry.retainAsPublished) session.routeRetainAsPublished = true;
    if (id !== undefined) (session.routeIds ??= []).push(id);
  };

  readonly #visitGroup = (group: string, members: Map<string, SubscriptionEntry>): void => {
    const only = this.#only;
    // Every member holds the group's filter; the iterator is made only on a cluster's narrowed pass.
    if (only !== undefined && (group !== only.group || members.values().next().value!.filter !== only.filter)) return;
    // One member of each share group gets the message, in turn, preferring connected
    // ones [MQTT-4.8.2-3]; the turn is an index into the group's insertion order.
    const size = members.size;
    const start = (this.#roundRobin.get(members) ?? 0) % size;
    let chosen: SubscriptionEntry | undefined;
    let chosenAt = start;
    let fallback: SubscriptionEntry | undefined;
    let i = 0;
    // Two passes over the map at most: from `start` to the end, then from the beginning.
    for (let pass = 0; pass < 2 && chosen === undefined; pass++) {
      i = 0;
      for (const e of members.values()) {
        if ((pass === 0 && i >= start) || (pass === 1 && i < start)) {
          fallback ??= e;
          if (this.#sessions.get(e.clientId)?.connection !== undefined) {
            chosen = e;
            chosenAt = i;
            break;
          }
        }
        i++;
      }
    }
    if (chosen === undefined) chosen = fallback!; // nobody connected: the next in turn queues it
    this.#roundRobin.set(members, (chosenAt + 1) % size);
    const session = this.#sessions.get(chosen.clientId);
    if (session === undefined) return;
    this.#shared.push({
      session, qos: chosen.qos, retainAsPublished: chosen.retainAsPublished,
      ids: chosen.subscriptionIdentifier !== undefined ? [chosen.subscriptionIdentifier] : undefined,
      group: { group, filter: chosen.filter },
    });
  };

  /** Delivers `message` to the matching local sessions within `scope`; returns how many. */
  route(message: Message, commits: Promise<unknown>[], scope: RouteScope, only?: ShareGroupRef): number {
    const matched = this.#matched;
    const shared = this.#shared;
    this.#generation++;
    this.#routing = message;
    this.#only = scope === "shared" ? only : undefined;
    this.#tree.match(message.topic, scope === "shared" ? ignoreEntry : this.#visit, scope === "non-shared" ? ignoreGroup : this.#visitGroup);
    this.#routing = undefined;
    this.#only = undefined;
    const count = matched.length + shared.length;
    if (count === 0) return 0;
    // Fan-out happens at the moment of receipt: measuring expiry from a clock read a
    // millisecond later would lose a message whose lifetime is 0 (MQTT-3.3.2-5 counts
    // from when the server received it).
    const now = message.receivedAt;
    const checkDelivery = this.#ctx.hooks.checksDelivery;
    for (let i = 0; i < matched.length; i++) {
      const s = matched[i]!;
      this.#deliverTo(s, s.routeQos, s.routeRetainAsPublished, s.routeIds, message, now, checkDelivery, commits);
      s.routeIds = undefined;
    }
    for (const t of shared) this.#deliverTo(t.session, t.qos, t.retainAsPublished, t.ids, message, now, checkDelivery, commits, t.group);
    matched.length = 0;
    shared.length = 0;
    return count;
  }

  /** Delivers `message` to `clientId`'s session alone, as {@link route} would (its non-shared subscriptions); returns 1 when it matched. */
  routeTo(clientId: string, message: Message, commits: Promise<unknown>[], sentAtQos2 = false): number {
    this.#onlyClient = clientId;
    try {
      this.#generation++;
      this.#routing = message;
      this.#tree.match(message.topic, this.#visitOne, ignoreGroup);
    } finally {
      this.#routing = undefined;
      this.#onlyClient = undefined;
    }
    const matched = this.#matched;
    if (matched.length === 0) return 0;
    const s = matched[0]!;
    matched.length = 0;
    // Sent to it at QoS 2 once already (a cluster reading back what a dead node held): not again [MQTT-4.3.3-2]
    if (sentAtQos2 && message.qos === 2 && s.routeQos === 2) {
      s.routeIds = undefined;
      return 0;
    }
    this.#deliverTo(s, s.routeQos, s.routeRetainAsPublished, s.routeIds, message, message.receivedAt, this.#ctx.hooks.checksDelivery, commits);
    s.routeIds = undefined;
    return 1;
  }

  // The one session routeTo serves.
  #onlyClient: string | undefined;
  readonly #visitOne = (entry: SubscriptionEntry): void => {
    if (entry.clientId === this.#onlyClient) this.#visit(entry);
  };

  /** Keeps a retained message from elsewhere, here and in the store; delivers nothing. */
  retain(message: Message): void {
    this.#ctx.retained.set(message); // an empty payload clears [MQTT-3.3.1-6]
    // Nobody waits: the node that accepted it answered its publisher; the store reports its failures.
    const c = this.#ctx.store.saveRetained(message);
    if (c) c.catch(() => {});
  }

  #deliverTo(
    session: Session, subQos: QoS, retainAsPublished: boolean, ids: number[] | undefined, message: Message, now: number, checkDelivery: boolean,
    commits: Promise<unknown>[], group?: ShareGroupRef,
  ): void {
    // Offline deliveries are judged by the last connection's identity, so by the same rights.
    if (checkDelivery && !this.#ctx.hooks.authorizeDelivery(session.connection?.client ?? session.client ?? anonymousClient(session.clientId), message)) {
      this.#ctx.stats.denied++;
      return;
    }
    // The delivered QoS is the lower of the message's and the subscription's [MQTT-3.8.4-8]
    const qos = (message.qos < subQos ? message.qos : subQos) as QoS;
    // RETAIN is kept only for Retain As Published subscriptions [MQTT-3.3.1-12], [MQTT-3.3.1-13]
    const c = this.#delivery.deliver(session, message, qos, retainAsPublished && message.retain, ids, now, group);
    if (c) commits.push(c);
  }
}

const ignoreEntry = (_entry: SubscriptionEntry): void => {};
const ignoreGroup = (_group: string, _members: Map<string, SubscriptionEntry>): void => {};
