import type { LocalRoute, Message, Routing, SubscriptionEntry } from "@edgemq/core";
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { decodeMessage, encodeMessage, type Origin } from "./message-codec.ts";
import { filterToSubjects, MAX_SUBJECT_BYTES, messagePrefix, subjectToTopic, topicToSubject } from "./subject.ts";

/** What one broker's NatsRouting needs of the node's NATS link. */
export interface RoutingLink {
  readonly nc: NatsConnection;
  /** This node's id, carried by every message it sends. */
  readonly nodeId: string;
  /** This run of the node: a restarted node starts its sequence again under a new one. */
  readonly incarnation: number;
  /** The first subject token of every edgemq subject (`edgemq`). */
  readonly root: string;
  readonly now: () => number;
  readonly counters: ClusterCounters;
  /** Tells the operator something once (a topic too long for NATS, a message that does not decode). */
  report(level: "warn" | "error", text: string): void;
  /** Resolves once the NATS server has every subscription made so far (or after a bound wait, when it cannot say). */
  interestReady(): Promise<void>;
}

/** Messages over NATS since the node started, every broker together. */
export interface ClusterCounters {
  /** Messages published to NATS. */
  sent: number;
  /** Messages from other nodes handed to local sessions (duplicates excluded). */
  received: number;
  /** Messages delivered here only: topic too long for a NATS subject, or the NATS connection closed. */
  notSent: number;
  /** Messages from NATS that did not decode (another version, or not edgemq's). */
  malformed: number;
}

// The topics every node has of its own and never sends: $SYS is per node.
const perNode = (topicOrFilter: string) => topicOrFilter.startsWith("$SYS");

/**
 * One broker's routing over NATS. An accepted message goes to every local
 * match (scope "all", share groups included) and is published once on its
 * topic's subject; a message another node published is handed to every local
 * match too (scope "all"). Until share groups are served cluster-wide, a
 * group with members on several nodes gets one copy per such node.
 *
 * Interest follows the local subscriptions: one NATS subscription per
 * distinct subject in use (reference counted over every session's filters),
 * so a node receives only topics some local session wants. Overlapping
 * filters (`a/+` and `a/#`) can bring one message twice; the origin's
 * sequence, which NATS keeps in order per publisher, drops the second copy.
 */
export class NatsRouting implements Routing {
  readonly #link: RoutingLink;
  readonly #local: LocalRoute;
  readonly #prefix: string;
  // NATS subscriptions by subject, with how many local filters use each.
  readonly #interest = new Map<string, { sub: Subscription; refs: number }>();
  // Each session's filter (by client id and filter as written), to count a replaced subscription once.
  readonly #filters = new Map<string, string>();
  // The last sequence seen from each origin run (`node\0incarnation`).
  readonly #seen = new Map<string, number>();
  #sequence = 0;
  #closed = false;

  constructor(link: RoutingLink, local: LocalRoute, broker: string) {
    this.#link = link;
    this.#local = local;
    this.#prefix = messagePrefix(link.root, broker);
  }

  /**
   * Delivers to the local matches and publishes to the other nodes. The count
   * is the local one, except that a message sent on is said to match: this
   * node cannot know whether another node has subscribers (0x10 is only for
   * a server that knows there are none).
   */
  route(message: Message, commits: Promise<unknown>[]): number {
    const matched = this.#local.route(message, commits, "all");
    if (perNode(message.topic)) return matched;
    return this.#send(message) && matched === 0 ? 1 : matched;
  }

  /**
   * A local session subscribed: this node now wants the filter's topics from
   * the others. When that takes a new NATS subscription, the SUBACK waits
   * until the NATS server has it, so a message published on another node
   * after the SUBACK is not missed (on another server of a NATS cluster the
   * interest still takes a moment to arrive).
   */
  subscribed(entry: SubscriptionEntry): void | Promise<unknown> {
    const key = `${entry.clientId}\0${entry.topicFilter}`;
    if (this.#filters.has(key) || this.#closed) return; // new options on a filter already counted
    this.#filters.set(key, entry.filter);
    if (perNode(entry.filter)) return;
    let added = false;
    for (const subject of filterToSubjects(this.#prefix, entry.filter)) {
      const held = this.#interest.get(subject);
      if (held !== undefined) {
        held.refs++;
        continue;
      }
      if (subject.length > MAX_SUBJECT_BYTES) {
        this.#link.report("warn", `cluster: the filter "${entry.filter.slice(0, 80)}…" is too long for a NATS subject; it matches messages of this node only`);
        continue;
      }
      this.#interest.set(subject, { sub: this.#link.nc.subscribe(subject, { callback: this.#receive }), refs: 1 });
      added = true;
    }
    return added ? this.#link.interestReady() : undefined;
  }

  /** A local subscription ended: the subjects no local filter uses any more are unsubscribed. */
  unsubscribed(entry: SubscriptionEntry): void {
    const key = `${entry.clientId}\0${entry.topicFilter}`;
    const filter = this.#filters.get(key);
    if (filter === undefined) return;
    this.#filters.delete(key);
    if (perNode(filter)) return;
    for (const subject of filterToSubjects(this.#prefix, filter)) {
      const held = this.#interest.get(subject);
      if (held === undefined || --held.refs > 0) continue;
      this.#interest.delete(subject);
      held.sub.unsubscribe();
    }
  }

  /** The broker is closing: no more messages from the other nodes. */
  close(): void {
    this.#closed = true;
    for (const { sub } of this.#interest.values()) sub.unsubscribe();
    this.#interest.clear();
    this.#filters.clear();
  }

  // Publishes one message on its topic's subject; false when it stays local.
  #send(message: Message): boolean {
    const link = this.#link;
    const subject = topicToSubject(this.#prefix, message.topic);
    if (subject.length > MAX_SUBJECT_BYTES || link.nc.isClosed()) {
      link.counters.notSent++;
      return false;
    }
    const origin: Origin = { node: link.nodeId, incarnation: link.incarnation, sequence: ++this.#sequence };
    link.nc.publish(subject, encodeMessage(message, origin, link.now()));
    link.counters.sent++;
    return true;
  }

  readonly #receive = (err: Error | null, msg: Msg): void => {
    if (err !== null || this.#closed) return;
    const link = this.#link;
    let decoded;
    try {
      decoded = decodeMessage(msg.data, subjectToTopic(this.#prefix, msg.subject), link.now());
    } catch (e) {
      if (link.counters.malformed++ === 0) link.report("warn", `cluster: a message on ${msg.subject} is not an edgemq message (${(e as Error).message}); ignored`);
      return;
    }
    const { origin, message } = decoded;
    // The connection does not echo, but a second connection with this node's id must not either.
    if (origin.node === link.nodeId) return;
    const run = `${origin.node}\0${origin.incarnation}`;
    if ((this.#seen.get(run) ?? 0) >= origin.sequence) return; // a second matching subscription's copy
    this.#seen.set(run, origin.sequence);
    link.counters.received++;
    const commits: Promise<unknown>[] = [];
    this.#local.route(message, commits, "all");
    // Nobody waits for these writes (the publisher was answered by its own node); the store reports its failures.
    if (commits.length > 0) Promise.all(commits).catch(() => {});
  };
}
