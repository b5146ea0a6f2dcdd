// Process measurements: a broker's CPU time and RSS from /proc, the
// generator's own CPU time from process.cpuUsage().
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
} catch {
  // 100 Hz is the Linux default
}

/** CPU seconds (user + system, all threads) a process has used, or several processes together; undefined if one cannot be read. */
export function procCpuSeconds(pid: number | readonly number[] | undefined): number | undefined {
  if (pid === undefined) return undefined;
  if (typeof pid !== "number") {
    let sum = 0;
    for (const p of pid) {
      const s = procCpuSeconds(p);
      if (s === undefined) return undefined;
      sum += s;
    }
    return pid.length > 0 ? sum : undefined;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / clockTicks; // utime, stime (fields 14 and 15)
  } catch {
    return undefined;
  }
}

/** Resident set size in bytes (VmRSS), or undefined if it cannot be read. */
export function procRssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Seconds one CPU has been busy (user, nice, system and steal time from
 * /proc/stat), whoever ran on it; undefined when it cannot be read.
 */
export function coreBusySeconds(cpu: number | undefined): number | undefined {
  if (cpu === undefined) return undefined;
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n").find((l) => l.startsWith(`cpu${cpu} `));
    if (line === undefined) return undefined;
    const f = line.split(/\s+/).map(Number);
    return ((f[1] ?? 0) + (f[2] ?? 0) + (f[3] ?? 0) + (f[8] ?? 0)) / clockTicks;
  } catch {
    return undefined;
  }
}

/** CPU seconds this process has used. */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** A snapshot of wall clock, both processes' CPU time and their cores' busy time, to take deltas between. */
export interface Snapshot {
  wall: number;
  gen: number;
  broker: number | undefined;
  /** Each of the broker's processes' CPU seconds, when it has several (a cluster: node A, node B, NATS). */
  brokerParts: (number | undefined)[] | undefined;
  genCore: number | undefined;
  brokerCore: number | undefined;
}

/** The CPUs the broker and the generator are pinned to, when they are. */
export interface Cores {
  broker: number | undefined;
  gen: number | undefined;
}

/** A snapshot; the broker's CPU time is that of all its processes when it has several (a cluster). */
export function snapshot(brokerPid: number | readonly number[] | undefined, cores: Cores): Snapshot {
  return {
    wall: performance.now() / 1000, gen: selfCpuSeconds(), broker: procCpuSeconds(brokerPid),
    brokerParts: typeof brokerPid === "object" ? brokerPid.map((p) => procCpuSeconds(p)) : undefined,
    genCore: coreBusySeconds(cores.gen), brokerCore: coreBusySeconds(cores.broker),
  };
}

/**
 * CPU use between two snapshots as percentages of one core: the generator,
 * the broker, and what other processes took of each one's core.
 */
export function cpuPercent(a: Snapshot, b: Snapshot): {
  gen: number; broker: number | undefined; brokerParts: (number | undefined)[] | undefined; othersOnGenCore: number | undefined; othersOnBrokerCore: number | undefined;
} {
  const wall = b.wall - a.wall;
  const pct = (x: number | undefined, y: number | undefined) => (wall > 0 && x !== undefined && y !== undefined ? (100 * (y - x)) / wall : undefined);
  const gen = pct(a.gen, b.gen) ?? 0;
  const broker = pct(a.broker, b.broker);
  const genCore = pct(a.genCore, b.genCore);
  const brokerCore = pct(a.brokerCore, b.brokerCore);
  return {
    gen, broker, brokerParts: a.brokerParts?.map((x, i) => pct(x, b.brokerParts?.[i])),
    othersOnGenCore: genCore === undefined ? undefined : Math.max(0, genCore - gen),
    othersOnBrokerCore: brokerCore === undefined || broker === undefined ? undefined : Math.max(0, brokerCore - broker),
  };
}
