import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { lostRace, openNodeBucket } from "./kv-cas.ts";
import { NatsWillKeeper, type WillsNode } from "./nats-will-keeper.ts";
import { live, sessionKey } from "./owner-record.ts";
import { encodeKeyToken } from "./tenancy-keys.ts";
import { decodeWillRecord, encodeWillRecord, type WillRecord } from "./will-record.ts";

/** The wills bucket of the cluster under `root`: `EDGEMQ_WILLS` for `edgemq`. */
export function willsBucketName(root: string): string {
  return `${root.replace(/[^A-Za-z0-9_-]/g, "_").toUpperCase()}_WILLS`;
}

/** What the node's wills need of its cluster link. */
export interface WillsLink {
  readonly nc: NatsConnection;
  readonly root: string;
  readonly nodeId: string;
  readonly incarnation: number;
  readonly connected: boolean;
  report(level: "warn" | "error", text: string): void;
  /** Whether a node is up now (heard within its presence deadline). */
  isUp(node: string): boolean;
}

/**
 * The wills of every broker of this node, in a JetStream KV bucket (one key
 * per will in force, `<node>.<broker>.<client id>`), and the reaper: when
 * another node is gone (silent past its presence deadline, or left), this
 * node takes over that node's records one by one (compare-and-set, so one
 * survivor takes each), waits for each will's delay from when that node was
 * last heard (or from when its client's connection was lost), and then
 * publishes it, unless its client came back meanwhile (the sessions bucket
 * names another node) or the node came back and took it back. No consumer
 * or timer per client: a scan of one node's keys when it goes, a timer per
 * will it left.
 */
export class ClusterWills implements WillsNode {
  readonly kv: KV;
  readonly bucket: string;
  readonly #link: WillsLink;
  readonly #sessions: KV | undefined;
  readonly #brokers = new Map<string, NatsWillKeeper>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  /** Opens a broker this node has not built yet (a tenant's), so that a will of it can be published here; false when it does not exist. */
  openBroker: (broker: string) => boolean = () => false;
  #closed = false;

  private constructor(link: WillsLink, kv: KV, bucket: string, sessions: KV | undefined) {
    this.#link = link;
    this.kv = kv;
    this.bucket = bucket;
    this.#sessions = sessions;
    void this.#watchReconnects();
  }

  /** Opens (creating when missing) the wills bucket; `sessions` is the sessions bucket, to tell a client that came back. Rejects without JetStream. */
  static async open(link: WillsLink, sessions: KV | undefined, replicas: number): Promise<ClusterWills> {
    const bucket = willsBucketName(link.root);
    const kv = await openNodeBucket(link.nc, bucket, "edgemq: the wills in force, by the node that holds their clients", replicas);
    return new ClusterWills(link, kv, bucket, sessions);
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

  /** The will keeper of one broker (`default`, or a tenant's `<broker>.<namespace>`). */
  forBroker(broker: string): NatsWillKeeper {
    let keeper = this.#brokers.get(broker);
    if (keeper === undefined) this.#brokers.set(broker, keeper = new NatsWillKeeper(this, broker));
    return keeper;
  }

  /**
   * Node `node` is gone, last heard at `lastHeard`: its wills are taken over
   * here (those another survivor took first are left to it). With
   * `otherRunsOf`, only the records of its other runs: this node's own
   * earlier life, found at start.
   */
  async reap(node: string, lastHeard: number, otherRunsOf?: number): Promise<void> {
    if (this.#closed) return;
    let keys: string[] = [];
    try {
      for await (const key of await this.kv.keys(`${encodeKeyToken(node)}.>`)) keys.push(key);
    } catch (e) {
      this.#link.report("warn", `cluster: could not read the wills of node ${node}, which is gone (${(e as Error).message}); they are not published`);
      return;
    }
    for (const key of keys) {
      const entry = await this.kv.get(key).catch(() => null);
      if (entry === null || entry.operation !== "PUT") continue;
      const record = decodeWillRecord(entry.value);
      if (record === undefined || record.node !== node || record.reaper !== undefined) continue;
      if (otherRunsOf !== undefined && record.incarnation === otherRunsOf) continue;
      let claimed: number;
      try {
        claimed = await this.kv.update(key, encodeWillRecord({ ...record, reaper: this.#link.nodeId }), entry.revision);
      } catch {
        continue; // another survivor took it, or its node took it back
      }
      const at = record.publishAt ?? lastHeard + record.delayMs;
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        void this.#publish(key, record, claimed);
      }, Math.max(0, at - Date.now()));
      this.#timers.add(timer);
    }
  }

  /** Stops the reaper's timers (the wills it took stay recorded for another survivor). */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  // A will taken over from a gone node is due: published here unless its client is back or its node took it back.
  async #publish(key: string, record: WillRecord, claimed: number): Promise<void> {
    const clientId = record.client.clientId;
    // A new connection before the delay passes cancels the will [MQTT-3.1.2-8]: the client came back on another node.
    const owner = await this.#sessions?.get(sessionKey(record.broker, clientId)).then((e) => (e === null ? undefined : live(e)), () => undefined);
    // A survivor that took the session over without its client (`adopted`) is no return of the client.
    const back = owner !== undefined && owner.adopted !== true && (owner.node !== record.node || owner.incarnation !== record.incarnation) && this.#link.isUp(owner.node);
    try {
      await this.kv.delete(key, { previousSeq: claimed });
    } catch (e) {
      if (lostRace(e)) return; // its node came back and holds it again
      this.#link.report("warn", `cluster: could not publish the will of client ${clientId} of node ${record.node} (${(e as Error).message})`);
      return;
    }
    if (back) return;
    // A tenant broker this node has not built yet is built now (it binds its keeper); a deleted one takes no will.
    if (this.forBroker(record.broker).handle === undefined && !this.openBroker(record.broker)) return;
    this.forBroker(record.broker).handle?.publishWill(record.will, record.client);
  }

  // Back from an outage: each broker's wills are checked against their records.
  async #watchReconnects(): Promise<void> {
    for await (const s of this.#link.nc.status()) {
      if (this.#closed) break;
      if (s.type !== "reconnect") continue;
      // JetStream may answer a moment after the connection is back.
      await new Promise((r) => setTimeout(r, 200));
      for (const keeper of this.#brokers.values()) await keeper.reconcile().catch(() => {});
    }
  }
}
