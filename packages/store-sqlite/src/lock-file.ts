// The SQLite file lock (locking_mode=EXCLUSIVE) is what keeps a second broker
// out: the kernel drops it when its process dies, even by SIGKILL, so it is
// never stale. The lock file only says who holds it, for the error message.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";

/** Who holds a data directory, as its lock file says. */
export interface LockHolder {
  pid: number;
  host: string;
  runtime: string;
  /** When it opened the directory (ISO 8601). */
  since: string;
}

/** The runtime running this code, for the lock file. */
function runtime(): string {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Bun) return `bun ${g.Bun.version}`;
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  return `node ${process.version}`;
}

/** Writes the lock file once this process holds the database lock. */
export function writeLockFile(path: string, now: number): void {
  const holder: LockHolder = { pid: process.pid, host: hostname(), runtime: runtime(), since: new Date(now).toISOString() };
  writeFileSync(path, JSON.stringify(holder) + "\n", { mode: 0o600 });
}

/** Describes the holder named by a lock file, for an error message. */
export function describeHolder(path: string): { text: string; pid: number | undefined } {
  try {
    const h = JSON.parse(readFileSync(path, "utf8")) as Partial<LockHolder>;
    if (typeof h.pid === "number") {
      return { text: `process ${h.pid} (${h.runtime ?? "unknown runtime"} on ${h.host ?? "an unknown host"}, since ${h.since ?? "an unknown time"})`, pid: h.pid };
    }
  } catch {
    // No lock file yet (the other process is still opening) or an unreadable one.
  }
  return { text: "another process", pid: undefined };
}

/** Removes the lock file when the store closes. */
export function removeLockFile(path: string): void {
  rmSync(path, { force: true });
}
