// A commit lives only in edgemq.db-wal until a checkpoint copies it into
// edgemq.db. If that log is deleted or damaged while edgemq is down, SQLite
// opens the database as of the last good frame, silently: acknowledged
// messages gone. So each commit group also bumps a counter, kept twice: in the
// database (the meta row "commits", inside the same transaction) and, after
// the COMMIT, in a small file beside it. At open, a database whose counter is
// behind the file's has lost commits, and is refused.
//
// The file is written in place (one pwrite of a fixed-size record, no fsync):
// it survives a crash or SIGKILL (the page cache is the kernel's), and a power
// loss can only leave it behind the database, never ahead of it, because it
// is written after the COMMIT returned. Behind means "nothing to report", so
// it never refuses good data; the cost is one tiny write per commit group.
import { closeSync, existsSync, openSync, readFileSync, writeSync } from "node:fs";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { SqliteStoreError } from "./errors.ts";

/** The counter file's name inside the data directory. */
export const COMMITS_FILE = "edgemq.commits";

const PREFIX = "edgemq-commits ";
// "edgemq-commits " + 16 digits + " " + 8 hex digits + "\n"
const LENGTH = PREFIX.length + 16 + 1 + 8 + 1;
const RECORD = /^edgemq-commits (\d{16}) ([0-9a-f]{8})\n$/;

/** FNV-1a over the digits: a torn or edited record is told from a real one. */
function fnv(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

/** What the counter file says: a count, `unreadable`, or undefined when there is no file. */
export function readCommitsFile(path: string): number | "unreadable" | undefined {
  if (!existsSync(path)) return undefined;
  const m = RECORD.exec(readFileSync(path, "latin1"));
  if (m === null || fnv(m[1]!) !== m[2]) return "unreadable";
  return Number(m[1]);
}

/** The counter the database holds (0 for a database without one: new, or written before the counter existed). */
export function commitsInDatabase(db: DatabaseSync): number {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  if (table === undefined) return 0;
  const row = db.prepare("SELECT value FROM meta WHERE key = 'commits'").get() as { value: number } | undefined;
  return row === undefined ? 0 : Number(row.value);
}

/** Counts commit groups in the database and mirrors the count in the counter file. */
export class CommitCounter {
  #count: number;
  readonly #putMeta: StatementSync;
  readonly #fd: number;
  readonly #record = new Uint8Array(LENGTH);
  readonly #onError: (error: Error) => void;
  readonly #path: string;
  #writeFailed = false;

  /** Opens (creating) the counter file at `path`, continuing from the database's count. */
  constructor(path: string, start: number, putMeta: StatementSync, onError: (error: Error) => void) {
    this.#count = start;
    this.#putMeta = putMeta;
    this.#path = path;
    this.#onError = onError;
    this.#fd = openSync(path, existsSync(path) ? "r+" : "w+", 0o600);
  }

  /** The number of commit groups so far. */
  get count(): number {
    return this.#count;
  }

  /** Runs inside the transaction, just before COMMIT: the database's copy of the count. */
  readonly stamp = (): void => {
    this.#putMeta.run("commits", ++this.#count);
  };

  /** Runs after the COMMIT returned: the copy outside the write-ahead log. */
  readonly record = (): void => {
    const digits = String(this.#count).padStart(16, "0");
    const text = `${PREFIX}${digits} ${fnv(digits)}\n`;
    for (let i = 0; i < LENGTH; i++) this.#record[i] = text.charCodeAt(i);
    try {
      writeSync(this.#fd, this.#record, 0, LENGTH, 0);
    } catch (e) {
      // The file only falls behind, which never refuses good data; say so once.
      if (this.#writeFailed) return;
      this.#writeFailed = true;
      this.#onError(new SqliteStoreError(`cannot write ${this.#path} (${(e as Error).message}): a deleted or damaged -wal file will not be detected at the next start`));
    }
  };

  /** Closes the counter file. */
  close(): void {
    closeSync(this.#fd);
  }
}
