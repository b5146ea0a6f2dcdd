import { accessSync, closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  CorruptDatabaseError, DataDirectoryError, DataDirectoryLockedError, RolledBackDatabaseError, SchemaVersionError, SQLITE_BUSY, SQLITE_CORRUPT, SQLITE_NOTADB,
  SqliteStoreError, sqliteCode,
} from "./errors.ts";
import { COMMITS_FILE, commitsInDatabase, readCommitsFile } from "./commit-counter.ts";
import { describeHolder, removeLockFile, writeLockFile } from "./lock-file.ts";
import { DATABASE_FILE, LOCK_FILE, type ResolvedOptions } from "./options.ts";
import { migrate, SCHEMA_VERSION, schemaVersion } from "./schema.ts";

/** An open, locked, checked and migrated database. */
export interface OpenedDatabase {
  db: DatabaseSync;
  /** The database file; undefined in memory mode. */
  path: string | undefined;
  /** The lock file to remove on close; undefined in memory mode. */
  lockPath: string | undefined;
  /** How long the integrity check on open took, in milliseconds. */
  integrityCheckMs: number;
  /** The schema version found and the one now in the file. */
  migrated: { from: number; to: number };
  /** Whether this open created the file (a first start). */
  created: boolean;
  /** The commit counter's file (see commit-counter.ts); undefined in memory mode. */
  commitsPath: string | undefined;
}

const HEADER = "SQLite format 3\u0000";

/** Opens the database for the options: the data directory's file, or an in-memory one. */
export function openDatabase(o: ResolvedOptions): OpenedDatabase {
  if (o.mode === "memory") {
    const db = new DatabaseSync(":memory:");
    // Nothing here is durable, so no sync and no journal on disk.
    db.exec("PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF");
    return { db, path: undefined, lockPath: undefined, integrityCheckMs: 0, migrated: migrate(db, ":memory:"), created: true, commitsPath: undefined };
  }
  const dir = resolve(o.dataDir!);
  prepareDirectory(dir);
  const path = join(dir, DATABASE_FILE);
  const lockPath = join(dir, LOCK_FILE);
  const created = checkHeader(path, dir);
  let db: DatabaseSync | undefined;
  let locked = false;
  try {
    db = new DatabaseSync(path);
    // The file lock is taken by the first write and held until close: a second
    // broker on the same directory gets SQLITE_BUSY at once (no busy timeout).
    // Set before WAL, so the WAL index lives in memory and no -shm file is shared.
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    const jm = db.prepare("PRAGMA journal_mode = WAL").get() as { journal_mode: string } | undefined;
    if (jm?.journal_mode !== "wal") throw new SqliteStoreError(`${path} cannot use WAL mode (journal_mode is ${jm?.journal_mode})`);
    db.exec("BEGIN IMMEDIATE; COMMIT");
    locked = true;
    writeLockFile(lockPath, o.now());
    // A newer file is refused before any of its tables is read or written (only the lock and WAL mode, which every version uses, touched it).
    const version = schemaVersion(db);
    if (version > SCHEMA_VERSION) throw new SchemaVersionError(path, version, SCHEMA_VERSION);
    const started = performance.now();
    const problems = integrityCheck(db, o.integrityCheck);
    const integrityCheckMs = performance.now() - started;
    if (problems !== undefined) throw new CorruptDatabaseError(path, `${o.integrityCheck === "full" ? "integrity_check" : "quick_check"}: ${problems}`);
    const commitsPath = join(dir, COMMITS_FILE);
    if (!created) checkNotRolledBack(db, path, commitsPath, o.onError);
    // Both durable modes fsync the WAL at each commit: fsync mode commits every
    // event-loop turn, batched mode once per window, so FULL costs batched one
    // fsync per window and makes its loss bound hold for power loss too.
    db.exec("PRAGMA synchronous = FULL");
    const migrated = migrate(db, path);
    return { db, path, lockPath, integrityCheckMs, migrated, created, commitsPath };
  } catch (e) {
    try {
      db?.close();
    } catch {
      // Closing a half-open handle may fail too; the original error is the one to report.
    }
    if (locked) removeLockFile(lockPath);
    throw explain(e, path, dir, lockPath);
  }
}

/** Creates the directory if missing; refuses one that is not a writable directory. */
function prepareDirectory(dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new DataDirectoryError(dir, "is not a directory: give a directory (it is created if missing)");
  } else {
    try {
      // The database holds brokers' private keys: only its owner may read it.
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new DataDirectoryError(dir, `cannot be created: ${(e as Error).message}`, { cause: e });
    }
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new DataDirectoryError(dir, `is not writable by this process: fix its permissions or choose another data directory (${(e as Error).message})`, { cause: e });
  }
}

/**
 * Creates a new database file, or refuses an existing one that is empty or not
 * SQLite. Returns whether the file was created by this call.
 */
