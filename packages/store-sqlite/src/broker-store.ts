import type { Message } from "../../core/src/broker/message.ts";
import type { Will } from "../../core/src/codec/packets/connect.ts";
import type { OutgoingRecord, SessionRecord, Store } from "../../core/src/store/store.ts";
import type { RowChecksum } from "./checksum.ts";
import { CorruptDatabaseError } from "./errors.ts";
import { messageChecksum, type MessageRow, plain, readMessage } from "./message-columns.ts";
import {
  decodeSubscriptions, decodeWillProperties, encodePublishProperties, encodeSubscriptions, encodeWillProperties, isQos, RowError,
} from "./row-codec.ts";
import type { StorageContext } from "./storage-context.ts";

/** Everything one broker's store holds, as {@link SqliteStore.loadState} reads it back for a restart. */
export interface StoredState {
  /** Every session record, in the order first saved. */
  sessions: SessionRecord[];
  /** Per client, its outgoing records (queued and in flight) in the order first saved: resend in this order. */
  outgoing: Map<string, OutgoingRecord[]>;
  /** Per client, the inbound QoS 2 packet ids that wait for PUBREL. */
  inboundQos2: Map<string, number[]>;
  /** Every retained message. */
  retained: Message[];
}

interface SessionRow {
  client_id: string;
  expiry_interval: number;
  subscriptions: string;
  will_topic: string | null;
  will_payload: Uint8Array | null;
  will_qos: number | null;
  will_retain: number | null;
  will_properties: Uint8Array | null;
  crc: number;
}

/**
 * The core broker's {@link Store} on SQLite, for one broker (a scope) of a
 * shared database. Each write is applied to the open transaction at once and
 * its returned promise (fsync mode) resolves when that transaction commits;
 * see {@link CommitQueue} for the modes. Get one from
 * `SqliteStorage.forBroker(name)`.
 */
export class SqliteStore implements Store {
  /** Always `sqlite`. */
  readonly name = "sqlite";
  /** False in memory mode. */
  readonly durable: boolean;
  /** The broker this store belongs to, as given to `forBroker`. */
  readonly scope: string;
  readonly #id: number;
  readonly #ctx: StorageContext;

  /** Made by `SqliteStorage.forBroker`. */
  constructor(ctx: StorageContext, scope: string, scopeId: number) {
    this.#ctx = ctx;
    this.scope = scope;
    this.#id = scopeId;
    this.durable = ctx.durable;
  }

  /** Creates or replaces a session record (subscriptions and will included). */
  saveSession(record: SessionRecord): Promise<void> | undefined {
    return this.#ctx.queue.write(this.#saveSession, record, undefined);
  }

  /** Deletes a session with its outgoing records and inbound QoS 2 ids. */
  deleteSession(clientId: string): Promise<void> | undefined {
    return this.#ctx.queue.write(this.#deleteSession, clientId, undefined);
  }

  /** Saves new outgoing records, or the new packet id or PUBREL state of ones saved before. */
  saveOutgoing(clientId: string, records: OutgoingRecord[]): Promise<void> | undefined {
    return this.#ctx.queue.write(this.#saveOutgoing, clientId, records);
  }

  /** Deletes one outgoing record (the same object that was saved). */
  deleteOutgoing(clientId: string, record: OutgoingRecord): Promise<void> | undefined {
    return this.#ctx.queue.write(this.#deleteOutgoing, clientId, record);
  }

  /** Records an inbound QoS 2 packet id that waits for PUBREL. */
  saveInboundQos2(clientId: string, packetId: number): Promise<void> | undefined {
    return this.#ctx.queue.write(this.#saveInbound, clientId, packetId);
  }

  /** Forgets an inbound QoS 2 packet id once PUBREL came. */
  deleteInboundQos2(clientId: string, packetId: number): Promise<void> | undefined {
    return this.#ctx.queue.write(this.#deleteInbound, clientId, packetId);
  }

  /** Stores a retained message; an empty payload clears its topic. */
  saveRetained(message: Message): Promise<void> | undefined {
    return this.#ctx.queue.write(this.#saveRetained, message, undefined);
  }

  /**
   * Commits what is pending. The database stays open for the other brokers
   * sharing it; `SqliteStorage.close()` closes it.
   */
  close(): Promise<void> {
    return this.#ctx.queue.flush();
  }

