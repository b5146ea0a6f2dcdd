import type { Store } from "@edgemq/core";
import type { KV } from "@nats-io/kv";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { assemble, respondInParts } from "./answer-parts.ts";
import { decodeHandedOver, encodeHandover, type HandedOver } from "./handover-codec.ts";
import { dropHeld, heldQos2BucketName, type ReadHeld, readHeld } from "./held-qos2.ts";
import { HeldQos2Store } from "./held-qos2-store.ts";
import type { Qos2Marks } from "./qos2-marks.ts";
import { openNodeBucket } from "./kv-cas.ts";
import type { BacklogSource } from "./message-backlog.ts";
import { isCheckpointKey, live } from "./owner-record.ts";
import { FENCE_WAIT_MS, NatsOwnership, type OwnershipNode, UNANSWERED } from "./session-ownership.ts";
import { decodeKeyToken } from "./tenancy-keys.ts";
import { tenancyReplicas } from "./tenancy-kv.ts";

/** The sessions bucket of the cluster under `root`: `EDGEMQ_SESSIONS` for `edgemq`. */
export function sessionsBucketName(root: string): string {
  return `${root.replace(/[^A-Za-z0-9_-]/g, "_").toUpperCase()}_SESSIONS`;
}

/** What the node's owners need of its cluster link. */
export interface OwnersLink {
  readonly nc: NatsConnection;
  readonly root: string;
  readonly nodeId: string;
  readonly incarnation: number;
  readonly connected: boolean;
  /** How many NATS servers keep each JetStream copy (default: the NATS cluster's size, at most 3). */
  readonly replicas?: number;
  /** Watches another stream as the messages stream is watched (see ClusterLink.watchStream). */
  watchStream?(stream: string): void;
  /** A write to a watched stream failed: QoS 1 and 2 messages are refused until it answers. */
  storeFailed?(why: string, what: string): void;
  /** One broker's routing here, which knows where its sessions stand in the messages stream (none: no backlog is kept). */
  routingOf?(broker: string): (BacklogSource & { afterFlush(then: () => void): void }) | undefined;
  report(level: "info" | "warn" | "error", text: string): void;
}

// How many times, a second apart, ids accepted while NATS was away are claimed once it is back.
const RECONCILE_PASSES = 10;

interface FenceRequest {
  broker: string;
  clientId: string;
  revision: number;
  /** The claim resumes the session (Clean Start 0): the answer carries it. */
  resume?: boolean;
}

/** How often a node notes where its connected lasting sessions stand in the messages stream (it writes it at most once a second). */
export const CHECKPOINT_MS = 250;

// How long a claim waits for the session a live node hands over (a long queue comes in parts).
const HANDOVER_WAIT_MS = 5000;

/**
 * Who owns each client id across the cluster, for every broker of this node:
 * one JetStream KV bucket (history 1, one key per broker and client id, the
 * value naming the owner node and its run) and one NATS subscription per
 * node, `<root>.sessions.fence.<incarnation>`, on which other nodes ask this
 * one to fence a client id they took. No subscription, consumer or timer per
 * client. KV with compare-and-set is nats-server 2.9.
 */
export class SessionOwners implements OwnershipNode {
  readonly kv: KV;
  readonly bucket: string;
  // Where lasting sessions' QoS 2 state is kept for the node that resumes them (see held-qos2.ts).
  readonly #held: KV;
  readonly #link: OwnersLink;
  readonly #brokers = new Map<string, NatsOwnership>();
  // Each broker's store, which keeps its sessions' QoS 2 marks (see storeFor).
  readonly #stores = new Map<string, HeldQos2Store>();
  readonly #sub: Subscription;
  // Said once per outage.
  #toldLocal = false;
  // A run of reconcile passes is under way.
  #reconciling = false;
  // Writes each broker's checkpoint (see NatsOwnership.checkpoint).
  readonly #checkpoints: ReturnType<typeof setInterval>;

