import { SqliteStoreError } from "./errors.ts";

/**
 * How durable an acknowledged write is:
 * - `fsync`: the write's promise resolves once the transaction holding it is
 *   committed with synchronous=FULL (the WAL is fsynced). Nothing acknowledged
 *   is lost, by a crash, SIGKILL or power loss.
 * - `batched`: the write is applied at once and the call returns nothing (the
 *   broker acknowledges right away); the open transaction is committed, with
 *   one fsync, at most `windowMs` after its first write. A crash or power loss
 *   loses at most the last `windowMs` of acknowledged writes.
 * - `memory`: an in-memory SQLite database; nothing survives the process.
 */
export type DurabilityMode = "fsync" | "batched" | "memory";

/** Every mode. */
export const DURABILITY_MODES: readonly DurabilityMode[] = ["fsync", "batched", "memory"];

/** How to open the store. */
export interface SqliteStoreOptions {
  /** The directory that holds `edgemq.db` and its lock; created if missing. Not needed in `memory` mode. */
  dataDir?: string;
  /** `fsync` unless given. */
  mode?: DurabilityMode;
  /** The commit window of `batched` mode in milliseconds (default 100). */
  windowMs?: number;
  /** How often the "last seen alive" time is written while idle, in milliseconds (default 1000; 0 turns it off). */
  aliveIntervalMs?: number;
  /** `full` (PRAGMA integrity_check, the default) or `quick` (PRAGMA quick_check, which skips index contents) on open. */
  integrityCheck?: "full" | "quick";
  /** The clock, in ms since the epoch (default Date.now). */
  now?: () => number;
  /** Told of a failed commit in `batched` mode, where no promise is left to reject (default: console.error). */
  onError?: (error: Error) => void;
}

/** The options with every default filled in. */
export interface ResolvedOptions {
  dataDir: string | undefined;
  mode: DurabilityMode;
  windowMs: number;
  aliveIntervalMs: number;
  integrityCheck: "full" | "quick";
  now: () => number;
  onError: (error: Error) => void;
}

/** The database file's name inside the data directory. */
export const DATABASE_FILE = "edgemq.db";
/** The lock file's name inside the data directory: it names the process that holds it. */
export const LOCK_FILE = "edgemq.lock";
/** The default commit window of `batched` mode. */
export const DEFAULT_WINDOW_MS = 100;

/** Checks the options and fills in defaults. */
export function resolveOptions(options: SqliteStoreOptions): ResolvedOptions {
  const mode = options.mode ?? "fsync";
  if (!DURABILITY_MODES.includes(mode)) throw new SqliteStoreError(`unknown store mode "${String(mode)}": use fsync, batched or memory`);
  const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  if (!Number.isFinite(windowMs) || windowMs < 1) throw new SqliteStoreError(`the batched commit window must be at least 1 ms, not ${windowMs}`);
  const aliveIntervalMs = options.aliveIntervalMs ?? 1000;
  if (!Number.isFinite(aliveIntervalMs) || aliveIntervalMs < 0) throw new SqliteStoreError(`aliveIntervalMs must be 0 or more, not ${aliveIntervalMs}`);
  if (mode !== "memory" && (options.dataDir === undefined || options.dataDir === "")) {
    throw new SqliteStoreError(`the ${mode} mode keeps its data in a directory: give dataDir`);
  }
  return {
    dataDir: options.dataDir,
    mode,
    windowMs,
    aliveIntervalMs,
    integrityCheck: options.integrityCheck ?? "full",
    now: options.now ?? Date.now,
    onError: options.onError ?? ((e) => console.error(`edgemq store: ${e.message}`)),
  };
}
