import type { Message, OutgoingRecord, SessionRecord, StoredState, Store } from "@edgemq/core";
import type { KV } from "@nats-io/kv";
import { encodeOutgoing } from "./handover-codec.ts";
import { heldKey, heldPrefix, sentKey } from "./held-qos2.ts";
import { Qos2Marks } from "./qos2-marks.ts";

/** What the store needs of the node's cluster link. */
export interface HeldQos2Link {
  readonly incarnation: number;
  readonly connected: boolean;
}


/**
 * One broker's store on a cluster node: the node's own store for everything,
 * and the QoS 2 state of its lasting sessions in the held QoS 2 bucket too
 * (see held-qos2.ts), so that the acknowledgement the core sends after each
 * write (the QoS 2 PUBLISH itself, PUBREL, PUBREC, PUBCOMP) means another
 * node can carry on the exchange should this one die. QoS 1 and queued
 * messages are not written here: the messages stream keeps them.
 *
 * While NATS is away the writes are skipped (the node's own store has them):
 * what a node holds for its sessions then lasts as long as the node does.
 */
export class HeldQos2Store implements Store {
  readonly #inner: Store;
  readonly #kv: KV;
  readonly #link: HeldQos2Link;
  readonly #broker: string;
  // Told when a write fails: the node refuses QoS 1 and 2 until the bucket answers (else a publisher's resends loop).
  readonly #failed: (why: string) => void;
  // Runs a function once the broker's routing has handed this turn's messages to NATS.
  readonly #afterRouting: (then: () => void) => void;
  // Per client id, how far it was sent each origin run's QoS 2 messages (see Qos2Marks), and those marks as last written.
  readonly #sent = new Map<string, { marks: Qos2Marks; written: string }>();
  // The keys this run wrote, per client id, each with its last write (a delete follows the put it undoes).
  readonly #keys = new Map<string, Map<string, Promise<unknown>>>();
  // The order each record was first saved in: resent in that order [MQTT-4.4.0-1].
  readonly #order = new WeakMap<OutgoingRecord, number>();
  #saved = 0;

  constructor(
    inner: Store, kv: KV, link: HeldQos2Link, broker: string, afterRouting: (then: () => void) => void, failed: (why: string) => void = () => {},
  ) {
    this.#failed = failed;
    this.#afterRouting = afterRouting;
    this.#inner = inner;
    this.#kv = kv;
    this.#link = link;
    this.#broker = broker;
  }

  get name(): string {
    return this.#inner.name;
  }

  get durable(): boolean {
    return this.#inner.durable;
  }

  saveSession(record: SessionRecord): void | Promise<void> {
    return this.#inner.saveSession(record);
  }

