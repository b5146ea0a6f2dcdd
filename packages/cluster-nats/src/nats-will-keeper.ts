import type { ClientInfo, Will, WillHandle, WillKeeper } from "@edgemq/core";
import type { KV } from "@nats-io/kv";
import { lostRace } from "./kv-cas.ts";
import { sessionKey } from "./owner-record.ts";
import { encodeKeyToken } from "./tenancy-keys.ts";
import { decodeWillRecord, encodeWillRecord, type WillRecord } from "./will-record.ts";

/** What a broker's will keeper needs of the node (see ClusterWills). */
export interface WillsNode {
  readonly kv: KV;
  readonly nodeId: string;
  readonly incarnation: number;
  readonly connected: boolean;
}

/** The wills bucket's key of a will held by `node`: the node first, so that one node's records are one subject filter. */
export function willKey(node: string, broker: string, clientId: string): string {
  return `${encodeKeyToken(node)}.${sessionKey(broker, clientId)}`;
}

/**
 * One broker's wills in a cluster. Each will in force is a record in the
 * wills bucket under this node's id, so that a surviving node publishes it
 * if this one dies (see ClusterWills). Exactly one node publishes a will:
 * whoever deletes its record by compare-and-set first. This node deletes its
 * record before it publishes a due will, and a survivor that took the record
 * over deletes it before publishing; the loser publishes nothing. While NATS
 * is away a due will waits here, since this node cannot tell whether the
 * cluster, taking it for dead, published it already. Operations on one
 * client id run one after another.
 */
export class NatsWillKeeper implements WillKeeper {
  readonly #node: WillsNode;
  readonly #broker: string;
  #handle: WillHandle | undefined;
  // What this node recorded for each client id: the record and its revision (0: not recorded, NATS was away).
  readonly #held = new Map<string, { record: WillRecord; revision: number }>();
  // Wills that came due while NATS was away, published (or not) once it is back.
  readonly #due = new Map<string, () => void>();
  readonly #busy = new Map<string, Promise<void>>();

  constructor(node: WillsNode, broker: string) {
    this.#node = node;
    this.#broker = broker;
  }

  /** The broker's handle, once it is bound: how a will recorded elsewhere is published here. */
  get handle(): WillHandle | undefined {
    return this.#handle;
  }

  bind(handle: WillHandle): void {
    this.#handle = handle;
  }

  kept(clientId: string, will: Will, client: ClientInfo, delayMs: number): void {
    const record: WillRecord = { node: this.#node.nodeId, incarnation: this.#node.incarnation, broker: this.#broker, will, client: plainClient(client), delayMs };
    this.#serially(clientId, () => this.#write(clientId, record));
  }

  waiting(clientId: string, publishAt: number): void {
    this.#serially(clientId, async () => {
      const held = this.#held.get(clientId);
      if (held !== undefined) await this.#write(clientId, { ...held.record, publishAt });
    });
  }

  ended(clientId: string): void {
    this.#serially(clientId, async () => {
      const held = this.#held.get(clientId);
      this.#held.delete(clientId);
      this.#due.delete(clientId);
      if (held === undefined || held.revision === 0 || !this.#node.connected) return;
      await this.#node.kv.delete(this.#key(held.record), { previousSeq: held.revision }).catch(() => {});
    });
  }

  release(clientId: string, publish: () => void): void {
    this.#serially(clientId, async () => {
      if (!this.#held.has(clientId)) return publish(); // never recorded: nobody else can publish it
      if (!this.#node.connected) {
        this.#due.set(clientId, publish); // see reconcile()
        return;
      }
      if (await this.#takeBack(clientId)) publish();
    });
  }

  /**
   * Back from an outage: each will still in force is checked against its
   * record. One another node took over and published is dropped here; one
   * taken over but not yet published is taken back; one not recorded is
   * recorded now. The wills that came due meanwhile go now, unless another
   * node published them.
   */
  async reconcile(): Promise<void> {
    const runs: Promise<void>[] = [];
    for (const clientId of this.#held.keys()) {
      runs.push(this.#serially(clientId, async () => {
        const held = this.#held.get(clientId);
        if (held === undefined) return;
        const publish = this.#due.get(clientId);
        this.#due.delete(clientId);
        if (held.revision === 0 && publish === undefined) return this.#write(clientId, held.record);
        const mine = await this.#takeBack(clientId, publish === undefined);
        if (publish !== undefined) {
          if (mine) publish();
        } else if (!mine) this.#handle?.dropWill(clientId);
      }));
    }
    await Promise.all(runs);
  }

  // Makes this node the one that publishes `clientId`'s will (its record deleted by compare-and-set), or,
  // with `keep`, the one that holds it (its record written again). False when another node published it.
  async #takeBack(clientId: string, keep = false): Promise<boolean> {
    const held = this.#held.get(clientId)!;
    const kv = this.#node.kv;
    const key = this.#key(held.record);
    for (let attempt = 0; attempt < 3; attempt++) {
      let revision = held.revision;
      if (attempt > 0 || revision === 0) {
        const entry = await kv.get(key).catch(() => undefined);
        if (entry === undefined) return true; // JetStream not answering: this node's call (no survivor can have claimed it unseen by then)
        if (entry === null || entry.operation !== "PUT") {
          // Never recorded (NATS was away when it came in force): nobody else knows of it.
          if (held.revision === 0) return keep ? (await this.#write(clientId, held.record), true) : (this.#held.delete(clientId), true);
          // Recorded, and gone since: a surviving node published it.
          if (keep) this.#held.delete(clientId);
          return false;
        }
        const record = decodeWillRecord(entry.value);
        if (record === undefined || record.node !== held.record.node) return false;
        revision = entry.revision;
      }
      try {
        if (keep) held.revision = await kv.update(key, encodeWillRecord(held.record), revision);
        else {
          await kv.delete(key, { previousSeq: revision });
          this.#held.delete(clientId);
        }
        return true;
      } catch (e) {
        if (!lostRace(e)) return true; // NATS failed under it: as while it is away, this node decides
      }
    }
    return false;
  }

  async #write(clientId: string, record: WillRecord): Promise<void> {
    const held = { record, revision: 0 };
    this.#held.set(clientId, held);
    if (!this.#node.connected) return;
    held.revision = await this.#node.kv.put(this.#key(record), encodeWillRecord(record)).catch(() => 0);
  }

  #key(record: WillRecord): string {
    return willKey(record.node, this.#broker, record.client.clientId);
  }

  #serially(clientId: string, run: () => Promise<void> | void): Promise<void> {
    const before = this.#busy.get(clientId) ?? Promise.resolve();
    const next = before.then(run, run).catch(() => {});
    this.#busy.set(clientId, next);
    void next.then(() => {
      if (this.#busy.get(clientId) === next) this.#busy.delete(clientId);
    });
    return next;
  }
}

// What of a client travels with its will: JSON-safe, and nothing of the socket but its description.
function plainClient(client: ClientInfo): ClientInfo {
  let attributes: Record<string, unknown> = {};
  try {
    attributes = JSON.parse(JSON.stringify(client.attributes)) as Record<string, unknown>;
  } catch {
    // Attributes that are not JSON stay behind: the will is authorized without them.
  }
  return { clientId: client.clientId, username: client.username, protocolVersion: client.protocolVersion, conn: { ...client.conn }, attributes };
}
