import type { QoS } from "../codec/constants.ts";
import type { ConnectPacket, Will } from "../codec/packets/connect.ts";
import type { PublishProperties } from "../codec/packets/publish.ts";
import type { SubscribePacket } from "../codec/packets/subscribe.ts";
import { encodePacket } from "../codec/packet.ts";
import { ReasonCode } from "../codec/reason-codes.ts";
import { isWellFormedUtf8 } from "../codec/utf8.ts";
import { type FeaturePolicy, FULL_FEATURES } from "../policy/features.ts";
import { HookChain } from "../policy/chain.ts";
import type { AuthResult, ClientInfo, Hook } from "../policy/hook.ts";
import { MemoryStore } from "../store/memory-store.ts";
import type { OutgoingRecord, SessionRecord, Store, StoredState } from "../store/store.ts";
import { Connection } from "../session/connection.ts";
import type { ConnInfo, Duplex } from "../transport/duplex.ts";
import { DEFAULT_LIMITS, type Limits } from "./limits.ts";
import type { Message } from "./message.ts";
import { RetainedStore } from "./retained.ts";
import { NEVER_EXPIRES, Session } from "./session.ts";
import { type BrokerStats, newStats } from "./stats.ts";
import { type HookStats, type OnPublishOptions, PublishHookPipeline } from "./publish-hook.ts";
import { parseSharedFilter, type SubscriptionEntry, TopicTree } from "./topic-tree.ts";

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
}

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

/** What SUBSCRIBE produced: the SUBACK codes, the commit to wait for, and the retained messages to send after. */
export interface SubscribeOutcome {
  reasonCodes: number[];
  committed: Promise<unknown> | undefined;
  afterAck: () => void;
}

/** A connected client as {@link Broker.clients} lists it: a copy, taken when asked. */
export interface ClientSnapshot {
  clientId: string;
  username: string | undefined;
  /** 3 (MQTT 3.1), 4 (3.1.1) or 5 (5.0). */
  protocolVersion: 3 | 4 | 5;
  /** How and from where it connected. */
  conn: ConnInfo;
  /** When its CONNECT was accepted (ms since the epoch). */
  connectedAt: number;
  /** The keep alive the server enforces (seconds; 0 for none). */
  keepAlive: number;
  /** Clean Start (5.0) or Clean Session (3.x) of its CONNECT. */
  cleanStart: boolean;
  /** Seconds its session outlives the connection; 0xFFFFFFFF never expires. */
  sessionExpiryInterval: number;
  /** What authentication attached (a credential's jti, its access rules); not to be changed. */
  attributes: Readonly<Record<string, unknown>>;
  /** When its credential expires (ms), if it has one that does. */
  credentialExpiresAt: number | undefined;
  subscriptions: number;
  /** QoS 1 and 2 messages sent and not yet acknowledged. */
  inflight: number;
  /** Messages waiting for room in its receive window. */
  queued: number;
  queuedBytes: number;
}

/** A session, connected or not, as {@link Broker.sessions} lists it. */
export interface SessionSnapshot {
  clientId: string;
  connected: boolean;
  /** Seconds the session outlives its connection; 0xFFFFFFFF never expires. */
  expiryInterval: number;
  /** When an offline session ends (ms), unless it never expires; undefined while connected. */
  expiresAt: number | undefined;
  subscriptions: number;
  inflight: number;
  queued: number;
  queuedBytes: number;
  /** Whether a will waits for its delay to pass. */
  willPending: boolean;
}

/** A retained message as {@link Broker.retainedMessages} lists it. */
export interface RetainedSnapshot {
  topic: string;
  /** A copy of the payload. */
  payload: Uint8Array;
  qos: QoS;
  properties: PublishProperties | undefined;
  /** When the broker received it (ms). */
  storedAt: number;
  /** When its Message Expiry Interval runs out (ms), if it has one. */
  expiresAt: number | undefined;
}

// One subscriber's merged delivery of one message.
interface Target {
  session: Session;
  qos: QoS;
  retainAsPublished: boolean;
  ids: number[] | undefined;
}

/**
 * An MQTT broker: sessions, the subscription tree, retained messages, wills
 * and $SYS, over connections handed in by an adapter through {@link accept}.
 * It keeps no timers: the adapter calls {@link tick} about once a second.
 */
export class Broker {
  readonly name: string;
  readonly now: () => number;
  readonly store: Store;
  readonly features: FeaturePolicy;
  readonly limits: Limits;
  readonly hooks = new HookChain();
  readonly stats: BrokerStats = newStats();
  readonly retained = new RetainedStore();
  readonly startedAt: number;
  allowAnonymous: boolean;
  /** The on-publish hook in use, if any; {@link setOnPublish} changes it. */
  publishHook: PublishHookPipeline | undefined;

  readonly #version: string;
  #hookStats: HookStats | undefined;
  readonly #tree = new TopicTree();
  // The $SYS messages held in the retained store, left out of the retained quotas.
  #sysRetainedCount = 0;
  #sysRetainedBytes = 0;
  readonly #sessions = new Map<string, Session>();
  readonly #connections = new Set<Connection>();
  // Sessions without a connection, scanned by tick() for wills and expiry.
  readonly #offline = new Set<Session>();
  readonly #roundRobin = new WeakMap<Map<string, SubscriptionEntry>, number>();
  // When each connection's CONNECT was accepted and with which Clean Start, for clients().
  readonly #connectedAt = new WeakMap<Connection, { at: number; cleanStart: boolean }>();
  #nextSys = 0;
  #publishingSys = false;
  #lastTick = 0;
  #closed = false;

