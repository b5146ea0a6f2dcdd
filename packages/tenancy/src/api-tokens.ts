import { TenancyError } from "./errors.ts";
import { byCreation, copyToken } from "./record-copies.ts";
import { sameRecord } from "./store-changes.ts";
import type { ApiTokenRecord } from "./records.ts";
import type { TenancyStore } from "./store.ts";

/** Runs a change after the registry's earlier ones, so that a check and the write it guards cannot interleave. */
export type Serial = <T>(fn: () => Promise<T>) => Promise<T>;

/** The admin API's tokens (hashes, never secrets), by id and by hash; changes are written to the store first, then applied. */
export class ApiTokens {
  readonly #store: TenancyStore;
  readonly #serial: Serial;
  readonly #tokens = new Map<string, ApiTokenRecord>();
  readonly #idByHash = new Map<string, string>();

  /** The tokens the store held at start. */
  constructor(store: TenancyStore, serial: Serial, records: readonly ApiTokenRecord[]) {
    this.#store = store;
    this.#serial = serial;
    for (const t of records) this.#add(t);
  }

  /** Every token record, oldest first. */
  list(): ApiTokenRecord[] {
    return [...this.#tokens.values()].sort(byCreation).map(copyToken);
  }

  /** A token record by id. */
  get(id: string): ApiTokenRecord {
    const t = this.#tokens.get(id);
    if (t === undefined) throw new TenancyError("not_found", `no API token with id "${id}"`);
    return copyToken(t);
  }

  /** The token whose secret hashes to `hash`, if any. */
  byHash(hash: string): ApiTokenRecord | undefined {
    const id = this.#idByHash.get(hash);
    return id === undefined ? undefined : copyToken(this.#tokens.get(id)!);
  }

  /** Creates or replaces a token record; another token with the same secret is refused. */
  put(record: ApiTokenRecord): Promise<void> {
    return this.#serial(async () => {
      const other = this.#idByHash.get(record.hash);
      if (other !== undefined && other !== record.id) throw new TenancyError("conflict", "another API token has the same secret");
      await this.#store.putApiToken(record);
      this.#remove(record.id);
      this.#add(copyToken(record));
    });
  }

  /** Deletes a token; with `keepOne`, refuses to delete the last token it picks. */
  delete(id: string, keepOne?: (t: ApiTokenRecord) => boolean): Promise<void> {
    return this.#serial(async () => {
      const t = this.#tokens.get(id);
      if (t === undefined) throw new TenancyError("not_found", `no API token with id "${id}"`);
      if (keepOne?.(t) && [...this.#tokens.values()].filter(keepOne).length === 1) {
        throw new TenancyError("conflict", `API token "${t.name}" is the last of its kind (an Admin for every namespace); create another before deleting it`);
      }
      await this.#store.deleteApiToken(id);
      this.#remove(id);
    });
  }

  /**
   * Takes a change another process made (null: deleted) without writing it:
   * an identical record changes nothing. Two nodes given the same configured
   * token at once may each have written it under its own id: both are kept.
   */
  apply(id: string, record: ApiTokenRecord | null): void {
    const old = this.#tokens.get(id);
    if (record === null ? old === undefined : old !== undefined && sameRecord(old, record)) return;
    this.#remove(id);
    if (record !== null) this.#add(copyToken(record));
  }

  // Forgets a token; its secret's hash then names another token with the same secret, if any.
  #remove(id: string): void {
    const t = this.#tokens.get(id);
    if (t === undefined) return;
    this.#tokens.delete(id);
    if (this.#idByHash.get(t.hash) !== id) return;
    this.#idByHash.delete(t.hash);
    for (const other of this.#tokens.values()) if (other.hash === t.hash) this.#idByHash.set(t.hash, other.id);
  }

  #add(t: ApiTokenRecord): void {
    this.#tokens.set(t.id, t);
    this.#idByHash.set(t.hash, t.id);
  }
}
