import type { Message, OutgoingRecord } from "@edgemq/core";
import type { RowChecksum } from "./checksum.ts";
import { messageChecksum, type MessageRow, readMessage } from "./message-columns.ts";
import { decodeIds, encodeIds, encodePublishProperties, isQos, RowError } from "./row-codec.ts";
import type { Statements } from "./statements.ts";

/** Where a saved record lives: its outgoing row and the message row it shares. */
interface RowRef {
  id: number;
  messageId: number;
}

interface OutgoingRow {
  id: number;
  client_id: string;
  message_id: number;
  qos: number;
  retain: number;
  subscription_ids: string | null;
  packet_id: number;
  pubrel: number;
  crc: number;
}

/**
 * The outgoing records of every scope, and the messages they share.
 *
 * Identity: the broker saves the same OutgoingRecord object more than once (queued
 * with packet id 0, then in flight with its packet id, then in PUBREL state)
 * and deletes it by passing the object again. The store keeps a WeakMap from
 * each record object to the row id it gave it at its first save, so an update
 * or a delete hits exactly that row. Row ids grow with each first save, so
 * they are also the order to resend in. A record the store has not seen (the
 * broker built a new object for it) is deleted by client and packet id.
 *
 * Sharing: one Message fanned out to many sessions is one `messages` row; the
 * store counts the outgoing rows that point at each message (in memory,
 * rebuilt on open) and deletes the message with the last of them.
 *
 * Held-back inserts: a record's first save only takes its row id; its rows are
 * inserted by {@link flush}, just before the transaction commits, as the
 * record then stands. A record deleted before that (a QoS 1 message PUBACKed
 * within the batched window, most of them at a steady rate) never touches
 * SQLite. Either way the commit holds the same rows it would have: nothing
 * is acknowledged before the commit that holds it.
 */
export class OutgoingRows {
  readonly #sql: Statements;
  readonly #ck: RowChecksum;
  readonly #rows = new WeakMap<OutgoingRecord, RowRef>();
  readonly #messageIds = new WeakMap<Message, number>();
  readonly #refs = new Map<number, number>();
  // First saves not yet inserted, in row id order, and the same per scope and client.
  readonly #pending = new Map<OutgoingRecord, Pending>();
  readonly #pendingOf = new Map<string, Set<OutgoingRecord>>();
  #nextId: number;
  #nextMessageId: number;

  constructor(sql: Statements, ck: RowChecksum) {
    this.#sql = sql;
    this.#ck = ck;
    // Messages no record points at (none, unless a bug left them) are dropped before counting.
    sql.deleteOrphanMessages.run();
    for (const r of sql.messageRefs.all() as unknown as { message_id: number; refs: number }[]) this.#refs.set(r.message_id, r.refs);
    this.#nextId = (sql.maxOutgoingId.get() as { id: number }).id + 1;
    this.#nextMessageId = (sql.maxMessageId.get() as { id: number }).id + 1;
  }