  // Reused by #route() so that matching a topic allocates as little as possible.
  #generation = 0;
  #matched: Session[] = [];
  #shared: Target[] = [];
  #routing: Message | undefined;
  // The store commits the last publish is waiting for (see takeCommit()).
  #commits: Promise<unknown>[] = [];
  #commit: Promise<unknown> | undefined;
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
  readonly #visitGroup = (_group: string, members: Map<string, SubscriptionEntry>): void => {
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
    });
  };
  // A record reused for QoS 0 sends, which need no identity of their own.
  readonly #scratch: OutgoingRecord = { message: undefined as unknown as Message, qos: 0, retain: false, subscriptionIdentifiers: undefined, packetId: 0, state: "publish" };

  constructor(options: BrokerOptions = {}) {
    this.name = options.name ?? "default";
    this.now = options.now ?? (() => this.#lastTick);
    this.store = options.store ?? new MemoryStore();
    this.features = { ...FULL_FEATURES, ...options.features };
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.allowAnonymous = options.allowAnonymous ?? true;
    this.#version = options.version ?? "edgemq";
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
    if (this.#sessions.size > 0 || this.#connections.size > 0) throw new Error("restore() must come before any client connects");
    const report: RestoreReport = {
      sessions: 0, expiredSessions: 0, subscriptions: 0, inflight: 0, queued: 0, expiredMessages: 0, inboundQos2: 0, retained: 0, expiredRetained: 0, willsPublished: 0,
    };
    const downSince = Math.min(state.downSince ?? now, now);
    // Retained messages first: a will published below may replace one.
    for (const m of state.retained) {
      if (m.expiresAt !== undefined && m.expiresAt <= now) { // [MQTT-3.3.2-5]
        this.store.saveRetained({ ...m, payload: new Uint8Array(0) });
        report.expiredRetained++;
        continue;
      }
      this.retained.set(m);
      report.retained++;
    }
    const due: { will: Will; client: ClientInfo }[] = [];
    const known = new Set<string>();
    for (const rec of state.sessions) {
      known.add(rec.clientId);
      // A session that was connected when the process stopped lost its connection then.
      const disconnectedAt = rec.disconnectedAt ?? downSince;
      const expiresAt = rec.expiryInterval === NEVER_EXPIRES ? undefined : disconnectedAt + rec.expiryInterval * 1000;
      const client = rec.client ?? this.#anonymousClient(rec.clientId);
      const will = rec.will;
      // A connection that ended without DISCONNECT leaves its will, after its delay but never
      // past the session's end [MQTT-3.1.3-9]
      const willAt = will === undefined ? undefined : rec.willAt ?? disconnectedAt + Math.min(will.properties?.willDelayInterval ?? 0, rec.expiryInterval) * 1000;
      if (rec.expiryInterval === 0 || (expiresAt !== undefined && expiresAt <= now)) {
        // Its expiry passed while the broker was down: it ends, and its will goes now [MQTT-3.1.3-9]
        if (will !== undefined) due.push({ will, client });
        this.store.deleteSession(rec.clientId);
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
        this.#tree.add(entry);
        session.subscriptions.set(entry.topicFilter, entry);
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
      this.#sessions.set(rec.clientId, session);
      this.#offline.add(session);
      report.sessions++;
      if (resave) this.store.saveSession(this.#record(session));
    }
    for (const [clientId, records] of state.outgoing) {
      const session = this.#sessions.get(clientId);
      if (session === undefined) {
        // An expired session's rows went with deleteSession; rows of no session at all go now.
        if (!known.has(clientId)) for (const r of records) this.store.deleteOutgoing(clientId, r);
        continue;
      }
      for (const r of records) {
        if (r.packetId !== 0) {
          if (session.inflight.has(r.packetId)) {
            this.store.deleteOutgoing(clientId, r); // two records cannot share an id; the first sent stays
            continue;
          }
          // Resent with DUP on reconnect, in this order [MQTT-4.4.0-1]; expiry no longer stops them [MQTT-4.3.3-7]
          session.inflight.set(r.packetId, r);
          report.inflight++;
        } else if (r.message.expiresAt !== undefined && r.message.expiresAt <= now) {
          this.store.deleteOutgoing(clientId, r); // its lifetime ran out while it waited [MQTT-3.3.2-5]
          this.stats.messagesDropped++;
          report.expiredMessages++;
        } else {
          session.queue.push(r);
          session.queuedBytes += r.message.payload.byteLength;
          report.queued++;
        }
      }
    }
    for (const [clientId, ids] of state.inboundQos2) {
      const session = this.#sessions.get(clientId);
      for (const id of ids) {
        if (session !== undefined) {
          session.inboundQos2.add(id); // a resent PUBLISH is acknowledged, not delivered again [MQTT-4.3.3-10]
          report.inboundQos2++;
        } else if (!known.has(clientId)) {
          this.store.deleteInboundQos2(clientId, id);
        }
      }
    }
    // Wills last, so that they reach the sessions restored above.
    for (const { will, client } of due) this.#publishWill(will, client);
    report.willsPublished = due.length;
    return report;
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
  accept(duplex: Duplex): Connection {
    const conn = new Connection(this, duplex, this.now());
    if (this.#closed) {
      duplex.close();
      return conn;
    }
    this.#connections.add(conn);
    return conn;
  }

  /**
   * Disconnects every connected client `match` picks (a revoked credential, a
   * deleted broker), with a reason code; returns how many it disconnected.
   */
  disconnectClients(match: (client: ClientInfo) => boolean, reasonCode: number, reason?: string): number {
    let n = 0;
    for (const conn of [...this.#connections]) {
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
    const max = this.limits.maximumConnections;
    return max === 0 || this.stats.connectionsCurrent < max || this.#sessions.get(clientId)?.connection !== undefined;
  }

  /** The number of open sockets, connected or not. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** The number of sessions, connected or not. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** The number of subscriptions across all sessions. */
  get subscriptionCount(): number {
    return this.#tree.size;
  }

  /** A session by client id. */
  session(clientId: string): Session | undefined {
    return this.#sessions.get(clientId);
  }

  // ------------------------------------------------------ inspection, admin

  /** The connected clients (one, or none, when `clientId` is given), as copies. */
  clients(clientId?: string): ClientSnapshot[] {
    if (clientId !== undefined) {
      const conn = this.#sessions.get(clientId)?.connection;
      return conn !== undefined && conn.state === "connected" ? [this.#clientSnapshot(conn)] : [];
    }
    const out: ClientSnapshot[] = [];
    for (const conn of this.#connections) {
      if (conn.state === "connected" && conn.session !== undefined) out.push(this.#clientSnapshot(conn));
    }
    return out;
  }

  #clientSnapshot(conn: Connection): ClientSnapshot {
    const session = conn.session!;
    const c = conn.client;
    const connect = this.#connectedAt.get(conn);
    return {
      clientId: c.clientId, username: c.username, protocolVersion: c.protocolVersion, conn: { ...c.conn },
      connectedAt: connect?.at ?? conn.openedAt, keepAlive: conn.keepAlive, cleanStart: connect?.cleanStart ?? true,
      sessionExpiryInterval: session.expiryInterval, attributes: c.attributes, credentialExpiresAt: conn.credentialExpiresAt,
      subscriptions: session.subscriptions.size, inflight: session.inflight.size, queued: session.queue.length, queuedBytes: session.queuedBytes,
    };
  }

  /** Every session, connected or not (one, or none, when `clientId` is given), as copies. */
  sessions(clientId?: string): SessionSnapshot[] {
    const out: SessionSnapshot[] = [];
    const add = (s: Session) => out.push({
      clientId: s.clientId, connected: s.connection !== undefined, expiryInterval: s.expiryInterval, expiresAt: s.expiresAt,
      subscriptions: s.subscriptions.size, inflight: s.inflight.size, queued: s.queue.length, queuedBytes: s.queuedBytes,
      willPending: s.pendingWill !== undefined,
    });
    if (clientId !== undefined) {
      const s = this.#sessions.get(clientId);
      if (s !== undefined) add(s);
    } else {
      for (const s of this.#sessions.values()) add(s);
    }
    return out;
  }

  /** Every subscription of every session (or of one client), as copies. */
  subscriptions(clientId?: string): SubscriptionEntry[] {
    const out: SubscriptionEntry[] = [];
    const sessions = clientId === undefined ? this.#sessions.values() : [this.#sessions.get(clientId)];
    for (const s of sessions) {
      if (s !== undefined) for (const e of s.subscriptions.values()) out.push({ ...e });
    }
    return out;
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
    const conn = this.#sessions.get(clientId)?.connection;
    if (conn === undefined || conn.state !== "connected") return false;
    if (options.discardSession) conn.session!.expiryInterval = 0; // the session now ends with the connection
    conn.disconnect(reasonCode, options.reason);
    conn.end(); // detached now, as a taken-over connection is, not whenever the adapter reports the close
    return true;
  }

  /**
   * Ends a session now, as an administrator does, connected or not. A
   * connected client is disconnected with `reasonCode` first; an offline
   * session's pending will is published, since the session ends [MQTT-3.1.3-9].
   * Returns false when the broker has no session for `clientId`.
   */
  endSession(clientId: string, reasonCode: number, reason?: string): boolean {
    const session = this.#sessions.get(clientId);
    if (session === undefined) return false;
    if (session.connection !== undefined) {
      if (this.disconnectClient(clientId, reasonCode, { reason, discardSession: true })) return true;
      return false; // still connecting: its CONNECT decides what becomes of the session
    }
    const pending = session.pendingWill;
    session.pendingWill = undefined;
    if (pending !== undefined) this.#publishWill(pending.will, pending.client);
    void this.#discard(session);
    return true;
  }

  /**
   * The retained messages whose topics match `filter` (a topic filter
   * without `$share/`, `#` by default; `$` topics only by a filter that
   * names them [MQTT-4.7.2-1]), leaving out those whose expiry has passed.
   */
  retainedMessages(filter = "#", now: number = this.now()): RetainedSnapshot[] {
    const out: RetainedSnapshot[] = [];
    for (const m of this.retained.match(filter)) {
      if (m.expiresAt !== undefined && m.expiresAt <= now) continue;
      out.push({ topic: m.topic, payload: m.payload.slice(), qos: m.qos, properties: m.properties, storedAt: m.receivedAt, expiresAt: m.expiresAt });
    }
    return out;
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
    }
    return { cleared: matches.length, committed: commits.length === 0 ? undefined : Promise.all(commits) };
  }

  // -------------------------------------------------------------- connect

  /** Runs the authentication hooks for a CONNECT. */
  authenticate(conn: Connection, packet: ConnectPacket): AuthResult | Promise<AuthResult> {
    const fallback: AuthResult = this.allowAnonymous
      ? { allow: true }
      : { deny: packet.username === undefined ? ReasonCode.NotAuthorized : ReasonCode.BadUserNameOrPassword, reason: "no credentials were accepted" };
    if (!this.hooks.hasAuthenticators) return fallback;
    return this.hooks.authenticate({ packet, conn: conn.duplex.info }, fallback);
  }

  /**
   * Binds a connection to its session: takes over a live one [MQTT-3.1.4-3],
   * discards an old one on Clean Start [MQTT-3.1.2-4], or resumes it.
   */
  attach(conn: Connection, clientId: string, cleanStart: boolean, expiryInterval: number): { session: Session; sessionPresent: boolean; committed: Promise<unknown> | undefined } {
    let session = this.#sessions.get(clientId);
    const old = session?.connection;
    if (old !== undefined) {
      old.disconnect(ReasonCode.SessionTakenOver, "another connection took over the session"); // [MQTT-3.1.4-3]
      old.end();
      session = this.#sessions.get(clientId);
    }
    // The CONNACK waits for what changed the stored session (store writes commit in order,
    // so the last one covers the others): a confirmed session survives a crash.
    let committed: Promise<unknown> | void = undefined;
    if (session !== undefined) {
      // A new connection before the will delay passes cancels the will [MQTT-3.1.2-8]
      session.pendingWill = undefined;
      if (cleanStart) {
        committed = this.#discard(session); // [MQTT-3.1.2-4]
        session = undefined;
      }
    }
    const wasStored = session !== undefined && session.expiryInterval > 0;
    const sessionPresent = session !== undefined && conn.version > 3; // 3.1 has no session present flag
    if (session === undefined) {
      session = new Session(clientId);
      this.#sessions.set(clientId, session);
    }
    this.#offline.delete(session);
    session.connection = conn;
    session.client = conn.client;
    session.expiryInterval = expiryInterval;
    session.expiresAt = undefined;
    session.disconnectedAt = undefined;
    this.stats.connectionsCurrent++;
    this.stats.connectionsTotal++;
    this.#connectedAt.set(conn, { at: this.now(), cleanStart });
    // Saved with the connection's will, which a crash under it leaves to publish after a restart.
    if (expiryInterval > 0) committed = this.store.saveSession(this.#record(session)) || committed;
    else if (wasStored) committed = this.store.deleteSession(clientId) || committed; // now it ends with this connection
    return { session, sessionPresent, committed: committed || undefined };
  }

  /** After CONNACK: resend what was in flight, in order [MQTT-4.4.0-1], then the queue. */
  connected(conn: Connection): void {
    const session = conn.session!;
    this.hooks.connected(conn.client);
    // A resumed session may now be used by a client with other rights: what waits for it is checked again.
    if (this.hooks.checksDelivery && (session.queue.length > 0 || session.inflight.size > 0)) this.#recheck(session, conn.client);
    const now = this.now();
    const window = this.#window(conn);
    let outstanding = 0;
    for (const record of session.inflight.values()) {
      if (record.state === "pubrel") {
        conn.write(encodePacket({ type: "pubrel", packetId: record.packetId, reasonCode: 0 }, conn.version));
        outstanding++;
      } else if (outstanding >= window) {
        conn.resendBacklog.push(record); // the client's Receive Maximum holds the rest back [MQTT-4.9.0-2]
      } else if (!conn.sendPublish(record, true, now)) {
        session.inflight.delete(record.packetId); // too large: done with it
        this.stats.messagesDropped++;
        if (session.expiryInterval > 0) this.store.deleteOutgoing(session.clientId, record);
      } else {
        outstanding++;
      }
    }
    this.pump(conn);
  }

  /** Called once when a connection's socket ends. */
  detach(conn: Connection, wasConnected: boolean, will: Will | undefined, reasonCode: number): void {
    this.#connections.delete(conn);
    const session = conn.session;
    if (!wasConnected || session === undefined) return;
    this.stats.connectionsCurrent--;
    this.hooks.disconnected(conn.client, reasonCode);
    const now = this.now();
    if (session.connection === conn) {
      session.connection = undefined;
      if (session.expiryInterval === 0) {
        if (will) this.#publishWill(will, conn.client);
        this.#discard(session); // the session ends with the connection
        return;
      }
      session.disconnectedAt = now;
      if (session.expiryInterval !== NEVER_EXPIRES) session.expiresAt = now + session.expiryInterval * 1000;
      this.#offline.add(session);
    }
    if (will) {
      // The will waits for its delay, but never past the session's end [MQTT-3.1.3-9]
      const delay = Math.min(will.properties?.willDelayInterval ?? 0, session.expiryInterval);
      if (delay === 0) this.#publishWill(will, conn.client);
      else session.pendingWill = { will, publishAt: now + delay * 1000, client: conn.client };
    }
    // From now on its expiry counts from this moment, and a pending will waits in the store too.
    if (session.connection === undefined && this.#sessions.get(session.clientId) === session) this.store.saveSession(this.#record(session));
  }

  #discard(session: Session): Promise<unknown> | void {
    for (const filter of session.subscriptions.keys()) this.#tree.remove(session.clientId, filter);
    session.subscriptions.clear();
    this.#sessions.delete(session.clientId);
    this.#offline.delete(session);
    return this.store.deleteSession(session.clientId);
  }

  // Who an offline session's client was, when the store did not say.
  #anonymousClient(clientId: string): ClientInfo {
    return { clientId, username: undefined, protocolVersion: 5, conn: { remoteAddress: "", remotePort: 0, transport: "memory" }, attributes: {} };
  }

  #publishWill(will: Will, client: ClientInfo): void {
    const now = this.now();
    const props = will.properties;
    let properties: PublishProperties | undefined;
    if (props !== undefined) {
      const { willDelayInterval: _delay, ...rest } = props;
      properties = this.forwardableProperties(rest);
    }
    const message: Message = {
      topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, properties,
      expiresAt: props?.messageExpiryInterval !== undefined ? now + props.messageExpiryInterval * 1000 : undefined,
      senderId: client.clientId, receivedAt: now,
    };
    // A will is a publish by its client and passes the same checks and transforms.
    if (message.topic.startsWith("$SYS") || !this.hooks.authorizePublish(client, message).allowed) {
      this.stats.denied++;
      return;
    }
    const transformed = this.hooks.transformPublish(client, message);
    if (transformed === null) return;
    this.publish(transformed);
    this.hooks.published(client, transformed);
  }

  // -------------------------------------------------------------- publish

  /** The error for a topic that breaks a limit, or undefined. */
  checkTopic(topic: string): string | undefined {
    if (topic.length > this.limits.maximumTopicLength) return `topic longer than ${this.limits.maximumTopicLength}`;
    let levels = 1;
    for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 0x2f) levels++;
    if (levels > this.limits.maximumTopicLevels) return `topic deeper than ${this.limits.maximumTopicLevels} levels`;
    return undefined;
  }

  /** The properties of an incoming PUBLISH that travel with the message. */
  forwardableProperties(props: PublishProperties | undefined): PublishProperties | undefined {
    if (props === undefined) return undefined;
    const stripUser = props.userProperties !== undefined && !this.features.forwardUserProperties;
    if (props.topicAlias === undefined && props.messageExpiryInterval === undefined && !stripUser) return props;
    // The alias belongs to the inbound connection; the expiry is recomputed per delivery.
    const { topicAlias: _a, messageExpiryInterval: _e, ...rest } = props;
    if (stripUser) delete rest.userProperties;
    return Object.keys(rest).length > 0 ? rest : undefined;
  }

  /**
   * A client's PUBLISH: authorize, transform, route. Returns the reason code
   * for its acknowledgement; {@link takeCommit} then gives the store commit
   * the acknowledgement must wait for. For a QoS 2 PUBLISH, `qos2PacketId`
   * is its packet id: once the message is accepted, the id is held (and
   * stored, for a lasting session) until PUBREL, in the same commit as the
   * copies routed to subscribers, so a resend after a crash is recognised.
   */
  publishFromClient(conn: Connection, message: Message, qos2PacketId?: number): number {
    const refused = this.admitFromClient(conn, message);
    return refused !== 0 ? refused : this.acceptFromClient(conn, message, qos2PacketId);
  }

  /**
   * The checks a client's PUBLISH passes before anything else sees it ($SYS,
   * authorization, payload format): 0 if it passes, else the reason code.
   */
  admitFromClient(conn: Connection, message: Message): number {
    this.stats.messagesReceived++;
    this.#commit = undefined;
    const client = conn.client;
    // Clients may not publish to $SYS; only the broker does.
    if (message.topic.startsWith("$SYS")) {
      this.stats.denied++;
      return ReasonCode.NotAuthorized;
    }
    const verdict = this.hooks.authorizePublish(client, message);
    if (!verdict.allowed) {
      this.stats.denied++;
      return verdict.reasonCode;
    }
    if (message.properties?.payloadFormatIndicator === 1 && !isWellFormedUtf8(message.payload)) {
      return ReasonCode.PayloadFormatInvalid; // §3.3.2.3.2
    }
    return 0;
  }

  /**
   * Routes an admitted PUBLISH (after the on-publish hook's verdict, when
   * there is one): checks the retained quotas, holds a QoS 2 id, transforms,
   * routes. Returns the reason code for its acknowledgement; {@link takeCommit}
   * gives the commit it waits for.
   */
  acceptFromClient(conn: Connection, message: Message, qos2PacketId?: number): number {
    this.#commit = undefined;
    const client = conn.client;
    // Checked here, after the hook, which may have changed the payload's size.
    if (message.retain && message.payload.byteLength > 0 && !this.retainedFits(message)) {
      this.stats.quotaExceeded++;
      return ReasonCode.QuotaExceeded; // §3.4.2.1: 0x97, an administrative limit
    }
    // Accepted from here on: a QoS 2 id is known until PUBREL, so a resend is not routed twice [MQTT-4.3.3-8]
    let inbound: Promise<unknown> | void = undefined;
    if (qos2PacketId !== undefined) {
      const session = conn.session!;
      session.inboundQos2.add(qos2PacketId);
      if (session.expiryInterval > 0) inbound = this.store.saveInboundQos2(session.clientId, qos2PacketId);
    }
    const transformed = this.hooks.transformPublish(client, message);
    if (transformed === null) {
      this.#commit = inbound || undefined;
      return ReasonCode.Success;
    }
    if (inbound) this.#commits.push(inbound);
    const matched = this.#publish(transformed);
    this.hooks.published(client, transformed);
    return matched === 0 ? ReasonCode.NoMatchingSubscribers : ReasonCode.Success;
  }

  /**
   * Whether a retained message fits the retained count and bytes quotas
   * (replacing one on its topic frees that one's room). The broker's own
   * $SYS messages are not counted: they are not the clients' to spend.
   */
  retainedFits(message: Pick<Message, "topic" | "payload">): boolean {
    const maxCount = this.limits.maximumRetainedMessages;
    const maxBytes = this.limits.maximumRetainedBytes;
    const size = message.payload.byteLength;
    const count = this.retained.size - this.#sysRetainedCount;
    const bytes = this.retained.bytes - this.#sysRetainedBytes;
    if ((maxCount === 0 || count < maxCount) && (maxBytes === 0 || bytes + size <= maxBytes)) return true;
    const old = this.retained.get(message.topic);
    if (old === undefined) return false;
    return maxBytes === 0 || bytes - old.payload.byteLength + size <= maxBytes;
  }

  /** The store commit the last publish waits for, if any; taking it clears it. */
  takeCommit(): Promise<unknown> | undefined {
    const c = this.#commit;
    this.#commit = undefined;
    return c;
  }

  /**
   * Publishes a message to its subscribers (and the retained store if it has
   * RETAIN). Used for wills, $SYS and embedders; resolves `committed` once the
   * store holds what the message changed.
   */
  publish(message: Message): { matched: number; committed: Promise<unknown> | undefined } {
    const matched = this.#publish(message);
    return { matched, committed: this.takeCommit() };
  }

  #publish(message: Message): number {
    const commits = this.#commits;
    // A message whose lifetime is over by now (Message Expiry Interval 0) is delivered to
    // subscribers connected now, but not kept [MQTT-3.3.2-5].
    const outlived = message.expiresAt !== undefined && message.expiresAt <= message.receivedAt;
    // A will or an embedder's message past the retained quotas is delivered, not retained (a client's was refused before).
    const fits = !message.retain || this.#publishingSys || message.payload.byteLength === 0 || this.retainedFits(message);
    if (!fits) this.stats.quotaExceeded++;
    if (message.retain && fits && (!outlived || message.payload.byteLength === 0)) {
      // The retained copy owns its bytes, so it does not pin the socket's read buffer.
      const copy: Message = { ...ownCopy(message), forms: undefined };
      this.retained.set(copy); // [MQTT-3.3.1-5], an empty payload clears it [MQTT-3.3.1-6]
      // $SYS values are the running broker's own, republished every interval: not stored.
      const c = this.#publishingSys ? undefined : this.store.saveRetained(copy);
      if (c) commits.push(c);
    }
    const matched = this.#route(message, commits);
    this.#commit = commits.length === 0 ? undefined : commits.length === 1 ? commits[0] : Promise.all(commits);
    commits.length = 0;
    return matched;
  }

  #route(message: Message, commits: Promise<unknown>[]): number {
    const matched = this.#matched;
    const shared = this.#shared;
    this.#generation++;
    this.#routing = message;
    this.#tree.match(message.topic, this.#visit, this.#visitGroup);
    this.#routing = undefined;
    const count = matched.length + shared.length;
    if (count === 0) return 0;
    // Fan-out happens at the moment of receipt: measuring expiry from a clock read a
    // millisecond later would lose a message whose lifetime is 0 (MQTT-3.3.2-5 counts
    // from when the server received it).
    const now = message.receivedAt;
    const checkDelivery = this.hooks.checksDelivery;
    for (let i = 0; i < matched.length; i++) {
      const s = matched[i]!;
      this.#deliverTo(s, s.routeQos, s.routeRetainAsPublished, s.routeIds, message, now, checkDelivery, commits);
      s.routeIds = undefined;
    }
    for (const t of shared) this.#deliverTo(t.session, t.qos, t.retainAsPublished, t.ids, message, now, checkDelivery, commits);
    matched.length = 0;
    shared.length = 0;
    return count;
  }

  #deliverTo(session: Session, subQos: QoS, retainAsPublished: boolean, ids: number[] | undefined, message: Message, now: number, checkDelivery: boolean, commits: Promise<unknown>[]): void {
    if (checkDelivery && !this.hooks.authorizeDelivery(session.connection?.client ?? this.#offlineClient(session), message)) {
      this.stats.denied++;
      return;
    }
    // The delivered QoS is the lower of the message's and the subscription's [MQTT-3.8.4-8]
    const qos = (message.qos < subQos ? message.qos : subQos) as QoS;
    // RETAIN is kept only for Retain As Published subscriptions [MQTT-3.3.1-12], [MQTT-3.3.1-13]
    const c = this.deliver(session, message, qos, retainAsPublished && message.retain, ids, now);
    if (c) commits.push(c);
  }

  #offlineClient(session: Session): ClientInfo {
    // The last connection's identity, so offline deliveries are judged by the same rights.
    return session.client ?? this.#anonymousClient(session.clientId);
  }

  #recheck(session: Session, client: ClientInfo): void {
    const denied = (r: OutgoingRecord): boolean => {
      if (this.hooks.authorizeDelivery(client, r.message)) return false;
      this.stats.denied++;
      if (session.expiryInterval > 0) this.store.deleteOutgoing(session.clientId, r);
      return true;
    };
    // A message already known to the client (awaiting PUBCOMP) is finished, not withheld.
    for (const r of [...session.inflight.values()]) if (r.state === "publish" && denied(r)) session.inflight.delete(r.packetId);
    session.queue.retain((r) => {
      if (!denied(r)) return true;
      session.queuedBytes -= r.message.payload.byteLength;
      return false;
    });
  }


  /**
   * Delivers one message to one session at a QoS: sent now if the client is
   * connected and its receive window has room, queued otherwise.
   */
  deliver(session: Session, message: Message, qos: QoS, retain: boolean, ids: number[] | undefined, now: number): Promise<unknown> | void {
    const conn = session.connection;
    const live = conn !== undefined && conn.state === "connected";
    if (qos === 0) {
      if (live) {
        if (conn.backpressured) {
          // The socket is backed up: a slow subscriber loses QoS 0 rather than growing memory.
          this.stats.messagesDropped++;
          return;
        }
        if (session.queue.length === 0) {
          if (conn.outbox !== undefined) {
            // Behind PUBLISHes that wait for a commit: order is kept [MQTT-4.6.0-5]
            this.#sendAfter(conn, { message, qos, retain, subscriptionIdentifiers: ids, packetId: 0, state: "publish" }, false, undefined);
            return;
          }
          const r = this.#scratch;
          r.message = message; r.retain = retain; r.subscriptionIdentifiers = ids;
          if (!conn.sendPublish(r, false, now)) this.stats.messagesDropped++;
          r.message = undefined as unknown as Message;
          return;
        }
      } else if (!this.limits.queueQos0) {
        return; // QoS 0 is not kept for offline sessions unless configured
      }
    }
    const record: OutgoingRecord = { message, qos, retain, subscriptionIdentifiers: ids, packetId: 0, state: "publish" };
    if (live && !conn.backpressured && session.queue.length === 0 && qos > 0 && session.inflight.size < this.#window(conn)) {
      const id = session.allocatePacketId();
      record.packetId = id;
      session.inflight.set(id, record);
      return this.#sendNew(conn, session, record, now);
    }
    return this.#enqueue(session, record);
  }

  /**
   * Sends a record that was just given its packet id, saving it first for a
   * lasting session. A QoS 2 PUBLISH leaves only once its id is committed:
   * after a crash it is resent with that same id and DUP, which the client
   * recognises, never under a new id it would take for a new message.
   */
  #sendNew(conn: Connection, session: Session, record: OutgoingRecord, now: number): Promise<unknown> | void {
    const c = session.expiryInterval > 0 ? this.store.saveOutgoing(session.clientId, [record]) : undefined;
    if ((record.qos === 2 && c) || conn.outbox !== undefined) {
      this.#sendAfter(conn, record, false, record.qos === 2 ? c || undefined : undefined);
      return c;
    }
    if (!conn.sendPublish(record, false, now)) {
      // Too large for this client or expired: discarded as if delivered [MQTT-3.1.2-25]
      session.inflight.delete(record.packetId);
      this.stats.messagesDropped++;
      if (session.expiryInterval > 0) this.store.deleteOutgoing(session.clientId, record);
    }
    return c;
  }

  /**
   * Holds a PUBLISH in the connection's outbox until `gate` (a store commit)
   * resolves, or behind the ones already held; they leave in order. Store
   * writes commit in order, so the latest gate covers the earlier ones.
   */
  #sendAfter(conn: Connection, record: OutgoingRecord, dup: boolean, gate: Promise<unknown> | undefined): void {
    (conn.outbox ??= []).push({ record, dup });
    if (gate === undefined || gate === conn.outboxGate) return;
    conn.outboxGate = gate;
    gate.then(
      () => {
        if (conn.outboxGate === gate) this.#flushOutbox(conn);
      },
      () => conn.disconnect(ReasonCode.UnspecifiedError, "the store failed to commit"),
    );
  }

  #flushOutbox(conn: Connection): void {
    const box = conn.outbox;
    conn.outbox = undefined;
    conn.outboxGate = undefined;
    const session = conn.session;
    // A closed connection's held records stay in flight: the next connection resends them with DUP.
    if (box === undefined || session === undefined || conn.state !== "connected") return;
    const now = this.now();
    for (const { record, dup } of box) {
      if (record.qos > 0 && session.inflight.get(record.packetId) !== record) continue;
      if (!conn.sendPublish(record, dup, now)) {
        this.stats.messagesDropped++;
        if (record.qos > 0) {
          session.inflight.delete(record.packetId);
          if (session.expiryInterval > 0) this.store.deleteOutgoing(session.clientId, record);
        }
      }
    }
    this.pump(conn);
  }

  #window(conn: Connection): number {
    // Never more in flight than the client's Receive Maximum [MQTT-3.3.4-9]
    return Math.min(conn.sendWindow, this.limits.maximumInflight);
  }

  #enqueue(session: Session, record: OutgoingRecord): Promise<unknown> | void {
    const m = record.message;
    // A lifetime already over (Message Expiry Interval 0) is not kept for later [MQTT-3.3.2-5]
    if (m.expiresAt !== undefined && m.expiresAt <= m.receivedAt) {
      this.stats.messagesDropped++;
      return;
    }
    const size = m.payload.byteLength;
    if (session.queue.length >= this.limits.maximumQueuedMessages || session.queuedBytes + size > this.limits.maximumQueuedBytes) {
      this.stats.messagesDropped++; // a slow or absent client cannot grow memory without bound
      return;
    }
    // A queued message may wait long: it owns its bytes instead of pinning a read buffer.
    if (session.connection === undefined) record.message = ownCopy(record.message);
    session.queue.push(record);
    session.queuedBytes += size;
    return session.expiryInterval > 0 ? this.store.saveOutgoing(session.clientId, [record]) : undefined;
  }

  /** Sends queued messages while the client's window has room. */
  pump(conn: Connection): void {
    const session = conn.session;
    if (session === undefined || conn.state !== "connected") return;
    const window = this.#window(conn);
    const backlog = conn.resendBacklog;
    const stored = session.expiryInterval > 0;
    if (backlog.length > 0) {
      // Held-back resends go first, in their order, as acknowledgements make room [MQTT-4.6.0-1]
      const now = this.now();
      while (backlog.length > 0 && session.inflight.size - backlog.length < window && !conn.backpressured) {
        const record = backlog.shift()!;
        if (session.inflight.get(record.packetId) !== record) continue; // acknowledged meanwhile
        if (conn.outbox !== undefined) this.#sendAfter(conn, record, true, undefined);
        else if (!conn.sendPublish(record, true, now)) {
          session.inflight.delete(record.packetId);
          this.stats.messagesDropped++;
          if (stored) this.store.deleteOutgoing(session.clientId, record);
        }
      }
      if (backlog.length > 0) return;
    }
    const queue = session.queue;
    if (queue.length === 0) return;
    const now = this.now();
    for (let record = queue.peek(); record !== undefined; record = queue.peek()) {
      if (conn.backpressured) break; // resumed by drain()
      if (record.qos > 0) {
        if (session.inflight.size >= window) break;
        const id = session.allocatePacketId();
        if (id === 0) break;
        record.packetId = id;
        session.inflight.set(id, record);
      }
      queue.shift();
      session.queuedBytes -= record.message.payload.byteLength;
      if (record.qos > 0) {
        this.#sendNew(conn, session, record, now);
        continue;
      }
      // A queued QoS 0 message was stored for a lasting session; once sent it is done.
      if (stored) this.store.deleteOutgoing(session.clientId, record);
      if (conn.outbox !== undefined) this.#sendAfter(conn, record, false, undefined);
      else if (!conn.sendPublish(record, false, now)) this.stats.messagesDropped++;
    }
  }

  /**
   * A QoS 1 PUBACK or QoS 2 PUBCOMP (or failed PUBREC) ended an outgoing
   * message. The freed window is refilled once per chunk read, not once per
   * acknowledgement: the connection pumps after it has handled all of them.
   */
  completeOutgoing(conn: Connection, record: OutgoingRecord): void {
    const session = conn.session!;
    session.inflight.delete(record.packetId);
    if (session.expiryInterval > 0) this.store.deleteOutgoing(session.clientId, record);
    if (session.queue.length > 0 || conn.resendBacklog.length > 0) conn.pumpPending = true;
  }

  // ------------------------------------------------------------ subscribe

  /** Handles SUBSCRIBE; returns "disconnected" if the client used a disabled feature. */
  subscribe(conn: Connection, p: SubscribePacket): SubscribeOutcome | "disconnected" {
    const session = conn.session!;
    const f = this.features;
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
    const retainedToSend: { message: Message; qos: QoS; ids: number[] | undefined }[] = [];
    for (const s of p.subscriptions) {
      const { shareGroup, filter } = parseSharedFilter(s.topicFilter);
      if (this.checkTopic(filter) !== undefined) {
        reasonCodes.push(v5 ? ReasonCode.TopicFilterInvalid : 0x80);
        continue;
      }
      const entry: SubscriptionEntry = {
        clientId: session.clientId, topicFilter: s.topicFilter, filter, shareGroup,
        qos: conn.grant(s.qos), noLocal: s.noLocal, retainAsPublished: s.retainAsPublished,
        retainHandling: s.retainHandling, subscriptionIdentifier: id,
      };
      const verdict = this.hooks.authorizeSubscribe(conn.client, entry);
      if (!verdict.allowed) {
        this.stats.denied++;
        reasonCodes.push(v5 ? verdict.reasonCode : 0x80);
        continue;
      }
      const existed = session.subscriptions.has(s.topicFilter);
      if (!existed && session.subscriptions.size >= this.limits.maximumSubscriptionsPerClient) {
        this.stats.quotaExceeded++;
        reasonCodes.push(v5 ? ReasonCode.QuotaExceeded : 0x80); // §3.9.3: 0x97 Quota exceeded; 3.1.1 has only 0x80 Failure
        continue;
      }
      const perTopic = this.limits.maximumSubscribersPerTopic;
      if (!existed && perTopic > 0 && this.#tree.subscriberCount(filter, shareGroup) >= perTopic) {
        this.stats.quotaExceeded++;
        reasonCodes.push(v5 ? ReasonCode.QuotaExceeded : 0x80);
        continue;
      }
      this.#tree.add(entry); // replaces an existing one [MQTT-3.8.4-3]
      session.subscriptions.set(s.topicFilter, entry);
      reasonCodes.push(entry.qos); // the granted QoS [MQTT-3.8.4-6]
      // Retained messages: none for shared subscriptions; by Retain Handling otherwise.
      if (shareGroup === undefined && (s.retainHandling === 0 || (s.retainHandling === 1 && !existed))) { // [MQTT-3.3.1-9], [MQTT-3.3.1-10]
        for (const message of this.retained.match(filter)) {
          retainedToSend.push({ message, qos: (message.qos < entry.qos ? message.qos : entry.qos) as QoS, ids: id !== undefined ? [id] : undefined });
        }
      }
    }
    // A lasting session's subscriptions are committed before SUBACK.
    const committed = session.expiryInterval > 0 ? this.store.saveSession(this.#record(session)) : undefined;
    return {
      reasonCodes,
      committed: committed || undefined,
      afterAck: () => {
        const now = this.now();
        const checkDelivery = this.hooks.checksDelivery;
        for (const r of retainedToSend) {
          if (r.message.expiresAt !== undefined && r.message.expiresAt <= now) continue;
          if (checkDelivery && !this.hooks.authorizeDelivery(conn.client, r.message)) continue;
          // Sent because of a new subscription, so RETAIN is 1 [MQTT-3.3.1-8]
          this.deliver(session, r.message, r.qos, true, r.ids, now);
        }
      },
    };
  }

  /** Handles UNSUBSCRIBE; returns one reason code per filter, and the commit UNSUBACK waits for. */
  unsubscribe(conn: Connection, filters: string[]): { reasonCodes: number[]; committed: Promise<unknown> | undefined } {
    const session = conn.session!;
    const reasonCodes = filters.map((filter) => {
      const removed = this.#tree.remove(session.clientId, filter);
      session.subscriptions.delete(filter);
      return removed ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted; // [MQTT-3.11.3-1]
    });
    const committed = session.expiryInterval > 0 ? this.store.saveSession(this.#record(session)) : undefined;
    return { reasonCodes, committed: committed || undefined };
  }

  // A session as the store keeps it: while connected, with the connection's will (a crash
  // under it leaves that will to publish); once disconnected, with the pending will and
  // the time its expiry counts from.
  #record(session: Session): SessionRecord {
    const conn = session.connection;
    const pending = session.pendingWill;
    return {
      clientId: session.clientId,
      expiryInterval: session.expiryInterval,
      subscriptions: [...session.subscriptions.values()],
      will: conn !== undefined ? conn.will : pending?.will,
      willAt: conn !== undefined ? undefined : pending?.publishAt,
      disconnectedAt: conn !== undefined ? undefined : session.disconnectedAt,
      client: session.client,
    };
  }

  // ----------------------------------------------------------------- time

  /** Runs everything time-driven: keep alive, connect timeouts, wills, session expiry, $SYS. */
  tick(now: number = this.now()): void {
    this.#lastTick = now;
    for (const conn of this.#connections) conn.tick(now);
    for (const session of this.#offline) {
      const pending = session.pendingWill;
      const ending = session.expiresAt !== undefined && session.expiresAt <= now;
      // The will goes when its delay passes, or when the session ends first [MQTT-3.1.3-9]
      if (pending !== undefined && (pending.publishAt <= now || ending)) {
        session.pendingWill = undefined;
        this.#publishWill(pending.will, pending.client);
        // Published once: a restart must not publish it again.
        if (!ending) this.store.saveSession(this.#record(session));
      }
      if (ending) this.#discard(session);
    }
    if (now >= this.#nextSys) {
      // Expired retained messages are swept even with $SYS off, and before $SYS counts them [MQTT-3.3.2-5]
      this.retained.expire(now);
      this.#nextSys = now + (this.limits.sysInterval > 0 ? this.limits.sysInterval : 10) * 1000;
      if (this.limits.sysInterval > 0) this.#publishSys(now);
    }
  }

  #publishSys(now: number): void {
    const s = this.stats;
    const values: [string, string | number][] = [
      ["version", this.#version],
      ["uptime", Math.floor((now - this.startedAt) / 1000)],
      ["clients/connected", s.connectionsCurrent],
      ["clients/total", this.#sessions.size],
      ["messages/received", s.messagesReceived],
      ["messages/sent", s.messagesSent],
      ["messages/dropped", s.messagesDropped],
      ["bytes/received", s.bytesReceived],
      ["bytes/sent", s.bytesSent],
      ["subscriptions/count", this.#tree.size],
      ["retained messages/count", this.retained.size],
    ];
    const enc = new TextEncoder();
    this.#publishingSys = true;
    try {
      for (const [key, value] of values) {
        this.publish({
          topic: `$SYS/broker/${key}`, payload: enc.encode(String(value)), qos: 0, retain: true,
          properties: undefined, expiresAt: undefined, senderId: "", receivedAt: now,
        });
      }
    } finally {
      this.#publishingSys = false;
    }
    let bytes = 0;
    const sys = this.retained.match("$SYS/#");
    for (const m of sys) bytes += m.payload.byteLength;
    this.#sysRetainedCount = sys.length;
    this.#sysRetainedBytes = bytes;
  }

  // ---------------------------------------------------------------- close

  /** Stops the broker: DISCONNECT 0x8B (Server shutting down) to 5.0 clients, close all, flush the store. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const conn of [...this.#connections]) {
      conn.disconnect(ReasonCode.ServerShuttingDown, "the server is shutting down");
      // Detached now, not whenever the adapter reports the close: what that changes
      // (the session's disconnect time, its will) reaches the store before it closes.
      conn.end();
    }
    await this.store.close();
  }
}

// A message whose payload and binary properties no longer view a socket buffer.
function ownCopy(m: Message): Message {
  const properties = m.properties?.correlationData ? { ...m.properties, correlationData: m.properties.correlationData.slice() } : m.properties;
  return { ...m, payload: m.payload.slice(), properties };
}
