// The open-file limit is a connection limit: every connection is a file
// descriptor. Past the limit the operating system refuses to hand over new
// connections, and the runtimes close them without a word (libuv accepts and
// drops them to keep its loop going; nothing reaches the listener's error
// handler). So the server says so itself: once at start when the limit is
// low, and whenever the files in use near it.
import { readdirSync } from "node:fs";
import type { Logger } from "./logger.ts";
import { processFigures } from "./process-metrics.ts";

/** A limit below this is named at start: a broker is usually meant to hold more connections than that. */
export const LOW_LIMIT = 10_000;
/** The share of the limit in use at which a warning is logged (once, until use falls below {@link REARM_SHARE}). */
export const WARN_SHARE = 0.9;
export const REARM_SHARE = 0.8;

const FIX = "raise it before starting edgemq: `ulimit -n <n>` in the shell, LimitNOFILE= in a systemd unit, --ulimit nofile=<n> for a container";

/** What the watch reads: the limit and the descriptors open now (Infinity: none is left to count them with; undefined where the platform cannot say). */
export interface OpenFiles {
  limit(): number | undefined;
  open(): number | undefined;
}

const fromProc: OpenFiles = {
  limit: () => processFigures().maxFds,
  open: () => {
    try {
      // The listing itself holds one descriptor open while it reads.
      return readdirSync("/proc/self/fd").length - 1;
    } catch (e) {
      // Listing them takes a descriptor too: none left is the answer itself.
      const code = (e as { code?: string }).code;
      return code === "EMFILE" || code === "ENFILE" ? Infinity : undefined;
    }
  },
};

/**
 * Watches the open-file limit. `connections` is a cheap count of the
 * connections held (the brokers' own); only when it passes half the limit
 * are the descriptors counted exactly, since listing them costs time in
 * proportion to their number.
 */
export class OpenFilesWatch {
  readonly #logger: Logger;
  readonly #connections: () => number;
  readonly #files: OpenFiles;
  readonly #limit: number | undefined;
  #warned = false;

  constructor(logger: Logger, connections: () => number, files: OpenFiles = fromProc) {
    this.#logger = logger;
    this.#connections = connections;
    this.#files = files;
    this.#limit = files.limit();
  }

  /** Says at start that the limit is low, when it is (a limit the platform withholds says nothing). */
  announce(): void {
    const limit = this.#limit;
    if (limit === undefined || limit >= LOW_LIMIT) return;
    this.#logger.log("warn", `edgemq: the open-file limit is ${limit}, so this server can hold fewer than ${limit} connections; ${FIX}`, { event: "fd_limit", limit });
  }

  /** Checks the files in use against the limit; called every few seconds. */
  check(): void {
    const limit = this.#limit;
    if (limit === undefined) return;
    const estimate = this.#connections();
    if (estimate < limit / 2 && !this.#warned) return;
    const open = this.#files.open();
    if (open === undefined) return;
    if (!this.#warned && open >= limit * WARN_SHARE) {
      this.#warned = true;
      const share = Math.min(100, Math.floor((100 * open) / limit));
      const used = open === Infinity ? limit : open;
      this.#logger.log("warn", `edgemq: ${used} of ${limit} open files are in use (${share}%), about ${estimate} of them connections: past the limit new connections are dropped by the operating system without a word; ${FIX}`, { event: "fd_limit", open: used, limit });
    } else if (this.#warned && open < limit * REARM_SHARE) {
      this.#warned = false;
    }
  }
}