  /**
   * Reads back everything this broker saved, exactly as saved, for a restart.
   * Call it once, at start, before the broker writes: the records it returns
   * are the ones whose later saves and deletes update their rows. Throws
   * {@link CorruptDatabaseError} if a row fails its checksum.
   */
  loadState(): StoredState {
    const { sql, ck, outgoing, path } = this.#ctx;
    try {
      const sessions: SessionRecord[] = [];
      for (const row of sql.sessionsOfScope.iterate(this.#id) as Iterable<SessionRow>) sessions.push(readSession(ck, this.#id, row));
      const inboundQos2 = new Map<string, number[]>();
      for (const row of sql.inboundOfScope.iterate(this.#id) as Iterable<{ client_id: string; packet_id: number; crc: number }>) {
        if (inboundChecksum(ck, this.#id, row.client_id, row.packet_id) !== row.crc) throw new RowError(`an inbound QoS 2 id of client ${JSON.stringify(row.client_id)} fails its checksum`);
        let ids = inboundQos2.get(row.client_id);
        if (ids === undefined) inboundQos2.set(row.client_id, (ids = []));
        ids.push(row.packet_id);
      }
      const retained: Message[] = [];
      for (const row of sql.retainedOfScope.iterate(this.#id) as Iterable<MessageRow>) retained.push(readMessage(ck, this.#id, row));
      return { sessions, outgoing: outgoing.load(this.#id), inboundQos2, retained };
    } catch (e) {
      if (e instanceof RowError) throw new CorruptDatabaseError(path, `${e.message} (broker ${JSON.stringify(this.scope)})`, { cause: e });
      throw e;
    }
  }

  // The writes themselves, as bound functions so that a call allocates no closure.

  readonly #saveSession = (r: SessionRecord): void => {
    const w = r.will;
    const subs = encodeSubscriptions(r.subscriptions);
    const willProps = w === undefined ? null : encodeWillProperties(w.properties);
    const willRetain = w === undefined ? null : w.retain ? 1 : 0;
    const crc = sessionChecksum(this.#ctx.ck, this.#id, r.clientId, r.expiryInterval, subs, w?.topic ?? null, w?.payload ?? null, w?.qos ?? null, willRetain, willProps);
    this.#ctx.sql.putSession.run(this.#id, r.clientId, r.expiryInterval, subs, w?.topic ?? null, w?.payload ?? null, w?.qos ?? null, willRetain, willProps, crc);
  };

  readonly #deleteSession = (clientId: string): void => {
    const { sql, outgoing } = this.#ctx;
    sql.deleteSession.run(this.#id, clientId);
    sql.deleteInboundOfClient.run(this.#id, clientId);
    outgoing.deleteClient(this.#id, clientId);
  };

  readonly #saveOutgoing = (clientId: string, records: OutgoingRecord[]): void => {
    const outgoing = this.#ctx.outgoing;
    for (let i = 0; i < records.length; i++) outgoing.save(this.#id, clientId, records[i]!);
  };

  readonly #deleteOutgoing = (clientId: string, record: OutgoingRecord): void => {
    this.#ctx.outgoing.delete(this.#id, clientId, record);
  };

  readonly #saveInbound = (clientId: string, packetId: number): void => {
    this.#ctx.sql.insertInbound.run(this.#id, clientId, packetId, inboundChecksum(this.#ctx.ck, this.#id, clientId, packetId));
  };

  readonly #deleteInbound = (clientId: string, packetId: number): void => {
    this.#ctx.sql.deleteInbound.run(this.#id, clientId, packetId);
  };

  readonly #saveRetained = (m: Message): void => {
    const { sql, ck } = this.#ctx;
    if (m.payload.byteLength === 0) {
      sql.deleteRetained.run(this.#id, m.topic);
      return;
    }
    const props = encodePublishProperties(m.properties);
    const retain = m.retain ? 1 : 0;
    const crc = messageChecksum(ck, this.#id, m.topic, m.payload, m.qos, retain, props, m.expiresAt, m.senderId, m.receivedAt);
    sql.putRetained.run(this.#id, m.topic, m.payload, m.qos, retain, props, m.expiresAt ?? null, m.senderId, m.receivedAt, crc);
  };
}

function sessionChecksum(
  ck: RowChecksum, scope: number, clientId: string, expiry: number, subs: string, willTopic: string | null,
  willPayload: Uint8Array | null, willQos: number | null, willRetain: number | null, willProps: Uint8Array | null,
): number {
  return ck.begin().number(scope).text(clientId).number(expiry).text(subs).text(willTopic).bytes(willPayload).number(willQos).number(willRetain).bytes(willProps).end();
}

function inboundChecksum(ck: RowChecksum, scope: number, clientId: string, packetId: number): number {
  return ck.begin().number(scope).text(clientId).number(packetId).end();
}

function readSession(ck: RowChecksum, scope: number, row: SessionRow): SessionRecord {
  const crc = sessionChecksum(ck, scope, row.client_id, row.expiry_interval, row.subscriptions, row.will_topic, row.will_payload, row.will_qos, row.will_retain, row.will_properties);
  if (crc !== row.crc) throw new RowError(`the session of client ${JSON.stringify(row.client_id)} fails its checksum`);
  let will: Will | undefined;
  if (row.will_topic !== null) {
    if (row.will_payload === null || !isQos(row.will_qos) || (row.will_retain !== 0 && row.will_retain !== 1)) {
      throw new RowError(`the will of client ${JSON.stringify(row.client_id)} has an invalid field`);
    }
    will = { topic: row.will_topic, payload: plain(row.will_payload), qos: row.will_qos, retain: row.will_retain === 1 };
    const props = decodeWillProperties(row.will_properties);
    if (props !== undefined) will.properties = props;
  }
  return { clientId: row.client_id, expiryInterval: row.expiry_interval, subscriptions: decodeSubscriptions(row.subscriptions, row.client_id), will };
}
