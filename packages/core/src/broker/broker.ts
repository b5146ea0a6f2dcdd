import type { Will } from "../codec/packets/connect.ts";
import { ReasonCode } from "../codec/reason-codes.ts";
import type { PublishProperties } from "../codec/packets/publish.ts";
import { Connection } from "../connection/connection.ts";
import type { ClientInfo } from "../model/client.ts";
import { forwardableProperties, type Message } from "../model/message.ts";
import type { SubscriptionEntry } from "../model/subscription.ts";
import { type BrokerStats, newStats } from "../model/stats.ts";
import { HookChain } from "../policy/chain.ts";
import { type FeaturePolicy, FULL_FEATURES } from "../policy/features.ts";
import type { Hook } from "../policy/hook.ts";
import { checkTopicLimits, DEFAULT_LIMITS, type Limits } from "../policy/limits.ts";
import { type MemoryBudget, unlimitedBudget } from "../policy/memory-budget.ts";
import { type HookStats, type OnPublishOptions, PublishHookPipeline } from "../policy/publish-hook.ts";
import { MemoryStore } from "../store/memory-store.ts";
import type { Store, StoredState } from "../store/store.ts";
import type { Duplex } from "../transport/duplex.ts";
import { BrokerHost } from "./connection-host.ts";
import { type BrokerContext, retainedFits } from "./context.ts";
import { Delivery } from "./delivery.ts";
import { Inbound } from "./inbound.ts";
import { type ClientSnapshot, clientSnapshots, type RetainedSnapshot, retainedSnapshots, type SessionSnapshot, sessionSnapshots, subscriptionSnapshots } from "./inspection.ts";
import { LocalFanOut } from "./local-fan-out.ts";
import { type SessionOwnership, SingleNodeOwnership } from "./ownership.ts";
import { RecordingStore } from "../store/recording-store.ts";
import { Publisher } from "./publisher.ts";
import { RetainedStore } from "./retained.ts";
import { type RestoreReport, restoreState } from "./restore.ts";
import { type Routing, type RoutingFactory, SingleNodeRouting } from "./routing.ts";
import type { BrokerConnection, Session } from "./session.ts";
import { SessionRegistry } from "./session-registry.ts";
import { Subscriptions } from "./subscriptions.ts";
import { publishSys } from "./sys.ts";
import { TopicTree } from "./topic-tree.ts";
import { LocalWillKeeper, type WillKeeper } from "./will-keeper.ts";
import { publishWill } from "./wills.ts";

/** How to build a broker. */
export interface BrokerOptions {
  /** A name for logs and $SYS. */
  name?: string;
  /**
   * The clock, in ms since the epoch; the adapter passes Date.now, tests a fake.
   * Without one, the broker's time is the last time given to {@link Broker.tick}.
   */
  now?: () => number;
  store?: Store;
  features?: Partial<FeaturePolicy>;
  limits?: Partial<Limits>;
  hooks?: Hook[];
  /** Accept clients when no hook authenticates them. Defaults to true. */
  allowAnonymous?: boolean;
  /** Version string for $SYS/broker/version. */
  version?: string;
  /**
   * An on-publish hook: every client PUBLISH goes through it before it is
   * routed, in batches; its reply decides what is delivered (see {@link OnPublishOptions}).
   */
  onPublish?: OnPublishOptions;
  /**
   * What the store held at start ({@link Store.loadState}), restored at the
   * end of the constructor (after `hooks`, which due wills pass through);
   * or call {@link Broker.restore} once hooks added with `use` are in place.
   */
  restore?: StoredState;
  /** How accepted messages reach sessions, here and elsewhere; by default only this process's ({@link SingleNodeRouting}). */
  routing?: RoutingFactory;
  /** Who holds each session; by default this broker always does ({@link SingleNodeOwnership}). */
  ownership?: SessionOwnership;
  /** Who else keeps this broker's wills; by default nobody ({@link LocalWillKeeper}). */
  wills?: WillKeeper;
  /**
   * The process-wide budget for bytes held in partial packets and queues,
   * shared by every broker of a server; by default one without a limit.
   */
  memoryBudget?: MemoryBudget;
}

