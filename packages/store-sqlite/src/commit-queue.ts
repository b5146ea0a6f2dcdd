import type { DatabaseSync } from "node:sqlite";
import { setImmediate, clearImmediate } from "node:timers";
import { StoreFailedError } from "./errors.ts";
import type { DurabilityMode } from "./options.ts";

/** Counters of a {@link CommitQueue}, for benchmarks and logs. */
export interface CommitStats {
  /** Writes applied. */
  writes: number;
  /** Transactions committed. */
  commits: number;
}

/**
 * Group commit. A write runs its statements at once inside the open
 * transaction (so it captures the record as it is now, with no copy), and the
 * transaction is committed later: at the end of this event-loop iteration in
 * `fsync` and `memory` modes (setImmediate runs after all I/O callbacks of the
 * iteration, so every packet read in it shares one COMMIT and one fsync), or
 * `windowMs` after its first write in `batched` mode. node:sqlite is
 * synchronous, so no write can arrive while a COMMIT runs.
 *
 * A failed statement or commit rolls the open transaction back and fails the
 * queue for good: the JavaScript bookkeeping no longer matches the file, and
 * nothing more may be acknowledged. Every later write rejects.
 */
export class CommitQueue {
  readonly stats: CommitStats = { writes: 0, commits: 0 };
  /** Told of each commit: ms from the transaction's first write to its end, and ms spent in COMMIT (the fsync). */
  onCommit: ((latencyMs: number, commitMs: number) => void) | undefined;
  /**
   * Runs inside the transaction just before COMMIT: writes held back until
   * then (see OutgoingRows) go in here, so they are in the same commit. A
   * throw fails the queue as a failed write does.
   */
  beforeCommit: (() => void) | undefined;
  /** Runs after each successful COMMIT, before the writes' promises resolve (the commit counter's file). */
  afterCommit: (() => void) | undefined;
  #openedAt = 0;
  readonly #db: DatabaseSync;
  readonly #mode: DurabilityMode;
  readonly #windowMs: number;
  readonly #onError: (error: Error) => void;
  #open = false;
  #promise: Promise<void> | undefined;
  #resolve: (() => void) | undefined;
  #reject: ((e: Error) => void) | undefined;
  #immediate: ReturnType<typeof setImmediate> | undefined;
  #timeout: ReturnType<typeof setTimeout> | undefined;
  #failed: StoreFailedError | undefined;
  #failedPromise: Promise<never> | undefined;

  constructor(db: DatabaseSync, mode: DurabilityMode, windowMs: number, onError: (error: Error) => void) {
    this.#db = db;
    this.#mode = mode;
    this.#windowMs = windowMs;
    this.#onError = onError;
  }

  /** The error that failed the queue, if one did. */
  get failed(): StoreFailedError | undefined {
    return this.#failed;
  }

  /**
   * Runs one write inside the open transaction (opening one if needed) and
   * returns what the Store contract wants: in `fsync` mode a promise of the
   * commit that holds it; in `batched` and `memory` modes nothing, as the
   * write counts as acknowledged now.
   */
  write<A, B>(apply: (a: A, b: B) => void, a: A, b: B): Promise<void> | undefined {
    if (this.#failed) return this.#rejection();
    try {
      this.#begin(false);
      apply(a, b);
    } catch (e) {
      this.#fail(e, "a write failed");
      return this.#rejection();
    }
    this.stats.writes++;
    return this.#mode === "fsync" ? this.#pending() : undefined;
  }

  /**
   * Like {@link write}, but the promise waits for the commit in `batched` mode
   * too, and the commit happens this iteration: for rare writes that must be
   * durable before anyone is told (tenancy changes, a revocation).
   */
  writeDurably<A, B>(apply: (a: A, b: B) => void, a: A, b: B): Promise<void> | undefined {
    if (this.#failed) return this.#rejection();
    try {
      this.#begin(true);
      apply(a, b);
    } catch (e) {
      this.#fail(e, "a write failed");
      return this.#rejection();
    }
    this.stats.writes++;
    return this.#mode === "memory" ? undefined : this.#pending();
  }

  /** Commits the open transaction now; resolves once it is committed. */
  flush(): Promise<void> {
    if (this.#failed) return this.#rejection();
    if (!this.#open) return Promise.resolve();
    const p = this.#pending();
    this.#commit();
    return p;
  }

  /** Commits what is pending, then refuses every later write: the database is about to close. */
  close(): Promise<void> {
    const flushed = this.flush();
    this.#failed ??= new StoreFailedError("the store is closed");
    return flushed;
  }

  #begin(soon: boolean): void {
    if (!this.#open) {
      this.#db.exec("BEGIN");
      this.#open = true;
      if (this.onCommit !== undefined) this.#openedAt = performance.now();
      if (this.#mode === "batched" && !soon) this.#timeout = setTimeout(this.#commit, this.#windowMs);
      else this.#immediate = setImmediate(this.#commit);
    } else if (soon && this.#timeout !== undefined) {
      // A durable write does not wait for the rest of the batched window.
      clearTimeout(this.#timeout);
      this.#timeout = undefined;
      this.#immediate = setImmediate(this.#commit);
    }
  }

  #pending(): Promise<void> {
    if (this.#promise === undefined) {
      this.#promise = new Promise<void>((resolve, reject) => {
        this.#resolve = resolve;
        this.#reject = reject;
      });
      // Callers may drop the promise (the broker does not await deletes); a
      // failure still reaches onError, and must not end the process as an
      // unhandled rejection.
      this.#promise.catch(() => {});
    }
    return this.#promise;
  }

  readonly #commit = (): void => {
    this.#clearTimers();
    if (!this.#open || this.#failed) return;
    const started = this.onCommit !== undefined ? performance.now() : 0;
    try {
      this.beforeCommit?.();
      this.#db.exec("COMMIT");
    } catch (e) {
      this.#fail(e, "a commit failed");
      return;
    }
    this.#open = false;
    this.stats.commits++;
    this.afterCommit?.();
    if (this.onCommit !== undefined) {
      const now = performance.now();
      this.onCommit(now - this.#openedAt, now - started);
    }
    const resolve = this.#resolve;
    this.#promise = this.#resolve = this.#reject = undefined;
    resolve?.();
  };

  #clearTimers(): void {
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    if (this.#timeout !== undefined) clearTimeout(this.#timeout);
    this.#immediate = this.#timeout = undefined;
  }

  #fail(e: unknown, what: string): void {
    this.#clearTimers();
    const error = new StoreFailedError(
      `${what} (${(e as Error).message}); every write since the last commit was rolled back and the store accepts no more writes: restart edgemq once the cause (a full disk, an I/O error) is fixed`,
      { cause: e },
    );
    this.#failed = error;
    if (this.#open) {
      try {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      } catch {
        // SQLite may have rolled back already; the queue is failed either way.
      }
    }
    this.#open = false;
    const reject = this.#reject;
    this.#promise = this.#resolve = this.#reject = undefined;
    reject?.(error);
    this.#onError(error);
  }

  #rejection(): Promise<never> {
    if (this.#failedPromise === undefined) {
      this.#failedPromise = Promise.reject(this.#failed);
      this.#failedPromise.catch(() => {});
    }
    return this.#failedPromise;
  }
}
