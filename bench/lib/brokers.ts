// Starting the brokers under test as separate processes, pinned to one CPU.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Endpoint, Transport } from "./client.ts";
import { sleep } from "./util.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export type Runtime = "node" | "bun" | "deno";
export const RUNTIMES: readonly Runtime[] = ["node", "bun", "deno"];
/** edgemq's store: the memory store (no --data), or SQLite in a fresh data directory in one of its durable modes. */
export type StoreMode = "memory" | "fsync" | "batched";
export const STORE_MODES: readonly StoreMode[] = ["memory", "fsync", "batched"];
export const TRANSPORTS: readonly Transport[] = ["tcp", "ws"];

/** A broker to run scenarios against, and how its clients reach it. */
export interface Target extends Endpoint {
  /** "edgemq", "mosquitto", or the name given with --target for an external broker. */
  name: string;
  /** The runtime edgemq runs on; undefined for Mosquitto and external brokers. */
  runtime: Runtime | undefined;
  /** How the log names it, e.g. "edgemq (bun, ws)" or "edgemq (node, tcp, sqlite fsync)". */
  label: string;
  /** Where it keeps messages, as the report says: `memory`, `sqlite fsync`, `sqlite batched 100 ms`, `autosave 1 s`. */
  store: string;
  /** Whether that survives a restart. */
  durable: boolean;
  /** The broker's pid, for CPU and RSS; undefined for an external broker without --broker-pid. */
  pid: number | undefined;
  /** Where subscribers connect when it is not where publishers do: another node of a cluster. */
  subscribers?: Endpoint;
  /** Every process that serves it (a cluster's nodes and its NATS server), whose CPU times add up; [pid] when omitted. */
  pids?: number[];
  /** How many edgemq nodes serve it: 2 for a cluster (publishers on one, subscribers on the other), else 1. */
  nodes: number;
  /** Throws if the broker process has exited. */
  check(): void;
  stop(): Promise<void>;
}

/** Whether a program is on the PATH. */
export function onPath(program: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" }).status === 0;
}

/** Mosquitto's version, from `mosquitto -h`. */
export function mosquittoVersion(): string {
  const out = spawnSync("mosquitto", ["-h"], { encoding: "utf8" });
  return /mosquitto version (\S+)/.exec(`${out.stdout}${out.stderr}`)?.[1] ?? "unknown";
}

/** The command prefix that pins a process to `cpu`, or none when pinning is off. */
export function pinned(cpu: number | undefined, argv: string[]): string[] {
  return cpu === undefined ? argv : ["taskset", "-c", String(cpu), ...argv];
}

// Every process this generator spawned, killed when it exits however it exits (a
// crash, or Ctrl-C while a broker is still starting), so that no broker or NATS
// server outlives a failed run; and every directory made for them, removed.
const spawned = new Set<ChildProcess>();
const dirs = new Set<string>();
process.once("exit", () => {
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under `parent`, removed with the run if nobody removes it before (see removeDir). */
export function makeDir(parent: string, prefix: string): string {
  const dir = mkdtempSync(path.join(parent, prefix));
  dirs.add(dir);
  return dir;
}

/** Removes a directory made by makeDir. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** Spawns a process to be stopped with the run, and kept track of until it exits. */
export function spawnTracked(argv: string[], cwd?: string): ChildProcess {
  const child = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ["ignore", "pipe", "pipe"] });
  spawned.add(child);
  child.once("exit", () => spawned.delete(child));
  return child;
}

