import type { DatabaseSync } from "node:sqlite";
import { clearInterval, setInterval } from "node:timers";
import { SqliteStore } from "./broker-store.ts";
import { RowChecksum } from "./checksum.ts";
import { CommitCounter, commitsInDatabase } from "./commit-counter.ts";
import { CommitQueue, type CommitStats } from "./commit-queue.ts";
import { removeLockFile } from "./lock-file.ts";
import { openDatabase } from "./open-database.ts";
import type { DurabilityMode, SqliteStoreOptions } from "./options.ts";
import { resolveOptions } from "./options.ts";
import { OutgoingRows } from "./outgoing-rows.ts";
import { prepareStatements } from "./statements.ts";
import type { StorageContext } from "./storage-context.ts";
import { SqliteTenancyStore } from "./tenancy-store.ts";

/** What the previous process left behind. */
export interface PreviousRun {
  /** The last time it was known alive (ms since the epoch): its last heartbeat, or its close. */
  lastAlive: number;
  /** Whether it closed the store (true) or died (crash, SIGKILL, power loss). */
  clean: boolean;
}

/**
 * One database file (or in-memory database) and its single commit queue,
 * shared by every broker's {@link SqliteStore} (`forBroker(name)`) and by the
 * registry's {@link SqliteTenancyStore} (`tenancy`). One object owns the file,
 * its lock and its heartbeat; the stores it hands out only flush on close.
 */
export class SqliteStorage {
  /** The durability mode. */
  readonly mode: DurabilityMode;
  /** The batched commit window in ms (meaningful in batched mode). */
  readonly windowMs: number;
  /** The database file; undefined in memory mode. */
  readonly path: string | undefined;
  /** The previous process's last sign of life, or undefined for a new database. */
  readonly previousRun: PreviousRun | undefined;
  /** How long the integrity check on open took, in ms. */
  readonly integrityCheckMs: number;
  /** The schema version the file had on open, and the one it has now. */
  readonly schema: { from: number; to: number };
  /** The tenancy registry's store over the same database. */
  readonly tenancy: SqliteTenancyStore;
  readonly #db: DatabaseSync;
  readonly #ctx: StorageContext;
  readonly #lockPath: string | undefined;
  readonly #counter: CommitCounter | undefined;
  readonly #now: () => number;
  readonly #scopes = new Map<string, number>();
  readonly #stores = new Map<string, SqliteStore>();
  #nextScopeId = 1;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;

