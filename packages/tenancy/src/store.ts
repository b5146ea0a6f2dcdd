import type { ApiTokenRecord, BrokerRecord, NamespaceRecord, Revocation } from "./records.ts";
import type { TenancyChange } from "./store-changes.ts";

/** A revocation with the broker it belongs to, as a store lists it. */
export interface StoredRevocation extends Revocation {
  namespace: string;
  broker: string;
}

/** Everything a {@link TenancyStore} holds, as the registry loads it at start. */
export interface TenancySnapshot {
  namespaces: NamespaceRecord[];
  brokers: BrokerRecord[];
  revocations: StoredRevocation[];
  apiTokens: ApiTokenRecord[];
}

/**
 * Where the registry keeps namespaces, brokers (with their keys),
 * revocations and admin API tokens. The registry reads everything once
 * through {@link load} and then writes through: each change is written, and
 * awaited, before it takes effect and before the API answers. Every method
 * may return a promise, so a store can be synchronous (node:sqlite, bun:sqlite)
 * or not (Durable Objects storage, D1). Records are plain JSON-serialisable
 * data; a store must keep its own copies.
 *
 * {@link MemoryTenancyStore} is the in-memory implementation; a durable
 * (SQLite) store implements this same interface and is passed to
 * `Registry.open({ store })`.
 */
export interface TenancyStore {
  /** A name for logs, such as `memory` or `sqlite`. */
  readonly name: string;
  /** Whether data survives the process. */
  readonly durable: boolean;
  load(): TenancySnapshot | Promise<TenancySnapshot>;
  /** Creates or replaces a namespace; with `create`, a shared store refuses it (TenancyError "conflict") when another process created it first. */
  putNamespace(record: NamespaceRecord, create?: boolean): void | Promise<void>;
  deleteNamespace(name: string): void | Promise<void>;
  /**
   * Creates or replaces a broker (keyed by namespace and name). With
   * `create`, a shared store refuses it (TenancyError "conflict") when
   * another process created it first; a shared store may also refuse a
   * change when another process changed the broker since this one saw it.
   */
  putBroker(record: BrokerRecord, create?: boolean): void | Promise<void>;
  /** Deletes a broker and its revocations. */
  deleteBroker(namespace: string, name: string): void | Promise<void>;
  putRevocations(namespace: string, broker: string, revocations: Revocation[]): void | Promise<void>;
  deleteRevocations(namespace: string, broker: string, jtis: string[]): void | Promise<void>;
  /** Creates or replaces an API token (keyed by id). */
  putApiToken(record: ApiTokenRecord): void | Promise<void>;
  deleteApiToken(id: string): void | Promise<void>;
  /**
   * For a store shared by several processes (a cluster's): calls `onChange`
   * with each change made after {@link load}, by any process, this one's
   * own writes included, in the order the store took them. Absent when only
   * this process writes.
   */
  watch?(onChange: (change: TenancyChange) => void): void;
  close(): void | Promise<void>;
}

/** A {@link TenancyStore} in memory: nothing survives the process, but a second registry over the same store sees it all. */
export class MemoryTenancyStore implements TenancyStore {
  readonly name = "memory";
  readonly durable = false;
  readonly #namespaces = new Map<string, NamespaceRecord>();
  readonly #brokers = new Map<string, BrokerRecord>();
  readonly #revocations = new Map<string, Map<string, string>>();
  readonly #tokens = new Map<string, ApiTokenRecord>();

  load(): TenancySnapshot {
    const revocations: StoredRevocation[] = [];
    for (const [key, map] of this.#revocations) {
      const [namespace, broker] = key.split("/") as [string, string];
      for (const [jti, revoked_at] of map) revocations.push({ namespace, broker, jti, revoked_at });
    }
    return structuredClone({
      namespaces: [...this.#namespaces.values()],
      brokers: [...this.#brokers.values()],
      revocations,
      apiTokens: [...this.#tokens.values()],
    });
  }

  putNamespace(record: NamespaceRecord): void {
    this.#namespaces.set(record.name, structuredClone(record));
  }

  deleteNamespace(name: string): void {
    this.#namespaces.delete(name);
  }

  putBroker(record: BrokerRecord): void {
    this.#brokers.set(`${record.namespace}/${record.name}`, structuredClone(record));
  }

  deleteBroker(namespace: string, name: string): void {
    this.#brokers.delete(`${namespace}/${name}`);
    this.#revocations.delete(`${namespace}/${name}`);
  }

  putRevocations(namespace: string, broker: string, revocations: Revocation[]): void {
    const key = `${namespace}/${broker}`;
    let map = this.#revocations.get(key);
    if (map === undefined) this.#revocations.set(key, (map = new Map()));
    for (const r of revocations) map.set(r.jti, r.revoked_at);
  }

  deleteRevocations(namespace: string, broker: string, jtis: string[]): void {
    const map = this.#revocations.get(`${namespace}/${broker}`);
    for (const jti of jtis) map?.delete(jti);
  }

  putApiToken(record: ApiTokenRecord): void {
    this.#tokens.set(record.id, structuredClone(record));
  }

  deleteApiToken(id: string): void {
    this.#tokens.delete(id);
  }

  close(): void {}
}
