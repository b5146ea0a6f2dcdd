import type { Message, OutgoingRecord, SessionRecord, Store, StoredState } from "@edgemq/core";
import type { RowChecksum } from "./checksum.ts";
import { CorruptDatabaseError } from "./errors.ts";
import { messageChecksum, type MessageRow, readMessage } from "./message-columns.ts";
import { encodePublishProperties, RowError } from "./row-codec.ts";
import { readSession, sessionColumns, type SessionRow } from "./session-rows.ts";
import type { StorageContext } from "./storage-context.ts";

export type { StoredState } from "@edgemq/core";

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

  /** Creates or replaces a session record (subscriptions, will, disconnect time and client included). */
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
   * Reads back everything this broker saved, exactly as saved, for a restart
   * (`Broker.restore`), with `downSince`: when the previous process was last
   * known alive (its last heartbeat, or its clean close). Call it once, at
   * start, before the broker writes: the records it returns are the ones
   * whose later saves and deletes update their rows. Throws
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
      return { sessions, outgoing: outgoing.load(this.#id), inboundQos2, retained, downSince: this.#ctx.downSince };
    } catch (e) {
      if (e instanceof RowError) throw new CorruptDatabaseError(path, `${e.message} (broker ${JSON.stringify(this.scope)})`, { cause: e });
      throw e;
    }
  }

  // The writes themselves, as bound functions so that a call allocates no closure.

  readonly #saveSession = (r: SessionRecord): void => {
    this.#ctx.sql.putSession.run(this.#id, ...sessionColumns(this.#ctx.ck, this.#id, r));
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

function inboundChecksum(ck: RowChecksum, scope: number, clientId: string, packetId: number): number {
  return ck.begin().number(scope).text(clientId).number(packetId).end();
}