  /** Use {@link openSqliteStore}. */
  constructor(options: SqliteStoreOptions) {
    const o = resolveOptions(options);
    const opened = openDatabase(o);
    const db = opened.db;
    this.#db = db;
    this.mode = o.mode;
    this.windowMs = o.windowMs;
    this.path = opened.path;
    this.integrityCheckMs = opened.integrityCheckMs;
    this.schema = opened.migrated;
    this.#lockPath = opened.lockPath;
    this.#now = o.now;
    try {
      const sql = prepareStatements(db);
      const ck = new RowChecksum();
      const lastAlive = sql.getMeta.get("last_alive") as { value: number } | undefined;
      const clean = sql.getMeta.get("clean_close") as { value: number } | undefined;
      this.previousRun = lastAlive === undefined ? undefined : { lastAlive: Number(lastAlive.value), clean: Number(clean?.value) === 1 };
      const counter = opened.commitsPath === undefined ? undefined : new CommitCounter(opened.commitsPath, commitsInDatabase(db), sql.putMeta, o.onError);
      this.#counter = counter;
      // From here on a crash is an unclean end; written before any broker data.
      db.exec("BEGIN");
      sql.putMeta.run("last_alive", o.now());
      sql.putMeta.run("clean_close", 0);
      const outgoing = new OutgoingRows(sql, ck);
      counter?.stamp();
      db.exec("COMMIT");
      counter?.record();
      for (const s of sql.allScopes.all() as unknown as { id: number; name: string }[]) {
        this.#scopes.set(s.name, s.id);
        if (s.id >= this.#nextScopeId) this.#nextScopeId = s.id + 1;
      }
      const queue = new CommitQueue(db, o.mode, o.windowMs, o.onError);
      if (counter === undefined) queue.beforeCommit = outgoing.flush;
      else {
        queue.beforeCommit = () => {
          outgoing.flush();
          counter.stamp();
        };
        queue.afterCommit = counter.record;
      }
      this.#ctx = { sql, queue, ck, outgoing, path: opened.path ?? ":memory:", durable: o.mode !== "memory", downSince: this.previousRun?.lastAlive };
      this.tenancy = new SqliteTenancyStore(this.#ctx);
    } catch (e) {
      if (db.isTransaction) db.exec("ROLLBACK");
      db.close();
      this.#counter?.close();
      if (this.#lockPath) removeLockFile(this.#lockPath);
      throw e;
    }
    if (o.mode !== "memory" && o.aliveIntervalMs > 0) {
      // Unref'd: the heartbeat alone must not keep a process from exiting.
      this.#heartbeat = setInterval(this.#touch, o.aliveIntervalMs);
      this.#heartbeat.unref();
    }
  }

  /** Writes and commits: transactions and writes so far. */
  /** Observes each commit (for metrics): ms from first write to commit, and ms in COMMIT itself. */
  set onCommit(fn: ((latencyMs: number, commitMs: number) => void) | undefined) {
    this.#ctx.queue.onCommit = fn;
  }

  get stats(): CommitStats {
    return this.#ctx.queue.stats;
  }

  /**
   * The store of one broker (created on first use; the same object after).
   * Brokers are told apart by `name`, such as `namespace/broker`; each sees
   * only its own sessions, messages and retained messages.
   */
  forBroker(name: string): SqliteStore {
    let store = this.#stores.get(name);
    if (store !== undefined) return store;
    let id = this.#scopes.get(name);
    if (id === undefined) {
      const failed = this.#ctx.queue.failed;
      if (failed) throw failed;
      id = this.#nextScopeId++;
      // Committed with (or before) the broker's first data.
      this.#ctx.queue.write(this.#insertScope, id, name);
      this.#scopes.set(name, id);
    }
    store = new SqliteStore(this.#ctx, name, id);
    this.#stores.set(name, store);
    return store;
  }

  /** The names of every broker with a store in this database. */
  brokers(): string[] {
    return [...this.#scopes.keys()];
  }

  /** Deletes everything a broker saved (sessions, messages, retained); its store stays usable, empty. */
  dropBroker(name: string): Promise<void> | undefined {
    const id = this.#scopes.get(name);
    if (id === undefined) return undefined;
    return this.#ctx.queue.writeDurably(this.#dropScope, id, undefined);
  }

  /** Commits whatever is pending now (batched mode included). */
  flush(): Promise<void> {
    return this.#ctx.queue.flush();
  }

  /**
   * Commits what is pending, records a clean close, closes the database and
   * releases the data directory. Rejects if a commit failed (after closing).
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    const queue = this.#ctx.queue;
    try {
      if (!queue.failed) queue.write(this.#markClean, this.#now(), undefined);
      await queue.close();
    } finally {
      this.#db.close();
      this.#counter?.close();
      if (this.#lockPath) removeLockFile(this.#lockPath);
    }
  }

  readonly #touch = (): void => {
    const p = this.#ctx.queue.write(this.#putAlive, this.#now(), undefined);
    void p; // a failure reaches onError; there is no one else to tell
  };

  readonly #putAlive = (now: number): void => {
    this.#ctx.sql.putMeta.run("last_alive", now);
  };

  readonly #markClean = (now: number): void => {
    this.#ctx.sql.putMeta.run("last_alive", now);
    this.#ctx.sql.putMeta.run("clean_close", 1);
  };

  readonly #insertScope = (id: number, name: string): void => {
    this.#ctx.sql.insertScope.run(id, name);
  };

  readonly #dropScope = (id: number): void => {
    const { sql, outgoing } = this.#ctx;
    sql.deleteSessionsOfScope.run(id);
    sql.deleteInboundOfScope.run(id);
    sql.deleteRetainedOfScope.run(id);
    outgoing.deleteScope(id);
  };
}

/**
 * Opens (creating if needed) the SQLite store in `dataDir`: `edgemq.db`, in
 * WAL mode, locked against a second process, integrity-checked and migrated.
 * Throws {@link DataDirectoryError}, {@link DataDirectoryLockedError},
 * {@link CorruptDatabaseError} or {@link SchemaVersionError} with a message
 * that says what to do.
 */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStorage {
  return new SqliteStorage(options);
}