export function watch(child: ChildProcess, name: string, output: string[]): () => void {
  let exited: string | undefined;
  child.on("exit", (code, signal) => (exited = `${name} exited (code ${code}, signal ${signal})`));
  const keep = (b: Buffer) => {
    output.push(b.toString());
    if (output.length > 200) output.splice(0, 100);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return () => {
    if (exited !== undefined) throw new Error(`${exited}; last output:\n${output.join("").slice(-2000)}`);
  };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await done;
  clearTimeout(timer);
}

/** Options shared by both spawned brokers, so that they run with comparable limits. */
export interface SpawnOptions {
  /** CPU to pin the broker to, or undefined for no pinning. */
  cpu: number | undefined;
  /** Messages queued per subscriber beyond those in flight (edgemq's --max-queued; Mosquitto gets no limit, see below). */
  maxQueued: number;
  /** QoS 1 messages in flight towards one subscriber (edgemq's fixed maximumInflight is 64). */
  maxInflight: number;
  /** The path the clients ask for in their WebSocket upgrade (edgemq, started without --ws-path, and Mosquitto take any). */
  wsPath: string;
  /** Where data directories are made for durable stores (a fresh one per broker, removed at stop). */
  dataParent: string;
  /** edgemq's batched commit window (ms). */
  storeWindowMs: number;
  /** Mosquitto's autosave_interval (s) when it runs with persistence. */
  mosquittoAutosave: number;
}

/** The command that starts edgemq on a runtime, before its flags. */
function edgemqCommand(runtime: Runtime): string[] {
  const bin = (name: string) => {
    const file = path.join(ROOT, "node_modules/.bin", name);
    if (!existsSync(file)) throw new Error(`${file} is missing: run npm install to get ${name}`);
    return file;
  };
  switch (runtime) {
    case "node": return [process.execPath, path.join(ROOT, "adapters/node")];
    case "bun": return [bin("bun"), "run", path.join(ROOT, "adapters/bun")];
    case "deno": return [bin("deno"), "run", "--allow-net", "--allow-read", "--allow-env", path.join(ROOT, "adapters/deno/src/main.ts")];
  }
}

/**
 * edgemq on a runtime (`--port 0 --sys-interval 0 --max-queued N`, and
 * `--ws-port 0` for WebSocket; with a durable store `--data <fresh dir>
 * --store-mode fsync|batched [--store-window W]`) on the pinned CPU. Each
 * runtime, transport and store gets its own process, so that CPU time and
 * memory are that target's alone.
 */
export async function startEdgemq(o: SpawnOptions, runtime: Runtime, transport: Transport, store: StoreMode = "memory", cluster?: { flags: string[]; label: string }): Promise<Target> {
  const dataDir = store === "memory" ? undefined : makeDir(o.dataParent, "edgemq-bench-data-");
  const storeFlags = dataDir === undefined ? [] : ["--data", dataDir, "--store-mode", store, ...(store === "batched" ? ["--store-window", String(o.storeWindowMs)] : [])];
  const flags = ["--port", "0", "--sys-interval", "0", "--max-queued", String(o.maxQueued), ...(transport === "ws" ? ["--ws-port", "0"] : []), ...storeFlags, ...(cluster?.flags ?? [])];
  const argv = pinned(o.cpu, [...edgemqCommand(runtime), ...flags]);
  const storeName = store === "memory" ? "memory" : store === "fsync" ? "sqlite fsync" : `sqlite batched ${o.storeWindowMs} ms`;
  const label = cluster?.label ?? (store === "memory" ? `edgemq (${runtime}, ${transport})` : `edgemq (${runtime}, ${transport}, ${storeName})`);
  const child = spawnTracked(argv, ROOT);
  const output: string[] = [];
  const check = watch(child, label, output);
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${label} did not start within 20 s: ${output.join("")}`));
    }, 20000);
    const onData = () => {
      const m = /listening on tcp:\/\/[^\n]*\n/.exec(output.join("")); // the whole line, with its ws:// listener
      if (m) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        resolve(m[0]);
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", () => {
      clearTimeout(timer);
      reject(new Error(`${label} exited at start: ${output.join("")}`));
    });
  });
  const stop = async () => {
    await stopChild(child);
    if (dataDir !== undefined) removeDir(dataDir);
  };
  const port = Number((transport === "ws" ? /\bws:\/\/[^\s,|]*:(\d+)/ : /\btcp:\/\/[^\s,|]*:(\d+)/).exec(line)?.[1]);
  if (!(port > 0)) {
    await stop();
    throw new Error(`${label} printed no ${transport}:// listener: ${line}`);
  }
  return {
    name: "edgemq", runtime, label, store: storeName, durable: store !== "memory", host: "127.0.0.1", port, transport, path: o.wsPath,
    pid: listenerPid(child.pid, port), nodes: 1, check, stop,
  };
}

/**
 * The runtime's floor (bench/lib/floor-server.ts: accept, answer CONNECT with
 * a bare CONNACK, hold) on `runtime`, pinned like edgemq, over tcp: what the
 * runtime itself costs per connection, which edgemq's idle and connection
 * rate figures are divided by (issue 14).
 */
export async function startFloor(o: SpawnOptions, runtime: Runtime): Promise<Target> {
  const file = path.join(ROOT, "bench/lib/floor-server.ts");
  const command = runtime === "node" ? [process.execPath, file] : runtime === "bun" ? [path.join(ROOT, "node_modules/.bin/bun"), "run", file] : [path.join(ROOT, "node_modules/.bin/deno"), "run", "--allow-net", file];
  const argv = pinned(o.cpu, [...command, "--port", "0"]);
  const label = `floor (${runtime}, tcp)`;
  const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const check = watch(child, label, output);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start within 20 s: ${output.join("")}`)), 20000);
    const onData = () => {
      const m = /listening on tcp:\/\/[^\s]*:(\d+)/.exec(output.join(""));
      if (m) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", () => {
      clearTimeout(timer);
      reject(new Error(`${label} exited at start: ${output.join("")}`));
    });
  }).catch(async (e: unknown) => {
    await stopChild(child);
    throw e;
  });
  return {
    name: "floor", runtime, label, store: "none", durable: false, host: "127.0.0.1", port, transport: "tcp", path: o.wsPath,
    pid: listenerPid(child.pid, port), nodes: 1, check, stop: () => stopChild(child),
  };
}

/**
 * The process that holds the listening socket on `port`: `pid` itself or one
 * of its descendants (a runtime may start through a launcher). It is the one
 * whose CPU time and memory are measured; `pid` when it cannot be told.
 */
export function listenerPid(pid: number | undefined, port: number): number | undefined {
  if (pid === undefined) return undefined;
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const l of text.split("\n").slice(1)) {
      const f = l.trim().split(/\s+/);
      // local address "ADDR:PORT" (hex), state 0A = LISTEN, inode in field 10
      if (f.length > 9 && f[3] === "0A" && parseInt(f[1]!.split(":").pop()!, 16) === port) inodes.add(f[9]!);
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length && i < 64; i++) {
    try {
      for (const task of readdirSync(`/proc/${tree[i]}/task`)) {
        for (const c of readFileSync(`/proc/${tree[i]}/task/${task}/children`, "utf8").split(" ").filter(Boolean)) tree.push(Number(c));
      }
    } catch {
      // gone, or no /proc
    }
  }
  for (const p of tree) {
    try {
      for (const fd of readdirSync(`/proc/${p}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${p}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return p;
      }
    } catch {
      // not ours to read, or gone
    }
  }
  return pid;
}