/**
 * An MQTT broker: sessions, the subscription tree, retained messages, wills
 * and $SYS, over connections handed in by an adapter through {@link accept}.
 * It keeps no timers: the adapter calls {@link tick} about once a second.
 * This class is the embedding API; each job lives in a part of its own.
 */
export class Broker implements BrokerContext {
  readonly name: string;
  readonly now: () => number;
  readonly store: Store;
  readonly features: FeaturePolicy;
  readonly limits: Limits;
  readonly hooks: HookChain = new HookChain();
  readonly stats: BrokerStats = newStats();
  readonly retained: RetainedStore = new RetainedStore();
  readonly startedAt: number;
  readonly memoryBudget: MemoryBudget;
  allowAnonymous: boolean;
  /** The on-publish hook in use, if any; {@link setOnPublish} changes it. */
  publishHook: PublishHookPipeline | undefined;

  readonly #version: string;
  #hookStats: HookStats | undefined;
  readonly #tree = new TopicTree();
  readonly #registry: SessionRegistry;
  readonly #publisher: Publisher;
  readonly #subscriptions: Subscriptions;
  readonly #host: BrokerHost;
  readonly #routing: Routing;
  // Wills are published as a PUBLISH by their client; one function for sessions and restore alike.
  readonly #publishWill = (will: Will, client: ClientInfo): void => publishWill(this, this.#publisher, will, client);
  #nextSys = 0;
  #lastTick = 0;
  #closed = false;

