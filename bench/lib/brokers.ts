// Starting the brokers under test as separate processes, pinned to one CPU.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sleep } from "./util.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A broker to run scenarios against. */
export interface Target {
  /** "edgemq", "mosquitto", or the name given with --target for an external broker. */
  name: string;
  host: string;
  port: number;
  /** The broker's pid, for CPU and RSS; undefined for an external broker without --broker-pid. */
  pid: number | undefined;
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
function pinned(cpu: number | undefined, argv: string[]): string[] {
  return cpu === undefined ? argv : ["taskset", "-c", String(cpu), ...argv];
}

function watch(child: ChildProcess, name: string, output: string[]): () => void {
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

async function stopChild(child: ChildProcess): Promise<void> {
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
}

/** `node adapters/node --port 0 --sys-interval 0` on the pinned CPU. */
export async function startEdgemq(o: SpawnOptions): Promise<Target> {
  const argv = pinned(o.cpu, [process.execPath, path.join(ROOT, "adapters/node"), "--port", "0", "--sys-interval", "0", "--max-queued", String(o.maxQueued)]);
  const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const check = watch(child, "edgemq", output);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`edgemq did not start: ${output.join("")}`)), 15000);
    const onData = () => {
      const m = /listening on tcp:\/\/[^\s]*:(\d+)/.exec(output.join(""));
      if (m) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", () => reject(new Error(`edgemq exited at start: ${output.join("")}`)));
  });
  return { name: "edgemq", host: "127.0.0.1", port, pid: child.pid, check, stop: () => stopChild(child) };
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

/** Waits until host:port accepts a TCP connection. */
export async function waitForPort(host: string, port: number, ms: number): Promise<void> {
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
    if (Date.now() > until) throw new Error(`nothing listens on ${host}:${port}`);
    await sleep(50);
  }
}

/** `mosquitto -c <conf>` with limits comparable to edgemq's, on the pinned CPU. */
export async function startMosquitto(o: SpawnOptions): Promise<Target> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "edgemq-bench-"));
  const conf = path.join(dir, "mosquitto.conf");
  writeFileSync(conf, [
    `listener ${port} 127.0.0.1`,
    "allow_anonymous true",
    // No limit: Mosquitto 2.0.11 drops QoS 1 messages for a connected
    // subscriber once the total ever queued for it passes max_queued_messages
    // ("Outgoing messages are being dropped"), even with a short queue. The
    // generator's end-to-end window keeps the real queue short anyway.
    "max_queued_messages 0",
    `max_inflight_messages ${o.maxInflight}`,
    "max_connections -1",
    "persistence false",
    "set_tcp_nodelay true", // edgemq disables Nagle's algorithm too
    "log_dest stderr",
    "log_type error",
    "log_type warning",
    "",
  ].join("\n"));
  const argv = pinned(o.cpu, ["mosquitto", "-c", conf]);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const check = watch(child, "mosquitto", output);
  try {
    await waitForPort("127.0.0.1", port, 10000);
    check();
  } catch (e) {
    await stopChild(child);
    throw e;
  }
  return {
    name: "mosquitto", host: "127.0.0.1", port, pid: child.pid, check,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A broker someone else runs (--port given): nothing to start or stop. */
export function external(name: string, host: string, port: number, pid: number | undefined): Target {
  return { name, host, port, pid, check: () => {}, stop: async () => {} };
}