/** A process's command line and thread count from /proc, for the log. */
export function describePid(pid: number | undefined): string {
  if (pid === undefined) return "no pid";
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).map((a) => !path.isAbsolute(a) || path.relative(ROOT, a).startsWith("..") ? a : path.relative(ROOT, a) || a).join(" ");
    const threads = /Threads:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return `pid ${pid}: ${cmd}, ${threads} threads`;
  } catch {
    return `pid ${pid}`;
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Waits until host:port accepts a TCP connection (and `alive()` does not throw). */
export async function waitForPort(host: string, port: number, ms: number, alive: () => void = () => {}): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host, () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    alive();
    if (Date.now() > until) throw new Error(`nothing listens on ${host}:${port}`);
    await sleep(50);
  }
}

/**
 * `mosquitto -c <conf>` with limits comparable to edgemq's, on the pinned
 * CPU. For WebSocket it gets a `protocol websockets` listener as well as a
 * TCP one that nothing uses: Mosquitto 2.0.11 exits with "Unable to start any
 * listening sockets" when its only listener is a WebSocket one. A build
 * without WebSocket support fails to start, which the caller reports.
 *
 * With `persistence`, Mosquitto keeps its database on disk the only way it
 * can: `persistence true` in a fresh `persistence_location`, written whole
 * every `autosave_interval` seconds (and at a clean exit). It acknowledges a
 * message before it is on disk, so a crash loses up to that interval of
 * acknowledged messages: periodic, not per message like edgemq's fsync mode.
 */
export async function startMosquitto(o: SpawnOptions, transport: Transport, persistence = false): Promise<Target> {
  const port = await freePort();
  const wsPort = transport === "ws" ? await freePort() : undefined;
  const dir = makeDir(tmpdir(), "edgemq-bench-");
  const conf = path.join(dir, "mosquitto.conf");
  writeFileSync(conf, [
    `listener ${port} 127.0.0.1`,
    ...(wsPort === undefined ? [] : [`listener ${wsPort} 127.0.0.1`, "protocol websockets"]),
    "allow_anonymous true",
    // No limit: Mosquitto 2.0.11 drops QoS 1 messages for a connected
    // subscriber once the total ever queued for it passes max_queued_messages
    // ("Outgoing messages are being dropped"), even with a short queue. The
    // generator's end-to-end window keeps the real queue short anyway.
    "max_queued_messages 0",
    `max_inflight_messages ${o.maxInflight}`,
    "max_connections -1",
    ...(persistence ? ["persistence true", `persistence_location ${dir}/`, "persistence_file mosquitto.db", `autosave_interval ${o.mosquittoAutosave}`, "autosave_on_changes false"] : ["persistence false"]),
    "set_tcp_nodelay true", // edgemq disables Nagle's algorithm too
    "log_dest stderr",
    "log_type error",
    "log_type warning",
    "",
  ].join("\n"));
  const argv = pinned(o.cpu, ["mosquitto", "-c", conf]);
  const label = persistence ? `mosquitto (${transport}, autosave ${o.mosquittoAutosave} s)` : `mosquitto (${transport})`;
  const child = spawnTracked(argv);
  const output: string[] = [];
  const check = watch(child, label, output);
  const stop = async () => {
    await stopChild(child);
    removeDir(dir);
  };
  const listen = wsPort ?? port;
  try {
    await waitForPort("127.0.0.1", listen, 10000, check);
    check();
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    name: "mosquitto", runtime: undefined, label, store: persistence ? `autosave ${o.mosquittoAutosave} s` : "memory", durable: persistence,
    host: "127.0.0.1", port: listen, transport, path: o.wsPath,
    pid: listenerPid(child.pid, listen), nodes: 1, check, stop,
  };
}

/** A broker someone else runs (--port given): nothing to start or stop. */
export function external(name: string, host: string, port: number, transport: Transport, wsPath: string, pid: number | undefined): Target {
  return { name, runtime: undefined, label: `${name} (${transport})`, store: "unknown", durable: false, host, port, transport, path: wsPath, pid, nodes: 1, check: () => {}, stop: async () => {} };
}
