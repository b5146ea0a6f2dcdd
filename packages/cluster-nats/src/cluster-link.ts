import { hostname } from "node:os";
import type { RoutingFactory } from "@edgemq/core";
import { connect, credsAuthenticator, type NatsConnection, nkeyAuthenticator } from "@nats-io/transport-node";
import { NatsRouting } from "./nats-routing.ts";
import { Presence } from "./presence.ts";
import { ClusterConnectError } from "./connect-error.ts";
import { ensureMessageStream, StreamAcks } from "./message-stream.ts";
import { ensureRetainedStream } from "./retained-sync.ts";
import { jetStreamReady, StreamHealth } from "./stream-health.ts";
import { tenancyReplicas } from "./tenancy-kv.ts";
import type { ClusterCounters, ClusterStatus, RoutingLink } from "./routing-link.ts";

export { ClusterConnectError, redactServers } from "./connect-error.ts";

/** How a node joins the cluster. */
export interface ClusterOptions {
  /** NATS server URLs (`nats://host:4222`); the client moves to another when one fails. */
  servers: readonly string[];
  /** This node's name in the cluster (see {@link defaultNodeId}). */
  nodeId: string;
  /** The first token of every subject edgemq uses (default `edgemq`). */
  root?: string;
  /** The clock, ms since the epoch (default Date.now). */
  now?: () => number;
  /** Where connection changes and problems are told (default: nowhere). */
  log?: (level: "info" | "warn" | "error", text: string) => void;
  /** A NATS credentials file's contents (a user JWT and its nkey seed), for NATS servers run with an operator. */
  creds?: Uint8Array;
  /** A user nkey seed (`SU…`), for NATS servers whose users are nkeys. */
  nkeySeed?: Uint8Array;
  /** How many NATS servers keep each JetStream copy (default: the NATS cluster's size, at most 3). */
  replicas?: number;
  /** PEM texts: the CA that signed the NATS servers' certificates, and this node's client certificate and key. */
  tls?: { ca?: string; cert?: string; key?: string };
}

// The NATS client takes no credentials from a URL: `nats://user:pass@host` becomes user and pass
// (`nats://token@host` a token), and the URLs go on without them.
function splitCredentials(servers: readonly string[]): { servers: string[]; user?: string; pass?: string; token?: string } {
  let user: string | undefined, pass: string | undefined;
  const bare = servers.map((url) => {
    const m = /^([a-z]+:\/\/)([^@/]*)@(.*)$/.exec(url);
    if (m === null) return url;
    const colon = m[2]!.indexOf(":");
    user ??= decodeURIComponent(colon < 0 ? m[2]! : m[2]!.slice(0, colon));
    pass ??= colon < 0 ? undefined : decodeURIComponent(m[2]!.slice(colon + 1));
    return m[1]! + m[3]!;
  });
  if (user === undefined) return { servers: bare };
  return pass === undefined ? { servers: bare, token: user } : { servers: bare, user, pass };
}

/** The node id when none is given: the host name and the MQTT port, which two nodes on one host do not share. */
export function defaultNodeId(port: number): string {
  return `${hostname()}:${port}`;
}

/**
 * This node's link to the cluster: one NATS connection shared by every
 * broker of the process, each broker routing over it with {@link routing}.
 */
export class ClusterLink implements RoutingLink {
  readonly nc: NatsConnection;
  /**
   * A second connection that holds the share groups' queue subscriptions
   * only. A message published on `nc` (no echo) still reaches this node's own
   * queue subscriptions here, so NATS can choose this node's member too.
   */
  readonly shareNc: NatsConnection;
  readonly servers: readonly string[];
  readonly root: string;
  readonly now: () => number;
  /** A random number for this run: a restarted node's messages are never taken for its earlier run's. */
  readonly incarnation: number = crypto.getRandomValues(new Uint32Array(1))[0]!;
  readonly counters: ClusterCounters = { sent: 0, received: 0, notSent: 0, malformed: 0, handedOff: 0, unserved: 0 };
  /** Reconnections and slow-consumer events since the node started. */
  readonly status: ClusterStatus = { reconnects: 0, slowConsumers: 0 };
  /** The nodes up now, as their presence messages say. */
  readonly presence: Presence;
  /** The JetStream stream of retained messages (undefined without JetStream: retained stay per node). */
  retainedStream: string | undefined;
  /** The JetStream stream of QoS 1 and 2 messages (undefined without JetStream: an acknowledgement means NATS had it). */
  messageStream: string | undefined;
  /** The messages stream's acknowledgements of what this node publishes. */
  streamAcks: StreamAcks | undefined;
  /** How many NATS servers keep each JetStream copy. */
  replicas = 1;
  /** This node's id; the server may settle it once its listener's port is known. */
  nodeId: string;
  readonly #log: NonNullable<ClusterOptions["log"]>;
  // Each broker's routing, by broker.
  readonly #routings = new Map<string, NatsRouting>();
  // Each broker's first read of the retained messages.
  readonly #reads: Promise<void>[] = [];
  // One round trip to NATS for every subscription made in one turn (one SUBSCRIBE's filters).
  #pendingFlush: Promise<void> | undefined;
  // False between a lost NATS server and the next one: nothing to wait for then.
  #connected = true;
  // Whether the messages stream answers (see StreamHealth).
  readonly #health: StreamHealth;
  // The NATS server of the last (re)connection.
  #server: string;