  constructor(options: BrokerOptions = {}) {
    this.name = options.name ?? "default";
    this.now = options.now ?? (() => this.#lastTick);
    const ownership: SessionOwnership = options.ownership ?? new SingleNodeOwnership();
    const store = options.store ?? new MemoryStore();
    // A cluster's ownership keeps each lasting session's record too, for another node to resume it from.
    this.store = ownership.recordSession === undefined ? store : new RecordingStore(store, (record) => ownership.recordSession!(record));
    this.features = { ...FULL_FEATURES, ...options.features };
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.allowAnonymous = options.allowAnonymous ?? true;
    this.memoryBudget = options.memoryBudget ?? unlimitedBudget();
    this.#version = options.version ?? "edgemq";
    // The parts, each given only what it needs; none imports this facade.
    const sessions = new Map<string, Session>();
    const delivery = new Delivery(this);
    const local = new LocalFanOut(this, this.#tree, sessions, delivery);
    this.#routing = (options.routing ?? ((l) => new SingleNodeRouting(l)))(local);
    this.#publisher = new Publisher(this, this.#routing);
    this.#subscriptions = new Subscriptions(this, this.#tree, this.#routing, delivery);
    this.#registry = new SessionRegistry(this, sessions, this.#subscriptions, delivery, ownership, this.#publishWill, options.wills ?? new LocalWillKeeper(), (id, m, c, sent) => local.routeTo(id, m, c, sent));
    this.#host = new BrokerHost(this, { registry: this.#registry, inbound: new Inbound(this, this.#publisher), subscriptions: this.#subscriptions, delivery });
    for (const hook of options.hooks ?? []) this.hooks.use(hook);
    this.setOnPublish(options.onPublish);
    this.startedAt = this.now();
    if (options.restore !== undefined) this.restore(options.restore);
  }

  /**
   * Brings back what a store held when the broker (or the process) stopped:
   * sessions offline with their subscriptions (shared ones, identifiers and
   * every option), their queued and in-flight messages in order, inbound
   * QoS 2 ids, pending wills, and retained messages. Times are absolute, so
   * the downtime counts: a session whose expiry passed is deleted, a will
   * whose delay passed (or whose session ended) is published now, expired
   * messages are dropped. Sessions that were connected when the process
   * stopped count from `state.downSince` (when it was last known alive).
   * Call once, before any client connects.
   */
  restore(state: StoredState, now: number = this.now()): RestoreReport {
    if (this.#registry.sessions.size > 0 || this.#registry.connections.size > 0) throw new Error("restore() must come before any client connects");
    return restoreState({ ctx: this, registry: this.#registry, subscriptions: this.#subscriptions, publishWill: this.#publishWill }, state, now);
  }

  /**
   * Sets, replaces or (with undefined) removes the on-publish hook. Messages
   * already waiting for the old one still get its verdict; its counts carry over.
   */
  setOnPublish(options: OnPublishOptions | undefined): void {
    // One set of counts across replacements, so that /metrics counters never go back.
    this.#hookStats = this.publishHook?.stats ?? this.#hookStats;
    this.publishHook = options === undefined ? undefined : new PublishHookPipeline(options, this.name, this.#hookStats);
  }

  /** Adds a hook at the end of the chain. */
  use(hook: Hook): this {
    this.hooks.use(hook);
    return this;
  }

  /** Takes a new connection from an adapter; the adapter pushes its reads into the result. */
  accept(duplex: Duplex): BrokerConnection {
    const conn: BrokerConnection = new Connection(this.#host, duplex, this.now());
    if (this.#closed) {
      duplex.close();
      return conn;
    }
    this.#registry.connections.add(conn);
    return conn;
  }

  /**
   * Disconnects every connected client `match` picks (a revoked credential, a
   * deleted broker), with a reason code; returns how many it disconnected.
   */
  disconnectClients(match: (client: ClientInfo) => boolean, reasonCode: number, reason?: string): number {
    let n = 0;
    for (const conn of [...this.#registry.connections]) {
      if (conn.state === "connected" && match(conn.client)) {
        conn.disconnect(reasonCode, reason);
        n++;
      }
    }
    return n;
  }

  /**
   * Changes limits while clients are connected. Each limit is read where it
   * applies, so rates, topic and client id checks, subscription and retained
   * quotas, queue caps and the connection quota apply at once; what CONNACK
   * told a client (Maximum Packet Size, Receive Maximum, Topic Alias Maximum,
   * Server Keep Alive, Session Expiry) holds until it reconnects.
   */
  setLimits(limits: Partial<Limits>): void {
    Object.assign(this.limits, limits);
  }

  /** Changes the feature policy; like CONNACK's values, what it advertised holds for connected clients until they reconnect, the rest applies to the next packet. */
  setFeatures(features: Partial<FeaturePolicy>): void {
    Object.assign(this.features, features);
  }

  /** Whether a client may connect under the connection quota (a takeover of a connected client id always may). */
  mayConnect(clientId: string): boolean {
    return this.#registry.mayConnect(clientId);
  }

  /** The number of open sockets, connected or not. */
  get connectionCount(): number {
    return this.#registry.connections.size;
  }

  /** The number of sessions, connected or not. */
  get sessionCount(): number {
    return this.#registry.sessions.size;
  }

  /** The clients' retained messages: the broker's own $SYS values are not theirs, so not counted. */
  get retainedCount(): number {
    return this.retained.size - this.#publisher.sys.count;
  }

  /** The number of subscriptions across all sessions. */
  get subscriptionCount(): number {
    return this.#tree.size;
  }

  /** A session by client id. */
  session(clientId: string): Session | undefined {
    return this.#registry.sessions.get(clientId);
  }

  /** The connected clients (one, or none, when `clientId` is given), as copies. */
  clients(clientId?: string): ClientSnapshot[] {
    return clientSnapshots(this.#registry, clientId);
  }

  /** Every session, connected or not (one, or none, when `clientId` is given), as copies. */
  sessions(clientId?: string): SessionSnapshot[] {
    return sessionSnapshots(this.#registry, clientId);
  }

  /** Every subscription of every session (or of one client), as copies. */
  subscriptions(clientId?: string): SubscriptionEntry[] {
    return subscriptionSnapshots(this.#registry, clientId);
  }

  /**
   * Disconnects one connected client, as an administrator does: DISCONNECT
   * with `reasonCode` to a 5.0 client (0x98 Administrative action is the
   * usual one), then close. Its will is published as for any disconnection
   * by the server. With `discardSession` its session ends too (subscriptions,
   * queued messages, stored state); otherwise the session stays for its
   * expiry interval. Returns false when the client is not connected.
   */
  disconnectClient(clientId: string, reasonCode: number, options: { reason?: string; discardSession?: boolean } = {}): boolean {
    return this.#registry.disconnectClient(clientId, reasonCode, options);
  }

  /**
   * Ends a session now, as an administrator does, connected or not. A
   * connected client is disconnected with `reasonCode` first; an offline
   * session's pending will is published, since the session ends [MQTT-3.1.3-9].
   * Returns false when the broker has no session for `clientId`.
   */
  endSession(clientId: string, reasonCode: number, reason?: string): boolean {
    return this.#registry.endSession(clientId, reasonCode, reason);
  }

  /**
   * The retained messages whose topics match `filter` (a topic filter
   * without `$share/`, `#` by default; `$` topics only by a filter that
   * names them [MQTT-4.7.2-1]), leaving out those whose expiry has passed.
   */
  retainedMessages(filter = "#", now: number = this.now()): RetainedSnapshot[] {
    return retainedSnapshots(this.retained, filter, now);
  }

  /**
   * Deletes the retained messages whose topics match `filter` (an exact
   * topic or a topic filter without `$share/`), in memory and in the store,
   * as a retained PUBLISH with an empty payload would [MQTT-3.3.1-6], but
   * without delivering anything to subscribers. `committed` resolves once
   * the store has them deleted.
   */
  clearRetained(filter: string): { cleared: number; committed: Promise<unknown> | undefined } {
    const now = this.now();
    const commits: Promise<unknown>[] = [];
    const matches = this.retained.match(filter);
    for (const m of matches) {
      const empty: Message = {
        topic: m.topic, payload: new Uint8Array(0), qos: 0, retain: true, properties: undefined,
        expiresAt: undefined, senderId: "", receivedAt: now,
      };
      this.retained.set(empty);
      const c = this.store.saveRetained(empty);
      if (c) commits.push(c);
      const everywhere = this.#routing.retained?.(empty); // cleared on every node of a cluster (issue 12)
      if (everywhere) commits.push(everywhere);
    }
    return { cleared: matches.length, committed: commits.length === 0 ? undefined : Promise.all(commits) };
  }

  /** The error for a topic that breaks a limit, or undefined. */
  checkTopic(topic: string): string | undefined {
    return checkTopicLimits(topic, this.limits);
  }

  /** The properties of an incoming PUBLISH that travel with the message. */
  forwardableProperties(props: PublishProperties | undefined): PublishProperties | undefined {
    return forwardableProperties(props, this.features.forwardUserProperties);
  }

  /**
   * Whether a retained message fits the retained count and bytes quotas
   * (replacing one on its topic frees that one's room). The broker's own
   * $SYS messages are not counted: they are not the clients' to spend.
   */
  retainedFits(message: Pick<Message, "topic" | "payload">): boolean {
    return retainedFits(this, this.#publisher.sys, message);
  }

  /**
   * Publishes a message to its subscribers (and the retained store if it has
   * RETAIN). Used for wills, $SYS and embedders; resolves `committed` once the
   * store holds what the message changed.
   */
  publish(message: Message): { matched: number; committed: Promise<unknown> | undefined } {
    const out = { matched: 0, committed: undefined as Promise<unknown> | undefined };
    out.matched = this.#publisher.publish(message, undefined, out);
    return out;
  }

  /** Runs everything time-driven: keep alive, connect timeouts, wills, session expiry, $SYS. */
  tick(now: number = this.now()): void {
    this.#lastTick = now;
    for (const conn of this.#registry.connections) conn.tick(now);
    this.#registry.expire(now);
    if (now >= this.#nextSys) {
      // Expired retained messages are swept even with $SYS off, and before $SYS counts them [MQTT-3.3.2-5]
      this.retained.expire(now);
      this.#nextSys = now + (this.limits.sysInterval > 0 ? this.limits.sysInterval : 10) * 1000;
      if (this.limits.sysInterval > 0) {
        publishSys(this, this.#publisher, { version: this.#version, startedAt: this.startedAt, sessions: this.#registry.sessions.size, subscriptions: this.#tree.size }, now);
      }
    }
  }

  /** Stops the broker: DISCONNECT 0x8B (Server shutting down) to 5.0 clients, close all, flush the store. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const conn of [...this.#registry.connections]) {
      conn.disconnect(ReasonCode.ServerShuttingDown, "the server is shutting down");
      // Detached now, not whenever the adapter reports the close: what that changes
      // (the session's disconnect time, its will) reaches the store before it closes.
      conn.end();
    }
    this.#registry.releaseQueues();
    await this.#routing.close?.();
    await this.store.close();
  }
}
