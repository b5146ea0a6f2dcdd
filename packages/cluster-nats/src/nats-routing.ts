import { handOnLocally, type LocalRoute, type Message, type Routing, type ShareGroupRef, type SubscriptionEntry } from "@edgemq/core";
import type { Msg, Subscription } from "@nats-io/transport-node";
import { setImmediate } from "node:timers";
import { eachMessage, Outbox } from "./bundle.ts";
import { BACKLOG_CLOCK_SLACK_MS, type BacklogPosition, readBacklog } from "./message-backlog.ts";
import { emptyPrepared, encodeMessage, type Header, type Origin, originKey, prepareMessage } from "./message-codec.ts";
import { readMissed } from "./outage-read.ts";
import { type TurnConfirmation, turnConfirmation } from "./message-stream.ts";
import type { Qos2Marks } from "./qos2-marks.ts";
import { RetainedSync } from "./retained-sync.ts";
import type { RoutingLink } from "./routing-link.ts";
import { ShareGroups } from "./share-groups.ts";
import { filterToSubjects, MAX_SUBJECT_BYTES, messagePrefix, subjectToTopic } from "./subject.ts";
import { SubjectCache } from "./subject-cache.ts";

// The most messages, and bytes of them, bundled into one NATS message. NATS
// chooses a node of a share group per NATS message, so a bundle is kept short:
// a burst on one topic is still spread over the group's nodes, 16 at a time.
// (NATS's own limit on a message is 1 MiB by default.)
const BUNDLE_MESSAGES = 16;
const BUNDLE_BYTES = 64 * 1024;

// The topics every node has of its own and never sends: $SYS is per node.
const perNode = (topicOrFilter: string) => topicOrFilter.startsWith("$SYS");