  private constructor(nc: NatsConnection, shareNc: NatsConnection, options: ClusterOptions) {
    this.nc = nc;
    this.shareNc = shareNc;
    this.servers = options.servers;
    this.nodeId = options.nodeId;
    this.#server = nc.getServer();
    this.root = options.root ?? "edgemq";
    this.now = options.now ?? Date.now;
    this.#log = options.log ?? (() => {});
    // Every node answers a roll call with its id (the connection does not echo: never its own).
    nc.subscribe(`${this.root}.nodes.rollcall`, { callback: (err, msg) => void (err === null && msg.respond(new TextEncoder().encode(this.nodeId))) });
    this.presence = new Presence(nc, this.root, () => this.nodeId, this.now);
    this.#health = new StreamHealth(nc, () => this.#connected, this.#log);
    void this.#watch(nc, true);
    void this.#watch(shareNc, false);
  }

  /** Connects to the first NATS server that answers; rejects with {@link ClusterConnectError} when none does. */
  static async connect(options: ClusterOptions): Promise<ClusterLink> {
    const settings = {
      ...splitCredentials(options.servers),
      // Once joined, a node keeps trying for as long as it runs (logged below).
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
      timeout: 5000,
      ...(options.creds !== undefined ? { authenticator: credsAuthenticator(options.creds) } : {}),
      ...(options.nkeySeed !== undefined ? { authenticator: nkeyAuthenticator(options.nkeySeed) } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
    };
    let nc: NatsConnection;
    try {
      // A node fans its own messages out itself: NATS need not send them back.
      nc = await connect({ ...settings, name: `edgemq ${options.nodeId}`, noEcho: true });
    } catch (e) {
      throw new ClusterConnectError(options.servers, e);
    }
    let shareNc: NatsConnection;
    try {
      shareNc = await connect({ ...settings, name: `edgemq ${options.nodeId} shares`, noEcho: true });
    } catch (e) {
      await nc.close();
      throw new ClusterConnectError(options.servers, e);
    }
    const link = new ClusterLink(nc, shareNc, options);
    link.replicas = options.replicas ?? tenancyReplicas(nc);
    await jetStreamReady(nc, (text) => link.report("warn", text));
    link.retainedStream = await ensureRetainedStream(nc, link.root, (text) => link.report("warn", text), link.replicas);
    link.messageStream = await ensureMessageStream(nc, link.root, link.replicas, (text) => link.report("warn", text));
    if (link.messageStream !== undefined) {
      link.#health.watch(link.messageStream);
      link.streamAcks = new StreamAcks(nc, (why) => link.#health.failed(why));
    }
    return link;
  }

  /** The routing factory for one broker (`default`, or a tenant's `<broker>.<namespace>`): its own subjects. */
  routing(broker: string): RoutingFactory {
    return (local) => {
      const routing = new NatsRouting(this, local, broker);
      this.#routings.set(broker, routing);
      return routing;
    };
  }

  /** The routing of one broker built here (the last one built), for where its sessions stand in the messages stream. */
  routingOf(broker: string): NatsRouting | undefined {
    return this.#routings.get(broker);
  }

  /** False between a lost NATS server and the next one. */
  get connected(): boolean {
    return this.#connected;
  }

  /**
   * Whether a QoS 1 or 2 message can be kept now: connected, and the messages
   * stream answering (see StreamHealth).
   */
  get acceptsDurable(): boolean {
    return this.#connected && this.#health.answers;
  }

  /**
   * Another stream whose writes QoS 1 and 2 acknowledgements wait for (the
   * held QoS 2 bucket's): while it does not answer they are refused, as
   * while the messages stream does not.
   */
  watchStream(stream: string): void {
    if (this.messageStream !== undefined) this.#health.watch(stream);
  }

  /** A write to a watched stream failed (refused, or no answer in time): QoS 1 and 2 messages are refused until it answers. */
  storeFailed(why: string, what: string): void {
    this.#health.failed(why, what);
  }

  /** The NATS server this node is connected to now, or was last while it reconnects (the client tries others meanwhile). */
  get server(): string | undefined {
    return this.nc.isClosed() ? undefined : this.#server;
  }

  /**
   * Resolves once the NATS server has processed every subscription sent so
   * far (a PING's PONG comes after them), at most after 2 s; at once while
   * NATS is away (the subscriptions are sent again on reconnection), so that
   * local clients are not held up.
   */
  interestReady(): Promise<void> {
    if (!this.#connected) return Promise.resolve();
    // The PING goes once this turn's subscriptions are all written, so that it follows every one of them.
    this.#pendingFlush ??= new Promise<void>((resolve) => {
      queueMicrotask(() => {
        this.#pendingFlush = undefined;
        const timer = setTimeout(resolve, 2000);
        void Promise.all([this.nc.flush().catch(() => {}), this.shareNc.flush().catch(() => {})]).then(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    });
    return this.#pendingFlush;
  }

  /** Counts a broker's first read of the retained messages among what {@link caughtUp} waits for. */
  track(ready: Promise<void>): void {
    this.#reads.push(ready);
  }

  /** Resolves once every broker made so far has read the cluster's retained messages (each read is bounded). */
  async caughtUp(): Promise<void> {
    await Promise.all(this.#reads);
  }

  /**
   * How many nodes answer a roll call within `ms` (this one included): the
   * nodes of the cluster that are up now, for the start-up line.
   */
  async rollCall(ms = 200): Promise<number> {
    const seen = new Set<string>([this.nodeId]);
    try {
      const answers = await this.nc.requestMany(`${this.root}.nodes.rollcall`, undefined, { strategy: "timer", maxWait: ms });
      for await (const answer of answers) {
        seen.add(answer.string());
        this.presence.heard(answer.string());
      }
    } catch {
      // No answer at all (no other node, or NATS away): this node alone.
    }
    return seen.size;
  }

  /** Says a problem once through the log. */
  report(level: "info" | "warn" | "error", text: string): void {
    this.#log(level, text);
  }

  /** Leaves the cluster: what was published is flushed, then the connection closes. */
  async close(): Promise<void> {
    this.presence.close();
    await Promise.all([this.nc, this.shareNc].map(async (c) => {
      if (!c.isClosed()) await c.drain().catch(() => c.close());
    }));
    this.streamAcks?.close();
  }

  // Connection changes go to the log (the messages connection's only; the shares
  // connection follows the same servers): while NATS is away, messages cross no nodes.
  async #watch(nc: NatsConnection, tell: boolean): Promise<void> {
    for await (const s of nc.status()) {
      if (!tell && s.type !== "slowConsumer") continue;
      switch (s.type) {
        case "disconnect":
          this.#connected = false;
          for (const routing of this.#routings.values()) routing.lost();
          // Said once per outage: the client's further attempts are "reconnecting" events, not told.
          this.#log("warn", `cluster: lost the NATS server ${s.server}; reconnecting (messages do not cross nodes, and QoS 1 and 2 PUBLISH are refused, until then)`);
          break;
        case "reconnect":
          // NATS servers that restarted take a moment to choose the stream's leader: QoS 1 and 2 wait for it.
          this.#health.reconnected();
          this.#connected = true;
          this.status.reconnects++;
          this.#server = s.server;
          this.#log("info", `cluster: reconnected to the NATS server ${s.server}`);
          // What other nodes published meanwhile is read back from the stream for this node's sessions.
          for (const routing of this.#routings.values()) routing.regained();
          break;
        case "error":
          this.#log("warn", `cluster: NATS error: ${s.error.message}`);
          break;
        case "slowConsumer":
          this.status.slowConsumers++;
          this.#log("warn", `cluster: this node reads NATS too slowly (${s.pending} messages pending on ${s.sub.getSubject()})`);
          break;
        case "ldm":
          this.#log("info", `cluster: the NATS server ${s.server} is entering lame duck mode; moving to another`);
          break;
      }
    }
  }
}
