import type { LocalRoute, ShareGroupRef } from "@edgemq/core";
import type { Msg, Subscription } from "@nats-io/transport-node";
import { readMessages, type RoutingLink } from "./routing-link.ts";
import { escapeToken, filterToSubjects, MAX_SUBJECT_BYTES, topicToSubject } from "./subject.ts";

// One shared subscription this node has members of: its queue subscriptions and how many local members.
interface HeldGroup {
  subs: Subscription[];
  refs: number;
}

/**
 * One broker's share groups across the cluster, on NATS queue groups. Every
 * node with members of `$share/<group>/<filter>` holds a queue subscription
 * on the filter's message subjects, in the queue
 * `<root>.<broker>.share.<group>.<filter>`, on the link's second connection
 * (messages are published on the first, which does not echo, so NATS can
 * choose the publisher's own node too). NATS hands each message to one node
 * per queue, and that node gives it to one of its members (the LocalRoute's
 * "shared" scope narrowed to that group), so a group gets it once in the
 * whole cluster. A node holds the queue while it has members, connected or
 * not (an offline member's session queues what it is given).
 */
export class ShareGroups {
  readonly #link: RoutingLink;
  readonly #local: LocalRoute;
  readonly #messagePrefix: string;
  readonly #queuePrefix: string;
  // The share groups with local members, by `group\0filter`.
  readonly #groups = new Map<string, HeldGroup>();
  #closed = false;
  // Reused for every message received (see the callback below).
  readonly #commits: Promise<unknown>[] = [];

  constructor(link: RoutingLink, local: LocalRoute, broker: string, messagePrefix: string) {
    this.#link = link;
    this.#local = local;
    this.#messagePrefix = messagePrefix;
    this.#queuePrefix = `${link.root}.${escapeToken(broker)}.share`;
  }

  /**
   * A local member joined: the first one takes the group's queue on the
   * filter's subjects and on its hand-off subjects (see #receive). The
   * promise says when NATS has them.
   */
  join(group: string, filter: string): void | Promise<unknown> {
    const key = `${group}\0${filter}`;
    const held = this.#groups.get(key);
    if (held !== undefined) {
      held.refs++;
      return;
    }
    const queue = this.#queue(group, filter);
    const ref: ShareGroupRef = { group, filter };
    const subs: Subscription[] = [];
    for (const subject of [...filterToSubjects(this.#messagePrefix, filter), `${queue}.>`]) {
      if (subject.length + queue.length > MAX_SUBJECT_BYTES) {
        this.#link.report("warn", `cluster: the shared subscription "$share/${group.slice(0, 40)}/${filter.slice(0, 40)}…" is too long for NATS; it gets messages of this node only`);
        continue;
      }
      const prefix = subject.startsWith(`${queue}.`) ? queue : this.#messagePrefix;
      subs.push(this.#link.shareNc.subscribe(subject, { queue, callback: this.#receive(key, ref, prefix) }));
    }
    this.#groups.set(key, { subs, refs: 1 });
    return subs.length > 0 ? this.#link.interestReady() : undefined;
  }

  /** A local member left: after the last one, NATS no longer chooses this node for the group. */
  leave(group: string, filter: string): void {
    const key = `${group}\0${filter}`;
    const held = this.#groups.get(key);
    if (held === undefined || --held.refs > 0) return;
    this.#groups.delete(key);
    // Drained, not dropped: what NATS sent before it had the UNSUB still comes to #receive, which hands it on.
    for (const sub of held.subs) void sub.drain().catch(() => {});
  }

  /**
   * Sends a message a left member of `ref` had not acknowledged to the group's
   * other nodes, on its hand-off subjects (this node no longer holds the
   * group: its last member here left). False when it cannot go.
   */
  handOff(ref: ShareGroupRef, topic: string, data: Uint8Array): boolean {
    const subject = topicToSubject(this.#queue(ref.group, ref.filter), topic);
    const link = this.#link;
    if (this.#closed || subject.length > MAX_SUBJECT_BYTES || link.nc.isClosed()) {
      link.counters.unserved++;
      return false;
    }
    try {
      link.nc.publish(subject, data);
    } catch {
      // The connection is draining (the node is stopping): nobody else can be told.
      link.counters.unserved++;
      return false;
    }
    link.counters.handedOff++;
    return true;
  }

  /** The broker is closing: no more group messages. */
  close(): void {
    this.#closed = true;
    for (const { subs } of this.#groups.values()) for (const sub of subs) sub.unsubscribe();
    this.#groups.clear();
  }

  // One queue per shared subscription: NATS merges queue subscriptions of one name across
  // subjects, so `$share/g/a/+` and `$share/g/a/#` must not share a name.
  #queue(group: string, filter: string): string {
    return `${this.#queuePrefix}.${escapeToken(group)}.${escapeToken(filter)}`;
  }

  // NATS chose this node to serve one share group: one local member of that group gets
  // the message. When NATS chose it just as its last member left (the UNSUB was on its
  // way), the message goes on to the group's other nodes on `<queue>.<topic levels>`,
  // which only they now hold.
  #receive(key: string, ref: ShareGroupRef, prefix: string): (err: Error | null, msg: Msg) => void {
    return (err, msg) => {
      if (err !== null || this.#closed) return;
      const link = this.#link;
      // A bundle's messages one by one: each is served here or handed on by itself.
      for (const decoded of readMessages(link, msg, prefix)) {
        // Published while its node was cut off from NATS: that node served its share groups then.
        if (decoded.sharesServed) continue;
        const message = decoded.message;
        link.counters.received++;
        // One list for every message received: most deliveries write nothing to a store.
        const commits = this.#commits;
        if (this.#local.route(message, commits, "shared", ref) > 0) {
          // Nobody waits for these writes (the publisher was answered by its own node); the store reports its failures.
          if (commits.length > 0) Promise.all(commits.splice(0)).catch(() => {});
          continue;
        }
        const handoff = `${this.#queue(ref.group, ref.filter)}.${msg.subject.slice(prefix.length + 1)}`;
        // Still held here (a member whose session is gone): handing off could come back here.
        if (this.#groups.has(key) || handoff.length > MAX_SUBJECT_BYTES || link.nc.isClosed()) {
          link.counters.unserved++;
          continue;
        }
        link.nc.publish(handoff, decoded.bytes);
        link.counters.handedOff++;
      }
    };
  }
}
