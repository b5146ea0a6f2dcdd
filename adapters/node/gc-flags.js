// Plain JavaScript, run first (see launch.js). V8's garbage collector splits
// its pauses (the young-generation scavenge, marking and compaction) across
// helper threads. With one CPU to run on (taskset, a cpuset, a one-core
// container) the helpers cannot run beside the main thread: it waits for them
// to be scheduled, and in edgemq's latency benchmark (broker pinned to one
// core, 5,000 msg/s) a scavenge of 1-4 ms took 10-25 ms, p99 reached 3-18 ms
// and the slowest message 29 ms. Collecting on the main thread alone there
// gave p99 0.5-2.7 ms and at most 7.5 ms. The flags must be given when V8
// starts (set later, V8 stops on a failed check), so the process replaces
// itself with one started with them: same process id, same streams.
import os from "node:os";

/** The V8 flags for this process: none with two CPUs or more, or when the command line already says how to collect. */
export function gcFlags(cpus = os.availableParallelism(), given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)]) {
  if (cpus > 1 || given.some((f) => /^--(no-)?(parallel-(scavenge|marking|compaction)|single-threaded-gc)\b/.test(f))) return [];
  return ["--no-parallel-scavenge", "--no-parallel-marking", "--no-parallel-compaction"];
}

/** Restarts this process with {@link gcFlags} when there are any (Node 23.11+ can, with process.execve); returns otherwise. */
export function applyGcFlags() {
  const flags = gcFlags();
  if (flags.length === 0 || typeof process.execve !== "function" || process.env.EDGEMQ_GC_FLAGS === "off") return;
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], process.env);
}
