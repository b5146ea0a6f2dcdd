/**
 * @module
 * edgemq's durable store on node:sqlite, one implementation for Node 24, Bun
 * and Deno: the broker's Store (sessions, queued and in-flight messages,
 * inbound QoS 2 ids, retained messages) and the registry's TenancyStore in one
 * database file, committed before anything is acknowledged.
 */
export * from "./storage.ts";
export * from "./broker-store.ts";
export * from "./tenancy-store.ts";
export { COMMITS_FILE } from "./commit-counter.ts";
export { DATABASE_FILE, DEFAULT_WINDOW_MS, DURABILITY_MODES, type DurabilityMode, LOCK_FILE, type SqliteStoreOptions } from "./options.ts";
export {
  CorruptDatabaseError, DataDirectoryError, DataDirectoryLockedError, RolledBackDatabaseError, SchemaVersionError, SqliteStoreError, StoreFailedError,
} from "./errors.ts";
export type { CommitStats } from "./commit-queue.ts";
export { SCHEMA_VERSION } from "./schema.ts";