/**
 * One broker's routing over NATS. An accepted message goes to the local
 * non-shared matches (scope "non-shared") and is published once on its
 * topic's subject; a message another node published is handed to the local
 * non-shared matches too.
 *
 * Share groups are served cluster-wide by NATS queue groups (see
 * {@link ShareGroups}): the one published message also reaches one node per
 * group, this one included, which gives it to one of its members.
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
  // What is subscribed to (`<root>.<broker>.msg.*`, either kind of message).
  readonly #prefix: string;
  // What each kind of message is published on.
  readonly #subjects: SubjectCache;
  // NATS subscriptions by subject, with how many local filters use each.
  readonly #interest = new Map<string, { sub: Subscription; refs: number }>();
  // Each session's filter (by client id and filter as written), to count a replaced subscription once.
  readonly #filters = new Map<string, { filter: string; group: string | undefined }>();
  readonly #groups: ShareGroups;
  readonly #retained: RetainedSync | undefined;
  // The last sequence seen from each origin run (`node\0incarnation`).
  readonly #seen = new Map<string, number>();
  // Messages for NATS, written as they come and published together at the end of the event-loop turn (see #flush).
  readonly #outbox = new Outbox(BUNDLE_MESSAGES, BUNDLE_BYTES);
  // What route() fills for each message it writes: no object per message.
  readonly #origin: Origin;
  readonly #prepared = emptyPrepared();
  #sequence = 0;
  // The turn's QoS 1 and 2 messages wait for this: resolved once the NATS server confirmed what the turn sent (see #flush).
  #turnConfirmed: TurnConfirmation | undefined;
  // The reply subject of the turn's durable messages (the stream answers on it), and how many were sent with it.
  #reply: string | undefined;
  #durableSent = 0;
  // Where this node stood at each checkpoint of the last minute (see checkpoint).
  readonly #notes: BacklogPosition[] = [];
  // The messages received while each backlog is read (see backlog), with the earliest time what it reads may have
  // been stored: empty but while a gone node's session catches up.
  readonly #catchUps = new Map<Set<string>, number>();
  // Where this node stood when NATS was lost, and what reached it live since, until the read after it is back is done.
  #outage: { position: BacklogPosition; live: Set<string>; reading: boolean } | undefined;
  // What waits for the end of the turn's publishing (see afterFlush).
  readonly #afterFlush: (() => void)[] = [];
  // Whether a message NATS refused has been reported (once per broker).
  #warnedUnsent = false;
  #closed = false;

  constructor(link: RoutingLink, local: LocalRoute, broker: string) {
    this.#link = link;
    this.#local = local;
    this.#prefix = messagePrefix(link.root, broker);
    this.#subjects = new SubjectCache(link.root, broker);
    this.#origin = { node: link.nodeId, incarnation: link.incarnation, sequence: 0 };
    this.#groups = new ShareGroups(link, local, broker, this.#prefix);
    if (link.retainedStream !== undefined) {
      this.#retained = new RetainedSync(link, local, broker, link.retainedStream);
      link.track(this.#retained.ready);
    }
  }

  /** False while NATS is away, or the messages stream does not answer: a QoS 1 or 2 message could not be kept (the broker refuses it). */
  get acceptsDurable(): boolean {
    return this.#link.acceptsDurable;
  }

  /**
   * Delivers to the local matches and publishes to the other nodes. The count
   * is the local one, except that a message sent on is said to match: this
   * node cannot know whether another node has subscribers (0x10 is only for
   * a server that knows there are none).
   */
  route(message: Message, commits: Promise<unknown>[]): number {
    const link = this.#link;
    if (perNode(message.topic)) return this.#local.route(message, commits, "all");
    const subject = this.#subjects.subject(message.topic, message.qos > 0);
    if (subject.length > MAX_SUBJECT_BYTES || link.nc.isClosed()) {
      // It stays here: this node serves its own share groups too.
      link.counters.notSent++;
      return this.#local.route(message, commits, "all");
    }
    // Its own sequence, kept here: a delivery below could route another message (or hand one on) before it is written.
    const sequence = ++this.#sequence;
    // A QoS 2 message knows where it came from: should it be in flight when this node dies, the next one resends it as it is.
    if (message.qos === 2) message.origin = originKey(link.nodeId, link.incarnation, sequence);
    let matched = this.#local.route(message, commits, "non-shared");
    // While NATS is away NATS cannot pick: the local share groups are served here at once,
    // and the message, published once NATS is back, says so, so no group gets it twice.
    let served = 0;
    if (!link.connected) matched += served = this.#local.route(message, commits, "shared");
    if (this.#catchUps.size > 0) this.#receivedLive(link.nodeId, link.incarnation, sequence);
    // The node's id as it is now: a node is renamed after its port once bound, after this routing was built.
    this.#origin.node = link.nodeId;
    this.#origin.sequence = sequence;
    if (this.#outbox.add(subject, prepareMessage(message, this.#origin, link.now(), served > 0, this.#prepared)) === 1) setImmediate(this.#flush);
    // PUBACK and PUBREC wait until the messages stream's replicas have it (or, without JetStream, until the NATS
    // server has it, and so has passed it to every node with interest): one confirmation per turn, however many
    // messages it carried.
    if (message.qos > 0) commits.push((this.#turnConfirmed ??= turnConfirmation()).promise);
    return matched === 0 ? 1 : matched;
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
    this.#filters.set(key, { filter: entry.filter, group: entry.shareGroup });
    if (perNode(entry.filter)) return;
    if (entry.shareGroup !== undefined) return this.#groups.join(entry.shareGroup, entry.filter);
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
    const held = this.#filters.get(key);
    if (held === undefined) return;
    this.#filters.delete(key);
    const { filter, group } = held;
    if (perNode(filter)) return;
    if (group !== undefined) return this.#groups.leave(group, filter);
    for (const subject of filterToSubjects(this.#prefix, filter)) {
      const held = this.#interest.get(subject);
      if (held === undefined || --held.refs > 0) continue;
      this.#interest.delete(subject);
      held.sub.unsubscribe();
    }
  }

  /** This broker kept or cleared a retained message: the cluster keeps it for every node ($SYS excepted); the acknowledgement waits for it. */
  retained(message: Message): void | Promise<unknown> {
    if (!perNode(message.topic)) return this.#retained?.put(message);
  }

  /**
   * A member of `group` here left before acknowledging `message`: another
   * member here gets it, or else one on another node, through the group's
   * hand-off subjects (its own messages never come back to this node's
   * routing, so only the group's queue sees it).
   */
  handOn(message: Message, group: ShareGroupRef): void {
    if (handOnLocally(this.#local, message, group) || perNode(message.topic)) return;
    const link = this.#link;
    const origin: Origin = { node: link.nodeId, incarnation: link.incarnation, sequence: ++this.#sequence };
    this.#groups.handOff(group, message.topic, encodeMessage(message, origin, link.now()));
  }

  /** Where a session going offline now stands (see message-backlog.ts): every origin run's last message received here, this node's own included. */
  position(): BacklogPosition {
    const seen: Record<string, number> = {};
    for (const [run, sequence] of this.#seen) seen[run] = sequence;
    seen[`${this.#link.nodeId}\0${this.#link.incarnation}`] = this.#sequence;
    return { at: this.#link.now(), seen };
  }

  /**
   * Notes where this node stands now, and returns where its connected
   * sessions stand when the earliest message they have not acknowledged
   * arrived at `oldest` (undefined: none waits, so now): the last note taken
   * before then, as everything it counts had arrived, and so was
   * acknowledged (notes are kept for a minute; past that, the time alone).
   */
  checkpoint(oldest: number | undefined): BacklogPosition {
    const now = this.position();
    const notes = this.#notes;
    notes.push(now);
    while (notes.length > 0 && notes[0]!.at < now.at - NOTES_KEPT_MS) notes.shift();
    // A session still reading its backlog holds none of it yet: what it reads may be as old as its position.
    for (const reading of this.#catchUps.values()) if (oldest === undefined || reading < oldest) oldest = reading;
    if (oldest === undefined) return now;
    for (let i = notes.length - 1; i >= 0; i--) if (notes[i]!.at < oldest) return notes[i]!;
    return { at: oldest, seen: {} };
  }

  /**
   * Hands `deliver` what the messages stream holds for a session since
   * `position` (see message-backlog.ts), called once the session is
   * subscribed here: what this node receives from then on reaches it live,
   * and is left out; what `sent` covers is not sent again at QoS 2;
   * resolves with how many.
   */
  async backlog(position: BacklogPosition, deliver: (message: Message, sentAtQos2: boolean) => void, sent?: Qos2Marks): Promise<number> {
    const stream = this.#link.messageStream;
    if (stream === undefined) return 0;
    const live = new Set<string>();
    this.#catchUps.set(live, position.at - BACKLOG_CLOCK_SLACK_MS);
    try {
      return await readBacklog(this.#link.nc, stream, this.#prefix, position, deliver, live, sent);
    } finally {
      this.#catchUps.delete(live);
    }
  }

  // Notes a message that reached the local sessions, for each backlog being read (none, nearly always).
  #receivedLive(node: string, incarnation: number, sequence: number): void {
    const key = originKey(node, incarnation, sequence);
    for (const live of this.#catchUps.keys()) live.add(key);
  }

  /**
   * Runs `then` once what this turn routed is handed to the NATS client (at
   * the end of the turn): what `then` publishes follows it on the one NATS
   * connection, in the same write as a rule.
   */
  afterFlush(then: () => void): void {
    if (this.#afterFlush.push(then) === 1) setImmediate(this.#flush);
  }

  /**
   * NATS was lost: where this node stands now is kept, and what reaches it
   * live from now on noted, so that once it is back it reads what it missed
   * meanwhile (see {@link regained}). Checkpoints do not pass that point.
   */
  lost(): void {
    if (this.#outage !== undefined || this.#link.messageStream === undefined || this.#closed) return;
    const position = this.position();
    const live = new Set<string>();
    this.#catchUps.set(live, position.at - BACKLOG_CLOCK_SLACK_MS);
    this.#outage = { position, live, reading: false };
  }

  /**
   * NATS is back: the QoS 1 and 2 messages published since it was lost (and
   * those on their way then), read from the messages stream, go to the local
   * sessions they match, as if received live (later than the live ones that
   * came meanwhile, which are not given twice).
   */
  regained(): void {
    const outage = this.#outage;
    const stream = this.#link.messageStream;
    if (outage === undefined || outage.reading || stream === undefined) return;
    outage.reading = true;
    const commits: Promise<unknown>[] = [];
    const deliver = (message: Message): void => {
      if (this.#closed) return;
      this.#local.route(message, commits, "non-shared");
      if (commits.length > 0) Promise.all(commits.splice(0)).catch(() => {});
    };
    void readMissed(this.#link, stream, this.#prefix, outage.position, outage.live, deliver).then((n) => {
      if (n !== undefined && n > 0) this.#link.report("info", `cluster: read back ${n} message(s) published while this node was cut off from NATS`);
    }).finally(() => {
      this.#catchUps.delete(outage.live);
      if (this.#outage === outage) this.#outage = undefined;
    });
  }

  /** The broker is closing: what it published goes out, and no more messages come from the other nodes. */
  close(): void {
    this.#flush();
    this.#closed = true;
    this.#retained?.close();
    for (const { sub } of this.#interest.values()) sub.unsubscribe();
    this.#interest.clear();
    this.#groups.close();
    this.#filters.clear();
  }

  // The key of an origin's run in #seen; the last one is kept, as a bundle's messages share it.
  #lastRun = { node: "", incarnation: -1, key: "" };
  #run(node: string, incarnation: number): string {
    const last = this.#lastRun;
    if (last.node !== node || last.incarnation !== incarnation) this.#lastRun = { node, incarnation, key: `${node}\0${incarnation}` };
    return this.#lastRun.key;
  }

  // The NATS client writes what was published once the current task's microtasks
  // have run, which is after each MQTT read. Publishing at the end of the turn
  // instead (setImmediate runs after every socket read of the turn) makes it one
  // write for the whole turn; and consecutive messages on one subject go as one
  // bundle, so NATS parses, routes and hands over one message for up to 16 of
  // them. The order of the turn is kept, across subjects too.
  readonly #flush = (): void => {
    if (this.#outbox.length > 0) this.#outbox.drain(this.#send);
    if (this.#afterFlush.length > 0) for (const then of this.#afterFlush.splice(0)) then();
    const confirmed = this.#turnConfirmed;
    const reply = this.#reply, durable = this.#durableSent;
    this.#reply = undefined;
    this.#durableSent = 0;
    if (confirmed === undefined) return;
    this.#turnConfirmed = undefined;
    // The stream answers each durable NATS message of the turn once its replicas have it.
    if (reply !== undefined && durable > 0) return this.#link.streamAcks!.await(reply, durable, confirmed, CONFIRM_WAIT_MS);
    // A PING after the turn's messages: its PONG says the server processed them. Lost with the connection
    // (rejected then), or not answered in time: the PUBLISHes are not acknowledged and their clients send them again.
    const timer = setTimeout(() => confirmed.reject(new Error("the NATS server did not confirm in time")), CONFIRM_WAIT_MS);
    this.#link.nc.flush().then(confirmed.resolve, confirmed.reject).finally(() => clearTimeout(timer));
  };

  readonly #send = (subject: string, data: Uint8Array, count: number, topic: string): void => {
    const nc = this.#link.nc;
    const counters = this.#link.counters;
    try {
      if (nc.isClosed()) throw new Error("the NATS connection is closed");
      const acks = this.#link.streamAcks;
      if (acks !== undefined && subject.startsWith(this.#subjects.durablePrefix)) {
        // The stream keeps it and answers on the turn's reply subject; the other nodes receive it as any message.
        nc.publish(subject, data, { reply: (this.#reply ??= acks.nextTurn()) });
        this.#durableSent++;
      } else nc.publish(subject, data);
      counters.sent += count;
    } catch (e) {
      // Past the NATS server's max_payload, or NATS gone or draining: it stays on this node (its local subscribers have it).
      counters.notSent += count;
      if (!this.#warnedUnsent) this.#link.report("warn", `cluster: a message on "${topic.slice(0, 80)}" was not sent to the other nodes (${(e as Error).message}); said once`);
      this.#warnedUnsent = true;
    }
  };

  readonly #commits: Promise<unknown>[] = [];
  // The origin of the message being received, filled in for each (see eachMessage).
  readonly #header: Header = { node: "", incarnation: 0, sequence: 0, sharesServed: false };
  readonly #receive = (err: Error | null, msg: Msg): void => {
    if (err !== null || this.#closed) return;
    const link = this.#link;
    try {
      eachMessage(msg.data, subjectToTopic(this.#prefix, msg.subject), link.now(), this.#header, this.#deliver);
    } catch (e) {
      if (link.counters.malformed++ === 0) link.report("warn", `cluster: a message on ${msg.subject} is not an edgemq message (${(e as Error).message}); ignored`);
    }
  };

  // One message from another node, to the local non-shared matches.
  readonly #deliver = (message: Message): void => {
    const link = this.#link;
    const origin = this.#header;
    // The connection does not echo, but a second connection with this node's id must not either.
    if (origin.node === link.nodeId) return;
    const run = this.#run(origin.node, origin.incarnation);
    if ((this.#seen.get(run) ?? 0) >= origin.sequence) return; // a second matching subscription's copy
    this.#seen.set(run, origin.sequence);
    if (this.#catchUps.size > 0) this.#receivedLive(origin.node, origin.incarnation, origin.sequence);
    if (message.qos === 2) message.origin = originKey(origin.node, origin.incarnation, origin.sequence);
    link.counters.received++;
    // One list for every message received: most deliveries write nothing to a store.
    const commits = this.#commits;
    this.#local.route(message, commits, "non-shared");
    // Nobody waits for these writes (the publisher was answered by its own node); the store reports its failures.
    if (commits.length > 0) Promise.all(commits.splice(0)).catch(() => {});
  };
}

// How long checkpoints' notes are kept: a connected session whose oldest unacknowledged message is older is read back from its time.
const NOTES_KEPT_MS = 60_000;
// How long a turn's QoS 1 and 2 messages wait for the NATS server to confirm them.
const CONFIRM_WAIT_MS = 5000;
