// What one idle connection costs a broker, measured precisely: the broker
// (edgemq on Node or Bun, or the bare-runtime floor) runs with a probe that
// collects garbage before reading its memory, so that the figures are what
// the connections keep. `node bench/idle-memory.ts [--runtime node|bun]
// [--connections N] [--target edgemq|floor] [--snapshot]`; --snapshot (Node)
// also prints the heap's growth by constructor, per connection (KEEP_SNAPSHOT=1
// keeps the two .heapsnapshot files in the temp directory for a closer look).
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { connectBytes } from "./lib/client.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : d;
};
const runtime = arg("--runtime", "node");
const target = arg("--target", "edgemq");
const connections = Number(arg("--connections", "5000"));
const snapshot = process.argv.includes("--snapshot") && runtime === "node";
const probe = path.join(ROOT, "bench/lib/memory-probe.ts");

function command(): string[] {
  const bun = path.join(ROOT, "node_modules/.bin/bun");
  const main = target === "floor" ? [path.join(ROOT, "bench/lib/floor-server.ts")] : [path.join(ROOT, runtime === "node" ? "adapters/node" : "adapters/bun")];
  const flags = target === "floor" ? ["--port", "0"] : ["--port", "0", "--sys-interval", "0"];
  return runtime === "node" ? [process.execPath, "--expose-gc", "--import", probe, ...main, ...flags] : [bun, "run", "--preload", probe, ...main, ...flags];
}

interface Memory { rss: number; heapUsed: number; external: number; arrayBuffers: number }

const argv = command();
const dir = os.tmpdir();
const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...(snapshot ? { EDGEMQ_HEAP_SNAPSHOT: path.join(dir, "edgemq-idle") } : {}) } });
let out = "";
let err = "";
child.stdout!.on("data", (b: Buffer) => (out += b));
child.stderr!.on("data", (b: Buffer) => (err += b));

async function until<T>(f: () => T | undefined, ms = 60000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end || child.exitCode !== null) throw new Error(`gave up waiting; output:\n${out}\n${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function measure(): Promise<{ memory: Memory; snapshot?: string }> {
  const before = err.length;
  child.kill("SIGUSR2");
  const line = await until(() => /MEMORY (.*)\n/.exec(err.slice(before))?.[1]);
  const snap = /SNAPSHOT (.*)\n/.exec(err.slice(before))?.[1];
  return { memory: JSON.parse(line) as Memory, snapshot: snap };
}

function connect(port: number, i: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => {
      s.write(connectBytes(5, `idle-${i}`)); // as the bench's idle scenario: no keep alive, Clean Start
    });
    s.once("data", (b) => (b[0] === 0x20 ? resolve(s) : reject(new Error(`not a CONNACK: ${b[0]}`))));
    s.once("error", reject);
  });
}

async function open(port: number, n: number, from: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < n) sockets.push(await connect(port, from + next++));
  }));
  return sockets;
}

// Self size per node name across a V8 heap snapshot.
function bySize(file: string): Map<string, { size: number; count: number }> {
  const snap = JSON.parse(readFileSync(file, "utf8")) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const fields = snap.snapshot.meta.node_fields;
  const n = fields.length;
  const [typeAt, nameAt, sizeAt] = [fields.indexOf("type"), fields.indexOf("name"), fields.indexOf("self_size")];
  const types = snap.snapshot.meta.node_types[0];
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += n) {
    const type = types[snap.nodes[i + typeAt]!]!;
    const name = type === "object" || type === "closure" || type === "native" ? snap.strings[snap.nodes[i + nameAt]!]! : `(${type})`;
    const key = `${type}:${name}`.slice(0, 80);
    const e = out.get(key) ?? { size: 0, count: 0 };
    e.size += snap.nodes[i + sizeAt]!;
    e.count++;
    out.set(key, e);
  }
  if (!process.env.KEEP_SNAPSHOT) rmSync(file);
  return out;
}

try {
  const port = Number(await until(() => /listening on tcp:\/\/[^\s]*:(\d+)/.exec(out)?.[1]));
  // A first round warms the code paths (and the runtime's pools) up, then goes.
  for (const s of await open(port, 500, 1_000_000)) s.destroy();
  await new Promise((r) => setTimeout(r, 3000));
  const a = await measure();
  const t0 = performance.now();
  const sockets = await open(port, connections, 0);
  const seconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 1500));
  const b = await measure();
  const per = (k: keyof Memory) => Math.round((b.memory[k] - a.memory[k]) / connections);
  console.log(`${target} on ${runtime}, ${connections} idle MQTT 5 connections (opened in ${seconds.toFixed(1)} s): per connection rss ${per("rss")} B, heap ${per("heapUsed")} B, external ${per("external")} B, array buffers ${per("arrayBuffers")} B`);
  if (a.snapshot && b.snapshot) {
    const [x, y] = [bySize(a.snapshot), bySize(b.snapshot)];
    const rows = [...y].map(([k, v]) => [k, (v.size - (x.get(k)?.size ?? 0)) / connections, (v.count - (x.get(k)?.count ?? 0)) / connections] as const)
      .filter(([, s]) => Math.abs(s) >= 4).sort((p, q) => q[1] - p[1]);
    for (const [k, s, c] of rows) console.log(`${s.toFixed(0).padStart(6)} B ${c.toFixed(2).padStart(6)}×  ${k}`);
    console.log(`${rows.reduce((t, r) => t + r[1], 0).toFixed(0)} B per connection in the heap snapshot`);
  }
  for (const s of sockets) s.destroy();
} finally {
  child.kill("SIGTERM");
}