  /** Saves a record: its rows go in at {@link flush} if it is new, or its packet id and state are updated now. */
  save(scope: number, clientId: string, record: OutgoingRecord): void {
    if (this.#pending.has(record)) return; // inserted as it stands at the commit
    const known = this.#rows.get(record);
    if (known !== undefined) {
      const pubrel = record.state === "pubrel" ? 1 : 0;
      const crc = outgoingChecksum(this.#ck, known.id, scope, clientId, known.messageId, record.qos, record.retain ? 1 : 0, record.subscriptionIdentifiers, record.packetId, pubrel);
      if (this.#sql.updateOutgoing.run(record.packetId, pubrel, crc, known.id).changes !== 0) return;
      // Its row went with its session (deleteSession); saved again, it starts a new one.
      this.#rows.delete(record);
    }
    // The row id is taken now, so rows keep the order records were first saved in.
    this.#pending.set(record, { id: this.#nextId++, scope, clientId });
    const key = clientKey(scope, clientId);
    let of = this.#pendingOf.get(key);
    if (of === undefined) this.#pendingOf.set(key, (of = new Set()));
    of.add(record);
  }

  /** Inserts the rows of records first saved in this transaction (called just before it commits). */
  readonly flush = (): void => {
    if (this.#pending.size === 0) return;
    for (const [record, p] of this.#pending) {
      const messageId = this.#share(record.message);
      const pubrel = record.state === "pubrel" ? 1 : 0;
      const retain = record.retain ? 1 : 0;
      const crc = outgoingChecksum(this.#ck, p.id, p.scope, p.clientId, messageId, record.qos, retain, record.subscriptionIdentifiers, record.packetId, pubrel);
      this.#sql.insertOutgoing.run(p.id, p.scope, p.clientId, messageId, record.qos, retain, encodeIds(record.subscriptionIdentifiers), record.packetId, pubrel, crc);
      this.#rows.set(record, { id: p.id, messageId });
    }
    this.#pending.clear();
    this.#pendingOf.clear();
  };

  /** Deletes a record's row (by identity, or else by client and packet id). */
  delete(scope: number, clientId: string, record: OutgoingRecord): void {
    const p = this.#pending.get(record);
    if (p !== undefined) {
      // Saved and done within one transaction: it never reaches SQLite.
      this.#pending.delete(record);
      this.#pendingOf.get(clientKey(p.scope, p.clientId))?.delete(record);
      return;
    }
    const known = this.#rows.get(record);
    if (known !== undefined) {
      this.#rows.delete(record);
      if (this.#sql.deleteOutgoing.run(known.id).changes !== 0) this.#release(known.messageId);
      return;
    }
    if (record.packetId === 0) return; // an unknown queued record has no other key
    for (const r of this.#sql.deleteOutgoingByPacketId.all(scope, clientId, record.packetId) as unknown as { message_id: number }[]) this.#release(r.message_id);
  }

  /** Deletes every record of a client. */
  deleteClient(scope: number, clientId: string): void {
    const key = clientKey(scope, clientId);
    for (const record of this.#pendingOf.get(key) ?? []) this.#pending.delete(record);
    this.#pendingOf.delete(key);
    for (const r of this.#sql.deleteOutgoingOfClient.all(scope, clientId) as unknown as { message_id: number }[]) this.#release(r.message_id);
  }

  /** Deletes every record of a scope. */
  deleteScope(scope: number): void {
    for (const [record, p] of this.#pending) {
      if (p.scope !== scope) continue;
      this.#pending.delete(record);
      this.#pendingOf.delete(clientKey(p.scope, p.clientId));
    }
    for (const r of this.#sql.deleteOutgoingOfScope.all(scope) as unknown as { message_id: number }[]) this.#release(r.message_id);
  }

  /**
   * Reads a scope's records per client, in the order they were first saved.
   * Records of one message share one Message object, and each record object is
   * remembered, so the broker's later saves and deletes of it hit its row.
   */
  load(scope: number): Map<string, OutgoingRecord[]> {
    this.flush(); // what this transaction saved so far is read back too
    const ck = this.#ck;
    const messages = new Map<number, Message>();
    for (const row of this.#sql.messagesOfScope.iterate(scope) as Iterable<MessageRow & { id: number }>) {
      const m = readMessage(ck, row.id, row);
      messages.set(row.id, m);
      this.#messageIds.set(m, row.id);
    }
    const out = new Map<string, OutgoingRecord[]>();
    for (const row of this.#sql.outgoingOfScope.iterate(scope) as Iterable<OutgoingRow>) {
      const ids = decodeIds(row.subscription_ids);
      const crc = outgoingChecksum(ck, row.id, scope, row.client_id, row.message_id, row.qos, row.retain, ids, row.packet_id, row.pubrel);
      if (crc !== row.crc) throw new RowError(`outgoing record ${row.id} of client ${JSON.stringify(row.client_id)} fails its checksum`);
      const message = messages.get(row.message_id);
      if (message === undefined) throw new RowError(`outgoing record ${row.id} points at message ${row.message_id}, which is missing`);
      if (!isQos(row.qos) || (row.retain !== 0 && row.retain !== 1) || (row.pubrel !== 0 && row.pubrel !== 1) || row.packet_id < 0 || row.packet_id > 65535) {
        throw new RowError(`outgoing record ${row.id} has an invalid field`);
      }
      const record: OutgoingRecord = {
        message, qos: row.qos, retain: row.retain === 1, subscriptionIdentifiers: ids, packetId: row.packet_id, state: row.pubrel === 1 ? "pubrel" : "publish",
      };
      this.#rows.set(record, { id: row.id, messageId: row.message_id });
      let list = out.get(row.client_id);
      if (list === undefined) out.set(row.client_id, (list = []));
      list.push(record);
    }
    return out;
  }

  #share(m: Message): number {
    let id = this.#messageIds.get(m);
    if (id !== undefined) {
      const n = this.#refs.get(id);
      if (n !== undefined) {
        this.#refs.set(id, n + 1);
        return id;
      }
    }
    id = this.#nextMessageId++;
    const props = encodePublishProperties(m.properties);
    const retain = m.retain ? 1 : 0;
    const crc = messageChecksum(this.#ck, id, m.topic, m.payload, m.qos, retain, props, m.expiresAt, m.senderId, m.receivedAt);
    this.#sql.insertMessage.run(id, m.topic, m.payload, m.qos, retain, props, m.expiresAt ?? null, m.senderId, m.receivedAt, crc);
    this.#messageIds.set(m, id);
    this.#refs.set(id, 1);
    return id;
  }

  #release(messageId: number): void {
    const n = this.#refs.get(messageId) ?? 0;
    if (n > 1) {
      this.#refs.set(messageId, n - 1);
      return;
    }
    this.#refs.delete(messageId);
    this.#sql.deleteMessage.run(messageId);
  }
}

/** A first save whose rows wait for the commit. */
interface Pending {
  id: number;
  scope: number;
  clientId: string;
}

function clientKey(scope: number, clientId: string): string {
  return `${scope}\u0000${clientId}`;
}

/** The checksum of an outgoing row (over the identifiers themselves, so an update needs no re-encoding). */
function outgoingChecksum(
  ck: RowChecksum, id: number, scope: number, clientId: string, messageId: number, qos: number, retain: number,
  ids: number[] | undefined, packetId: number, pubrel: number,
): number {
  ck.begin().number(id).number(scope).text(clientId).number(messageId).number(qos).number(retain);
  if (ids === undefined) ck.number(undefined);
  else {
    ck.number(ids.length);
    for (const n of ids) ck.number(n);
  }
  return ck.number(packetId).number(pubrel).end();
}