  private constructor(link: OwnersLink, kv: KV, bucket: string, held: KV) {
    this.#link = link;
    this.kv = kv;
    this.#held = held;
    this.bucket = bucket;
    this.#sub = link.nc.subscribe(`${link.root}.sessions.fence.${link.incarnation}`, {
      callback: (err, msg) => {
        if (err !== null) return;
        let request: FenceRequest;
        try {
          request = msg.json<FenceRequest>();
        } catch {
          return;
        }
        const ownership = this.#brokers.get(request.broker);
        const done = ownership === undefined ? Promise.resolve(undefined) : ownership.fenced(request.clientId, request.revision, request.resume === true);
        // An empty answer: fenced, nothing handed over.
        void done.then(
          (handed) => handed === undefined ? msg.respond() : respondInParts(link.nc, msg, encodeHandover(handed.handover, Date.now(), handed.sent)),
          () => msg.respond(),
        );
      },
    });
    void this.#watch();
    this.#checkpoints = setInterval(() => {
      for (const ownership of this.#brokers.values()) void ownership.checkpoint();
    }, CHECKPOINT_MS);
  }

  /** Opens (creating when missing) the sessions bucket; rejects when the NATS server has no JetStream. */
  static async open(link: OwnersLink): Promise<SessionOwners> {
    const bucket = sessionsBucketName(link.root);
    // A claim waits for its writes: a NATS server that does not answer in 2 s refuses the CONNECT (0x89) rather than hold it.
    const replicas = link.replicas ?? tenancyReplicas(link.nc);
    const kv = await openNodeBucket(link.nc, bucket, "edgemq: the node that owns each client id's session", replicas);
    const held = await openNodeBucket(link.nc, heldQos2BucketName(link.root), "edgemq: lasting sessions' QoS 2 messages in flight and inbound QoS 2 ids", replicas);
    // Its writes gate QoS 2 acknowledgements: while it has no leader, QoS 1 and 2 are refused rather than routed and failed.
    link.watchStream?.(`KV_${heldQos2BucketName(link.root)}`);
    return new SessionOwners(link, kv, bucket, held);
  }

  /** One broker's store: `inner` (the node's own), with its lasting sessions' QoS 2 state kept for the other nodes too. */
  storeFor(broker: string, inner: Store): Store {
    const afterRouting = (then: () => void) => {
      const routing = this.#link.routingOf?.(broker);
      if (routing === undefined) setImmediate(then);
      else routing.afterFlush(then);
    };
    const failed = (why: string) => this.#link.storeFailed?.(why, "the held QoS 2 bucket did not store a QoS 2 exchange");
    const store = new HeldQos2Store(inner, this.#held, this, broker, afterRouting, failed);
    this.#stores.set(broker, store);
    return store;
  }

  readHeld(broker: string, clientId: string, incarnation: number): Promise<ReadHeld> {
    return readHeld(this.#held, broker, clientId, incarnation, Date.now());
  }

  dropHeld(keys: readonly string[]): void {
    dropHeld(this.#held, keys);
  }

  marksOf(broker: string, clientId: string): Qos2Marks | undefined {
    return this.#stores.get(broker)?.marksOf(clientId);
  }

  inheritMarks(broker: string, clientId: string, marks: Qos2Marks): void {
    this.#stores.get(broker)?.inherit(clientId, marks);
  }

  get nodeId(): string {
    return this.#link.nodeId;
  }

  get incarnation(): number {
    return this.#link.incarnation;
  }

  get connected(): boolean {
    return this.#link.connected;
  }

  report(level: "info" | "warn" | "error", text: string): void {
    this.#link.report(level, text);
  }

  backlogOf(broker: string): BacklogSource | undefined {
    return this.#link.routingOf?.(broker);
  }

  /** The ownership of one broker (`default`, or a tenant's `<broker>.<namespace>`): its client ids are its own keys. */
  forBroker(broker: string): NatsOwnership {
    let ownership = this.#brokers.get(broker);
    if (ownership === undefined) this.#brokers.set(broker, ownership = new NatsOwnership(this, broker));
    return ownership;
  }

  async fenceRemote(incarnation: number, broker: string, clientId: string, revision: number, resume: boolean): Promise<HandedOver | undefined | typeof UNANSWERED> {
    const request: FenceRequest = { broker, clientId, revision, resume };
    const subject = `${this.#link.root}.sessions.fence.${incarnation}`;
    try {
      if (!resume) {
        await this.#link.nc.request(subject, JSON.stringify(request), { timeout: FENCE_WAIT_MS });
        return undefined;
      }
      // A live node answers at once, in parts past max_payload; none within the wait: UNANSWERED.
      const replies = await this.#link.nc.requestMany(subject, JSON.stringify(request), { strategy: "timer", maxWait: HANDOVER_WAIT_MS });
      const parts = new Map<string, Uint8Array[]>();
      for await (const reply of replies) {
        const whole = assemble(reply, parts);
        if (whole === undefined) continue;
        if (whole.length === 0) return undefined;
        try {
          return decodeHandedOver(whole, Date.now());
        } catch (e) {
          this.#link.report("warn", `cluster: the session of client id ${JSON.stringify(clientId)} handed over by another node could not be read (${(e as Error).message}); it starts anew here`);
          return undefined;
        }
      }
    } catch {
      // No responders (the node is gone, or restarted under another run) or no answer in time: nothing more to wait for.
    }
    return UNANSWERED;
  }

  claimedLocally(): void {
    // Connected: JetStream did not answer (no leader for the bucket yet); try again shortly rather than wait for a reconnection.
    if (this.#link.connected) void this.#reconcile();
    if (this.#toldLocal) return;
    this.#toldLocal = true;
    this.#link.report("warn", "cluster: NATS or its JetStream is not answering: clients connect to this node without a cluster-wide claim of their client id; claimed again once it answers");
  }

  /**
   * Node `gone` is gone: the offline lasting sessions it held, of the brokers built
   * here, are taken over by one surviving node each (compare-and-set), which
   * keeps them offline and subscribed until their clients return, so what is
   * published meanwhile waits for them. One read of the bucket's keys, then
   * one read per key, only when a node goes. Resolves with how many this node took.
   */
  async adoptGone(gone: string, isUp: (node: string) => boolean): Promise<number> {
    if (!this.#link.connected || isUp(gone)) return 0;
    let taken = 0;
    try {
      const keys: string[] = [];
      for await (const key of await this.kv.keys()) if (!isCheckpointKey(key)) keys.push(key);
      for (const key of keys) {
        const ownership = this.#brokers.get(decodeKeyToken(key.slice(0, key.indexOf("."))));
        if (ownership === undefined) continue; // a broker not built here: its clients resume from the record when they return
        const entry = await this.kv.get(key);
        const owner = entry === null ? undefined : live(entry);
        // Only offline sessions: a client that was connected to the gone node reconnects by itself (and resumes from the
        // record), and a node only taken for gone (frozen, cut off) must not lose its connected clients' sessions.
        if (owner === undefined || owner.node !== gone || owner.session?.disconnectedAt === undefined || isUp(gone)) continue;
        if (await ownership.takeOverGone(entry!, owner)) taken++;
      }
    } catch (e) {
      this.#link.report("warn", `cluster: could not take over the sessions of node ${gone} (${(e as Error).message}); they resume from their records when their clients return`);
    }
    return taken;
  }

  /** Stops answering fence requests and writing checkpoints. */
  close(): void {
    clearInterval(this.#checkpoints);
    for (const ownership of this.#brokers.values()) ownership.dropCheckpoint();
    this.#sub.unsubscribe();
  }

  // Back from an outage: client ids held meanwhile are claimed now.
  async #watch(): Promise<void> {
    for await (const s of this.#link.nc.status()) {
      if (s.type === "reconnect") void this.#reconcile();
    }
  }

  // A restarted NATS server may answer JetStream requests a moment after it takes connections: a few passes,
  // a second apart, one run at a time for the whole node.
  async #reconcile(): Promise<void> {
    if (this.#reconciling) return;
    this.#reconciling = true;
    try {
      for (let pass = 0; pass < RECONCILE_PASSES && this.#link.connected; pass++) {
        await new Promise((r) => setTimeout(r, pass === 0 ? 100 : 1000));
        let left = 0;
        for (const ownership of this.#brokers.values()) left += await ownership.reconcile();
        if (left === 0) {
          this.#toldLocal = false;
          return;
        }
      }
      if (this.#link.connected) this.#link.report("warn", "cluster: client ids accepted while JetStream did not answer could not all be claimed since; they are claimed at their next CONNECT");
    } finally {
      this.#reconciling = false;
    }
  }
}