  /** The session ended or moved to another node: what this run held for it goes. */
  deleteSession(clientId: string): void | Promise<void> {
    const keys = this.#keys.get(clientId);
    this.#sent.delete(clientId);
    if (keys !== undefined) {
      this.#keys.delete(clientId);
      for (const [key, last] of keys) void last.then(() => this.#kv.delete(key)).catch(() => {});
    }
    return this.#inner.deleteSession(clientId);
  }

  saveOutgoing(clientId: string, records: OutgoingRecord[]): void | Promise<void> {
    const inner = this.#inner.saveOutgoing(clientId, records);
    let writes: Promise<unknown>[] | undefined;
    const now = Date.now();
    for (const r of records) {
      // Queued (no packet id) or QoS 1: the messages stream has it, and a resend under a new id is allowed.
      if (r.qos !== 2 || r.packetId === 0) continue;
      let order = this.#order.get(r);
      if (order === undefined) this.#order.set(r, order = ++this.#saved);
      const key = heldKey(heldPrefix(this.#broker, clientId, this.#link.incarnation), "o", r.packetId);
      const value = encodeOutgoing(r, order, now);
      // Written after what this turn routed, as an inbound id is (see saveInboundQos2): a message routed here reaches
      // a subscriber here only once this write is acknowledged, and so only once the NATS server has read the message
      // and its publisher's id before it (a node that dies may lose what its NATS server had not read yet).
      const put = this.#write(clientId, key, () => this.#afterTurn(() => this.#kv.put(key, value)));
      if (put === undefined) continue;
      (writes ??= []).push(put);
      // Marked once its record is kept: a mark must never cover a message that was neither sent nor kept.
      const origin = r.message.origin;
      if (origin !== undefined) void put.then(() => this.#mark(clientId, origin), () => {});
    }
    return joined(inner, writes);
  }

  /**
   * A QoS 2 exchange ended (PUBCOMP, or the message dropped): the session's
   * marks are written before its record goes, so that a node that dies now
   * leaves either the record (its PUBREL is sent again) or a mark that covers
   * it (a backlog read does not send it again), never neither.
   */
  deleteOutgoing(clientId: string, record: OutgoingRecord): void | Promise<void> {
    const inner = this.#inner.deleteOutgoing(clientId, record);
    if (record.qos !== 2 || record.packetId === 0) return inner;
    const prefix = heldPrefix(this.#broker, clientId, this.#link.incarnation);
    const sent = this.#sent.get(clientId);
    if (sent !== undefined && this.#keys.get(clientId)?.has(heldKey(prefix, "o", record.packetId))) {
      const value = JSON.stringify(sent.marks);
      if (value !== sent.written) {
        sent.written = value;
        const key = sentKey(prefix);
        void this.#write(clientId, key, () => this.#kv.put(key, value))?.catch(() => {});
      }
    }
    return joined(inner, this.#forget(clientId, heldKey(prefix, "o", record.packetId)));
  }

  saveInboundQos2(clientId: string, packetId: number): void | Promise<void> {
    const inner = this.#inner.saveInboundQos2(clientId, packetId);
    const key = heldKey(heldPrefix(this.#broker, clientId, this.#link.incarnation), "i", packetId);
    // Written right after the message itself, which the routing publishes at the end of this turn: on one NATS
    // connection, in the same write as a rule. The server takes them in that order, so a node that dies between
    // the two leaves the message without its id (a resend is routed again: a copy) and never the id without the
    // message (a resend answered PUBREC: the message lost).
    const put = this.#write(clientId, key, () => this.#afterTurn(() => this.#kv.put(key, EMPTY)));
    return joined(inner, put === undefined ? undefined : [put]);
  }

  deleteInboundQos2(clientId: string, packetId: number): void | Promise<void> {
    const inner = this.#inner.deleteInboundQos2(clientId, packetId);
    return joined(inner, this.#forget(clientId, heldKey(heldPrefix(this.#broker, clientId, this.#link.incarnation), "i", packetId)));
  }

  saveRetained(message: Message): void | Promise<void> {
    return this.#inner.saveRetained(message);
  }

  loadState(): StoredState {
    return this.#inner.loadState?.() ?? { sessions: [], outgoing: new Map(), inboundQos2: new Map(), retained: [], downSince: undefined };
  }

  close(): void | Promise<void> {
    return this.#inner.close();
  }

  // Writes `key` after its earlier write; undefined while NATS is away (nothing is written then).
  #write(clientId: string, key: string, write: () => Promise<unknown>): Promise<unknown> | undefined {
    if (!this.#link.connected) return undefined;
    let keys = this.#keys.get(clientId);
    if (keys === undefined) this.#keys.set(clientId, keys = new Map());
    const before = keys.get(key);
    const done = before === undefined ? write() : before.then(write, write);
    keys.set(key, done.catch((e: Error) => this.#failed(e.message)));
    return done;
  }

  /** A session's marks here (see Qos2Marks), handed over with it when it moves to another node. */
  marksOf(clientId: string): Qos2Marks | undefined {
    return this.#sent.get(clientId)?.marks;
  }

  /**
   * A session this node now holds brings the marks of the node it came from:
   * they are this node's too, written now (should this node die as well, the
   * next one must not send those messages again either).
   */
  inherit(clientId: string, marks: Qos2Marks): void {
    let sent = this.#sent.get(clientId);
    if (sent === undefined) this.#sent.set(clientId, sent = { marks: new Qos2Marks(), written: "" });
    sent.marks.merge(marks);
    const value = JSON.stringify(sent.marks);
    if (value === "{}" || value === sent.written) return;
    sent.written = value;
    const key = sentKey(heldPrefix(this.#broker, clientId, this.#link.incarnation));
    void this.#write(clientId, key, () => this.#kv.put(key, value))?.catch(() => {});
  }

  // Runs `write` from the routing's end-of-turn callback itself (a microtask later the NATS client has written its buffer).
  #afterTurn(write: () => Promise<unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => this.#afterRouting(() => write().then(resolve, reject)));
  }

  // Raises a session's mark for the run of `origin`.
  #mark(clientId: string, origin: string): void {
    let sent = this.#sent.get(clientId);
    if (sent === undefined) this.#sent.set(clientId, sent = { marks: new Qos2Marks(), written: "" });
    sent.marks.note(origin);
  }

  // Deletes `key` once its write is done, if this run wrote it, and after the session's marks are written.
  #forget(clientId: string, key: string): Promise<unknown>[] | undefined {
    const keys = this.#keys.get(clientId);
    const before = keys?.get(key);
    if (keys === undefined || before === undefined) return undefined;
    keys.delete(key);
    if (!this.#link.connected) return undefined;
    const marks = keys.get(sentKey(heldPrefix(this.#broker, clientId, this.#link.incarnation)));
    return [Promise.all([before, marks]).then(() => this.#kv.delete(key))];
  }
}

const EMPTY = new Uint8Array(0);


// One commit for the inner store's and the bucket's writes. The core waits for some commits and not for others (a
// delete after PUBCOMP): a failed one it does not wait for must not go unhandled (that ends the process).
function joined(inner: void | Promise<void>, writes: Promise<unknown>[] | undefined): void | Promise<void> {
  if (writes === undefined) return inner;
  if (inner) writes.push(inner);
  const all = Promise.all(writes).then(() => {});
  all.catch(() => {});
  return all;
}
