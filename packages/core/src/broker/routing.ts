import type { Message } from "../model/message.ts";
import type { SubscriptionEntry } from "../model/subscription.ts";

//
// The routing seam: between "a message was accepted" (authorized, through
// the on-publish hook, its retained copy and QoS 2 id held) and "it reaches
// the sessions whose subscriptions match". On one process the default,
// LocalRouter, matches the topic tree and fans out. A cluster's Routing also
// sends each accepted message to the other nodes, and hands the messages
// they accepted to `local.route` here.
//

/** Where one routing pass delivers: every match, or only part of them. */
export type RouteScope =
  /** Every matching subscription, shared ones included: a message accepted here, on one process. */
  | "all"
  /** Only non-shared subscriptions: a message another node accepted, whose share groups that node served. */
  | "non-shared"
  /** Only the share groups, one member each: this node was chosen to serve the groups. */
  | "shared";

/** One shared subscription (issue 12): a share group on one filter, as `$share/<group>/<filter>` names it. */
export interface ShareGroupRef {
  readonly group: string;
  /** The filter without its `$share/<group>/` prefix. */
  readonly filter: string;
}

/** Fans one message out to the matching local sessions. */
export interface LocalRoute {
  /**
   * Delivers `message` to the local sessions its topic matches within
   * `scope`: overlapping subscriptions of one session merge into one
   * delivery at the highest QoS with every identifier [MQTT-3.3.4-2], each
   * share group gives it to one member [MQTT-4.8.2-3]. With scope "shared",
   * `only` narrows the groups to one (a cluster chose this node for that
   * group alone). Store commits the deliveries made go into `commits`.
   * Returns how many sessions got it.
   */
  route(message: Message, commits: Promise<unknown>[], scope: RouteScope, only?: ShareGroupRef): number;
  /**
   * Keeps a retained message another node accepted (issue 12): it replaces
   * this topic's retained message, or clears it when the payload is empty,
   * here and in the store, without delivering it to anyone.
   */
  retain(message: Message): void;
}

/**
 * The contract of a routing implementation. The broker calls `route` once
 * per accepted message, in the order messages were accepted, so a
 * publisher's order is kept as long as the implementation keeps it per
 * publisher; `subscribed` / `unsubscribed` report every local subscription
 * change, so that an implementation can ask other nodes for matching
 * messages (one interest per distinct filter, not per session).
 */
export interface Routing {
  /**
   * Routes an accepted message: at least to the local sessions (through the
   * LocalRoute it was built with). Returns the local match count (which
   * decides 0x10 No matching subscribers) and pushes into `commits` what the
   * acknowledgement must wait for (a replicated write, for a cluster).
   */
  route(message: Message, commits: Promise<unknown>[]): number;
  /**
   * A local session subscribed (or replaced a subscription with new options).
   * A promise it returns holds the SUBACK until the interest is in place
   * elsewhere; it should resolve even when no other node can be reached (a
   * rejection ends the connection, as a failed store commit does).
   */
  subscribed(entry: SubscriptionEntry): void | Promise<unknown>;
  /** A local session's subscription ended (unsubscribed, or its session ended). */
  unsubscribed(entry: SubscriptionEntry): void;
  /**
   * This broker kept (or cleared, with an empty payload) a client's retained
   * message, from a PUBLISH, a will, an embedder or the admin API's clear, so
   * that a cluster can keep it for the other nodes (issue 12). Not called for
   * $SYS values. A promise it returns is a commit: the PUBLISH's
   * acknowledgement waits for it, and is not sent when it rejects.
   */
  retained?(message: Message): void | Promise<unknown>;
  /**
   * A member of `group` left (its session ended) before acknowledging
   * `message`, which the group had given it: another member gets it
   * [MQTT-4.8.2-3], here or, in a cluster, on another node. Without it the
   * message is lost with the session.
   */
  handOn?(message: Message, group: ShareGroupRef): void;
  /** The broker is closing: stop receiving from elsewhere. */
  close?(): void | Promise<void>;
  /**
   * False while this routing cannot make a QoS 1 or 2 message durable (issue
   * 12: a cluster node cut off from NATS); the broker then refuses a client's
   * QoS 1 and 2 PUBLISH as Server busy, and QoS 0 goes on. Read once per QoS
   * 1 or 2 PUBLISH, so it must be a plain field or a trivial getter. Absent: always true.
   */
  readonly acceptsDurable?: boolean;
}

/** Builds the Routing a broker uses from its local fan-out (see {@link BrokerOptions.routing}). */
export type RoutingFactory = (local: LocalRoute) => Routing;

/** One process's routing: every accepted message goes to the local sessions, and nowhere else. */
export class SingleNodeRouting implements Routing {
  readonly #local: LocalRoute;

  constructor(local: LocalRoute) {
    this.#local = local;
  }

  /** Delivers to every local match. */
  route(message: Message, commits: Promise<unknown>[]): number {
    return this.#local.route(message, commits, "all");
  }

  /** Nothing to tell: the topic tree already holds it. */
  subscribed(_entry: SubscriptionEntry): void {}

  /** Nothing to tell: the topic tree already dropped it. */
  unsubscribed(_entry: SubscriptionEntry): void {}

  /** Another local member of the group, if any, gets the message. */
  handOn(message: Message, group: ShareGroupRef): void {
    handOnLocally(this.#local, message, group);
  }
}

/** Gives a left member's message to another local member of its group; false when none is here. */
export function handOnLocally(local: LocalRoute, message: Message, group: ShareGroupRef): boolean {
  const commits: Promise<unknown>[] = [];
  const n = local.route(message, commits, "shared", group);
  // Nobody waits for these writes (the publisher was answered long ago); the store reports its failures.
  if (commits.length > 0) Promise.all(commits).catch(() => {});
  return n > 0;
}
