// edgemq as a cluster for the load generator: one nats-server with JetStream
// and two edgemq nodes joined to it (`--cluster`), all on the brokers' pinned
// CPU, so that the cluster has the same one core a single node has and its
// figures show what crossing NATS costs. Publishers connect to node A,
// subscribers to node B: every message crosses NATS.
import { spawnSync } from "node:child_process";
import { freePort, listenerPid, makeDir, onPath, pinned, removeDir, type Runtime, type SpawnOptions, spawnTracked, startEdgemq, stopChild, type Target, waitForPort, watch } from "./brokers.ts";
import type { Transport } from "./client.ts";

/** nats-server's version, from `nats-server --version`. */
export function natsServerVersion(): string {
  const out = spawnSync("nats-server", ["--version"], { encoding: "utf8" });
  return /v?(\d+\.\d+\.\d+)/.exec(`${out.stdout}${out.stderr}`)?.[1] ?? "unknown";
}

/** A nats-server the bench started, with its client URL. */
interface RunningNats {
  url: string;
  pid: number | undefined;
  check(): void;
  stop(): Promise<void>;
}

/**
 * `nats-server -js` on a free loopback port with a fresh store directory
 * (JetStream holds the cluster's retained messages), on the pinned CPU.
 */
async function startNatsServer(o: SpawnOptions): Promise<RunningNats> {
  if (!onPath("nats-server")) throw new Error("nats-server is not on the PATH: install it (apt-get install nats-server) to measure a cluster");
  const port = await freePort();
  const dir = makeDir(o.dataParent, "edgemq-bench-nats-");
  const child = spawnTracked(pinned(o.cpu, ["nats-server", "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir]));
  const output: string[] = [];
  const check = watch(child, "nats-server", output);
  const stop = async () => {
    await stopChild(child);
    removeDir(dir);
  };
  try {
    await waitForPort("127.0.0.1", port, 10000, check);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url: `nats://127.0.0.1:${port}`, pid: listenerPid(child.pid, port), check, stop };
}

/**
 * Two edgemq nodes on `runtime` joined over a fresh nats-server: a target
 * whose publishers connect to node A and whose subscribers connect to node B.
 * Its CPU figures add up both nodes and the NATS server. Whatever fails on
 * the way, what was started is stopped.
 */
export async function startEdgemqCluster(o: SpawnOptions, runtime: Runtime, transport: Transport): Promise<Target> {
  const label = `edgemq cluster (${runtime}, ${transport}, A → NATS → B)`;
  const parts: { check(): void; stop(): Promise<void> }[] = [];
  const stop = async () => {
    for (const p of parts.splice(0).reverse()) await p.stop();
  };
  try {
    const nats = await startNatsServer(o);
    parts.push(nats);
    const node = async (id: string) => {
      const t = await startEdgemq(o, runtime, transport, "memory", { flags: ["--cluster", nats.url, "--node-id", `bench-${id}`], label: `${label} node ${id}` });
      parts.push(t);
      return t;
    };
    const a = await node("a");
    const b = await node("b");
    return {
      name: "edgemq", runtime, label, store: "memory", durable: false, host: a.host, port: a.port, transport, path: a.path,
      pid: a.pid, subscribers: { host: b.host, port: b.port, transport, path: b.path },
      pids: [a.pid, b.pid, nats.pid].filter((p) => p !== undefined), nodes: 2,
      check: () => {
        for (const p of parts) p.check();
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
