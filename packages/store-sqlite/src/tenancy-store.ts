import type {
  ApiTokenRecord, BrokerRecord, NamespaceRecord, Revocation, StoredRevocation, TenancySnapshot, TenancyStore,
} from "@edgemq/tenancy";
import type { RowChecksum } from "./checksum.ts";
import { CorruptDatabaseError } from "./errors.ts";
import { RowError } from "./row-codec.ts";
import type { StorageContext } from "./storage-context.ts";

/**
 * The tenancy registry's {@link TenancyStore} in the same database as the
 * brokers' data (its own tables, the same commit queue). Records are kept as
 * JSON, as the interface says they are plain JSON data; a broker's record
 * carries its signing keys, private keys included, which is why the data
 * directory and file are created readable by their owner only.
 *
 * Every change waits for its commit in both durable modes, batched included:
 * an admin API answer (a revocation, a new key) must never be undone by a
 * crash, and such changes are too rare for the fsync to matter.
 */
export class SqliteTenancyStore implements TenancyStore {
  /** Always `sqlite`. */
  readonly name = "sqlite";
  /** False in memory mode. */
  readonly durable: boolean;
  readonly #ctx: StorageContext;

  /** Made by `SqliteStorage`; use its `tenancy` property. */
  constructor(ctx: StorageContext) {
    this.#ctx = ctx;
    this.durable = ctx.durable;
  }

  /** Reads every record; throws {@link CorruptDatabaseError} if one fails its checksum. */
  load(): TenancySnapshot {
    const { sql, ck, path } = this.#ctx;
    try {
      const namespaces: NamespaceRecord[] = [];
      for (const r of sql.allNamespaces.iterate() as Iterable<{ name: string; record: string; crc: number }>) {
        namespaces.push(parse<NamespaceRecord>(ck, r.crc, r.record, [r.name], `namespace ${r.name}`));
      }
      const brokers: BrokerRecord[] = [];
      for (const r of sql.allBrokers.iterate() as Iterable<{ namespace: string; name: string; record: string; crc: number }>) {
        brokers.push(parse<BrokerRecord>(ck, r.crc, r.record, [r.namespace, r.name], `broker ${r.namespace}/${r.name}`));
      }
      const revocations: StoredRevocation[] = [];
      for (const r of sql.allRevocations.iterate() as Iterable<{ namespace: string; broker: string; jti: string; revoked_at: string; crc: number }>) {
        if (checksum(ck, [r.namespace, r.broker, r.jti], r.revoked_at) !== r.crc) throw new RowError(`the revocation of ${r.jti} fails its checksum`);
        revocations.push({ namespace: r.namespace, broker: r.broker, jti: r.jti, revoked_at: r.revoked_at });
      }
      const apiTokens: ApiTokenRecord[] = [];
      for (const r of sql.allApiTokens.iterate() as Iterable<{ token_id: string; record: string; crc: number }>) {
        apiTokens.push(parse<ApiTokenRecord>(ck, r.crc, r.record, [r.token_id], `API token ${r.token_id}`));
      }
      return { namespaces, brokers, revocations, apiTokens };
    } catch (e) {
      if (e instanceof RowError) throw new CorruptDatabaseError(path, `tenancy data: ${e.message}`, { cause: e });
      throw e;
    }
  }

  /** Creates or replaces a namespace. */
  putNamespace(record: NamespaceRecord): Promise<void> | undefined {
    return this.#ctx.queue.writeDurably(this.#putNamespace, record, undefined);
  }

  /** Deletes a namespace (its brokers are the registry's business). */
  deleteNamespace(name: string): Promise<void> | undefined {
    return this.#ctx.queue.writeDurably(this.#deleteNamespace, name, undefined);
  }

  /** Creates or replaces a broker, keys included. */
  putBroker(record: BrokerRecord): Promise<void> | undefined {
    return this.#ctx.queue.writeDurably(this.#putBroker, record, undefined);
  }

  /** Deletes a broker and its revocations. */
  deleteBroker(namespace: string, name: string): Promise<void> | undefined {
    return this.#ctx.queue.writeDurably(this.#deleteBroker, namespace, name);
  }

  /** Adds (or re-dates) revocations of a broker's credentials. */
  putRevocations(namespace: string, broker: string, revocations: Revocation[]): Promise<void> | undefined {
    return this.#ctx.queue.writeDurably(this.#putRevocations, [namespace, broker] as const, revocations);
  }

  /** Lifts revocations. */
  deleteRevocations(namespace: string, broker: string, jtis: string[]): Promise<void> | undefined {
    return this.#ctx.queue.writeDurably(this.#deleteRevocations, [namespace, broker] as const, jtis);
  }

  /** Creates or replaces an API token. */
  putApiToken(record: ApiTokenRecord): Promise<void> | undefined {
    return this.#ctx.queue.writeDurably(this.#putApiToken, record, undefined);
  }

  /** Deletes an API token. */
  deleteApiToken(id: string): Promise<void> | undefined {
    return this.#ctx.queue.writeDurably(this.#deleteApiToken, id, undefined);
  }

  /** Commits what is pending; the database closes with `SqliteStorage.close()`. */
  close(): Promise<void> {
    return this.#ctx.queue.flush();
  }

  readonly #putNamespace = (r: NamespaceRecord): void => {
    const json = JSON.stringify(r);
    this.#ctx.sql.putNamespace.run(r.name, json, checksum(this.#ctx.ck, [r.name], json));
  };

  readonly #deleteNamespace = (name: string): void => {
    this.#ctx.sql.deleteNamespace.run(name);
  };

  readonly #putBroker = (r: BrokerRecord): void => {
    const json = JSON.stringify(r);
    this.#ctx.sql.putBroker.run(r.namespace, r.name, json, checksum(this.#ctx.ck, [r.namespace, r.name], json));
  };

  readonly #deleteBroker = (namespace: string, name: string): void => {
    this.#ctx.sql.deleteBroker.run(namespace, name);
    this.#ctx.sql.deleteRevocationsOfBroker.run(namespace, name);
  };

  readonly #putRevocations = ([namespace, broker]: readonly [string, string], revocations: Revocation[]): void => {
    const { sql, ck } = this.#ctx;
    for (const r of revocations) sql.putRevocation.run(namespace, broker, r.jti, r.revoked_at, checksum(ck, [namespace, broker, r.jti], r.revoked_at));
  };

  readonly #deleteRevocations = ([namespace, broker]: readonly [string, string], jtis: string[]): void => {
    for (const jti of jtis) this.#ctx.sql.deleteRevocation.run(namespace, broker, jti);
  };

  readonly #putApiToken = (r: ApiTokenRecord): void => {
    const json = JSON.stringify(r);
    this.#ctx.sql.putApiToken.run(r.id, json, checksum(this.#ctx.ck, [r.id], json));
  };

  readonly #deleteApiToken = (id: string): void => {
    this.#ctx.sql.deleteApiToken.run(id);
  };
}

function checksum(ck: RowChecksum, keys: string[], value: string): number {
  ck.begin();
  for (const k of keys) ck.text(k);
  return ck.text(value).end();
}

function parse<T>(ck: RowChecksum, crc: number, json: string, keys: string[], what: string): T {
  if (checksum(ck, keys, json) !== crc) throw new RowError(`${what} fails its checksum`);
  try {
    return JSON.parse(json) as T;
  } catch {
    throw new RowError(`${what} is not valid JSON`);
  }
}
