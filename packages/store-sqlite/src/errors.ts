/** Anything the SQLite store refuses or fails at, with a message meant for the operator. */
export class SqliteStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SqliteStoreError";
  }
}

/** The database file is not a database, is truncated, or fails its integrity or row checks. */
export class CorruptDatabaseError extends SqliteStoreError {
  /** The database file. */
  readonly path: string;
  constructor(path: string, problem: string, options?: { cause?: unknown }) {
    super(
      `the edgemq database ${path} is damaged (${problem}). edgemq will not start on it, so that it never serves wrong data: ` +
        `stop edgemq, move the file aside (mv ${path} ${path}.damaged, with its -wal file if there is one) to start empty, or restore it from a backup`,
      options,
    );
    this.name = "CorruptDatabaseError";
    this.path = path;
  }
}

/** The database holds fewer commits than its counter file recorded: commits were lost while edgemq was down. */
export class RolledBackDatabaseError extends SqliteStoreError {
  /** The database file. */
  readonly path: string;
  /** The commits the database holds, and the number the counter file recorded. */
  readonly found: number;
  readonly recorded: number;
  constructor(path: string, commitsFile: string, found: number, recorded: number) {
    super(
      `the edgemq database ${path} went back in time: it holds ${found} commits, but ${commitsFile} recorded ${recorded}. ` +
        `Its write-ahead log ${path}-wal was deleted or damaged after edgemq stopped (or an older copy of the database was put in its place), ` +
        `so acknowledged messages, sessions or tenant records are missing. edgemq will not start on it: put the -wal file back or restore a newer backup; ` +
        `to start on the older data as it is, delete ${commitsFile} (or move the whole data directory aside to start empty)`,
    );
    this.name = "RolledBackDatabaseError";
    this.path = path;
    this.found = found;
    this.recorded = recorded;
  }
}

/** The database was written by a newer edgemq whose schema this one does not know. */
export class SchemaVersionError extends SqliteStoreError {
  /** The database file. */
  readonly path: string;
  /** The version found in the file. */
  readonly found: number;
  /** The newest version this code knows. */
  readonly known: number;
  constructor(path: string, found: number, known: number) {
    super(
      `the edgemq database ${path} has schema version ${found}, but this edgemq knows versions up to ${known}: ` +
        `it was written by a newer edgemq. Run that newer edgemq, or restore a backup made by this version`,
    );
    this.name = "SchemaVersionError";
    this.path = path;
    this.found = found;
    this.known = known;
  }
}

/** Another process holds the data directory. */
export class DataDirectoryLockedError extends SqliteStoreError {
  /** The data directory. */
  readonly dataDir: string;
  /** The other process's id, when its lock file names it. */
  readonly pid: number | undefined;
  constructor(dataDir: string, holder: string, pid: number | undefined) {
    super(`the data directory ${dataDir} is in use by ${holder}: two brokers cannot share one data directory; stop the other one or give this one its own --data directory`);
    this.name = "DataDirectoryLockedError";
    this.dataDir = dataDir;
    this.pid = pid;
  }
}

/** The data directory cannot be created, is not a directory, or is not writable. */
export class DataDirectoryError extends SqliteStoreError {
  /** The data directory. */
  readonly dataDir: string;
  constructor(dataDir: string, problem: string, options?: { cause?: unknown }) {
    super(`the data directory ${dataDir} ${problem}`, options);
    this.name = "DataDirectoryError";
    this.dataDir = dataDir;
  }
}

/** A commit failed (disk full, I/O error): the store stops accepting writes, and the broker should stop. */
export class StoreFailedError extends SqliteStoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreFailedError";
  }
}

/** The SQLite result code of an error thrown by node:sqlite, if it has one. */
export function sqliteCode(error: unknown): number | undefined {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  // Extended result codes carry the primary code in their low byte.
  return typeof code === "number" ? code & 0xff : undefined;
}

/** SQLITE_BUSY: another connection holds the lock. */
export const SQLITE_BUSY = 5;
/** SQLITE_CORRUPT: the file's structure is damaged. */
export const SQLITE_CORRUPT = 11;
/** SQLITE_NOTADB: the file is not a database at all. */
export const SQLITE_NOTADB = 26;