function checkHeader(path: string, dir: string): boolean {
  if (!existsSync(path)) {
    // A -wal without its database would be replayed into the new file as a torn half of the old one.
    if (existsSync(`${path}-wal`)) {
      throw new CorruptDatabaseError(path, `it is missing, but its write-ahead log ${path}-wal is there: the database was deleted or moved without it`);
    }
    createDatabaseFile(path, dir);
    return true;
  }
  const size = statSync(path).size;
  // edgemq never leaves an empty file behind (createDatabaseFile), so an empty one lost its data.
  if (size === 0) throw new CorruptDatabaseError(path, "it is empty (0 bytes): it was truncated, and every session, retained message and tenant record in it is gone");
  const fd = openSync(path, "r");
  const head = new Uint8Array(100);
  let n: number;
  try {
    n = readSync(fd, head, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  const text = String.fromCharCode(...head.subarray(0, 16));
  if (text !== HEADER) throw new CorruptDatabaseError(path, "it does not start with the SQLite header, so it is not an SQLite database");
  if (n < 100) throw new CorruptDatabaseError(path, `it is truncated to ${size} bytes, shorter than the SQLite header`);
  const raw = (head[16]! << 8) | head[17]!;
  const pageSize = raw === 1 ? 65536 : raw; // the header writes 65536 as 1
  if (pageSize >= 512 && size % pageSize !== 0) {
    throw new CorruptDatabaseError(path, `it is ${size} bytes, not a whole number of ${pageSize}-byte pages: it was truncated`);
  }
  return false;
}

/**
 * Creates the database file owner-only (it holds brokers' private keys) with
 * its SQLite header already written, under a temporary name renamed into
 * place: a crash while creating it leaves no file, never an empty one, so an
 * empty edgemq.db always means lost data.
 */
function createDatabaseFile(path: string, dir: string): void {
  const temporary = `${path}.new`;
  try {
    rmSync(temporary, { force: true });
    rmSync(`${temporary}-wal`, { force: true });
    closeSync(openSync(temporary, "w", 0o600));
    const db = new DatabaseSync(temporary);
    // Switching to WAL writes the first page (the header) to the file; closing removes the empty log.
    db.exec("PRAGMA journal_mode = WAL");
    db.close();
    const fd = openSync(temporary, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // A counter file left by a database moved aside must not judge the new one (see commit-counter.ts).
    rmSync(join(dir, COMMITS_FILE), { force: true });
    renameSync(temporary, path);
    syncDirectory(dir);
  } catch (e) {
    throw new DataDirectoryError(dir, `cannot hold the database file: ${(e as Error).message}`, { cause: e });
  }
}

/** Makes a rename in the directory durable; best effort, as not every runtime can open a directory. */
function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Without it a power loss right after the first start may lose the new, still empty, file: a first start again.
  }
}

/** Refuses a database holding fewer commits than the counter file recorded (a lost or damaged -wal). */
function checkNotRolledBack(db: DatabaseSync, path: string, commitsPath: string, onError: (error: Error) => void): void {
  const recorded = readCommitsFile(commitsPath);
  // No file: a database from before the counter existed, or a first start killed before its first commit.
  if (recorded === undefined) return;
  if (recorded === "unreadable") {
    onError(new SqliteStoreError(`${commitsPath} is unreadable, so this start cannot tell whether ${path}-wal was lost; it is rewritten from the database's count`));
    return;
  }
  const found = commitsInDatabase(db);
  if (found < recorded) throw new RolledBackDatabaseError(path, commitsPath, found, recorded);
}

/** Runs integrity_check or quick_check; returns the problems found, or undefined. */
function integrityCheck(db: DatabaseSync, kind: "full" | "quick"): string | undefined {
  const rows = db.prepare(kind === "full" ? "PRAGMA integrity_check(10)" : "PRAGMA quick_check(10)").all() as Record<string, unknown>[];
  const lines = rows.map((r) => String(Object.values(r)[0]));
  return lines.length === 1 && lines[0] === "ok" ? undefined : lines.join("; ");
}

/** Turns an error while opening into one that says what to do. */
function explain(e: unknown, path: string, dir: string, lockPath: string): Error {
  if (e instanceof SqliteStoreError) return e;
  const code = sqliteCode(e);
  const message = (e as Error).message;
  if (code === SQLITE_BUSY) {
    const holder = describeHolder(lockPath);
    return new DataDirectoryLockedError(dir, holder.text, holder.pid);
  }
  if (code === SQLITE_NOTADB) return new CorruptDatabaseError(path, `SQLite says: ${message}`, { cause: e });
  if (code === SQLITE_CORRUPT) return new CorruptDatabaseError(path, `SQLite says: ${message}`, { cause: e });
  return new SqliteStoreError(`cannot open the edgemq database ${path}: ${message}`, { cause: e });
}
