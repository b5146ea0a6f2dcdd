// `npm run bench [-- options]`: a load generator for MQTT brokers, and a
// runner that measures edgemq against Mosquitto on the same machine in the
// same run (`--help` lists the options).
//
// Method
// - The brokers are separate processes, one per broker, runtime and
//   transport: edgemq on each --runtime (node: `node adapters/node`, bun:
//   `bun run adapters/bun`, deno: `deno run --allow-net --allow-read
//   --allow-env adapters/deno/src/main.ts`, the last two from node_modules/.bin;
//   all with `--port 0 --sys-interval 0 --max-queued N`, plus `--ws-port 0`
//   for ws) and, when it is on the PATH, Mosquitto (`mosquitto -c` with a
//   listener on 127.0.0.1, anonymous access, Nagle off like edgemq, a
//   64-message in-flight window like edgemq's, and no queue limit; for ws a
//   `protocol websockets` listener too: see bench/lib/brokers.ts). The pid
//   measured is the process holding the listening socket (found through
//   /proc/net/tcp and /proc/<pid>/fd), so a launcher in between would not be
//   measured by mistake; with every thread of the broker on one pinned core,
//   a wrong pid would show as "others" taking that core. With `taskset` and
//   two or more CPUs the brokers are pinned to one CPU (--broker-cpu,
//   default 0) and this generator re-runs itself pinned to another
//   (--gen-cpu, default 1): the broker has one core, the load another. All
//   brokers live through the whole run and each scenario runs against each
//   of them in turn (Mosquitto first), so that background load hits them
//   alike; every edgemq figure is divided by Mosquitto's in the same
//   scenario over the same transport (over tcp when this Mosquitto cannot
//   serve WebSocket). With --port the generator measures a broker that is
//   already running (--broker-pid for its CPU and memory).
// - A cluster (--nodes 2, or --preset cluster): one `nats-server -js` (a fresh
//   store directory) and two edgemq nodes joined to it with `--cluster`, all
//   three on the brokers' CPU, so that the cluster has the one core a single
//   node has and its figures show what crossing nodes costs, not scaling.
//   Publishers connect to node A and subscribers to node B, so every message
//   crosses NATS; its CPU figures add up the three processes. Each cluster row
//   is divided by the same scenario on one edgemq node in the same run.
// - The clients use edgemq's codec (encodePacket, FrameDecoder), not an MQTT
//   library: a publisher encodes its PUBLISH once and copies it into batches
//   of up to 64 messages (64 KiB), patching the sequence number, check byte
//   and packet id, one write per batch; subscribers PUBACK every QoS 1
//   message, one write per chunk read. Over tcp they are raw sockets whose
//   reads use `onread` into a shared buffer instead of "data" events. Over ws
//   they are the `ws` package's client (subprotocol mqtt, binary frames, no
//   compression, path --ws-path): a batch is one frame, masked with an
//   all-zero key so that the generator does not XOR every byte it sends, and
//   every message received is decoded as it comes. In a CPU profile of the
//   generator at its limit (fan-out, QoS 0) ws's own code is about 2% of the
//   generator's time; MQTT decoding dominates over both transports, and a
//   message costs the generator 1.1–1.4× as much over ws as over tcp
//   (Buffer allocation and garbage collection on the "data" event path).
// - Throughput is a closed loop. A publisher sends while it has credit: at
//   most --e2e-window messages per subscriber in flight end to end (sent, not
//   yet seen by every subscriber that expects them; a subscriber's budget is
//   split among the publishers it hears), at QoS 1 also at most --window
//   unacknowledged PUBLISH (capped by the broker's Receive Maximum), and never
//   past a full socket buffer (it waits for "drain"). Once starved it resumes
//   when a quarter of its window (at most a batch) has come back, so that
//   credit returning one message at a time does not become one write per
//   message. The end-to-end window keeps the brokers' per-subscriber queues
//   short (no broker has a reason to drop) while keeping enough in flight to
//   saturate them. The figure is messages delivered to subscribers per
//   second, counted over --seconds after --warmup seconds of load; broker
//   µs/msg is the broker's CPU time divided by those messages, which holds
//   even when something else (the generator, other processes) set the rate.
// - Every payload carries (publisher id, sequence number, send time, check
//   byte); subscribers keep a bitmap per publisher and count duplicates,
//   messages older than one already seen (reordered), and payloads of the
//   wrong size, topic or check byte (corrupt). After the window the
//   publishers stop, the run drains (until everything arrived, or nothing
//   did for 2 s), and lost = published - distinct seen, per subscriber that
//   should have seen them.
// - Latency: one publisher paced at --rate msg/s (open loop: a 1 ms timer
//   sends what is due, stamped with performance.now() when written) to one
//   subscriber in the same process; latency is receive time minus send time,
//   for messages sent in the measured window.
// - Idle connections: --idle connections that CONNECT and then do nothing;
//   the broker's VmRSS (/proc/<pid>/status) before and after, divided by the
//   connections open. Run first, on brokers that have done little else.
//   bench/idle-memory.ts measures the same after a garbage collection in the
//   broker (steadier), and by constructor with --snapshot.
// - Runtime floor (idle and connrate; --no-floor leaves it out): per runtime,
//   bench/lib/floor-server.ts (accept, a bare CONNACK, hold) in its own
//   pinned process; edgemq's rows are also divided by it (issue 14).
// - Durability (--store fsync,batched, or --preset durability): edgemq with
//   SQLite in a fresh data directory (--data-dir, default the system's temp
//   directory; its filesystem is named in the report) in each mode, beside
//   edgemq's memory store, Mosquitto without persistence and Mosquitto with
//   `persistence true` saving every --mosquitto-autosave seconds. The
//   subscribers then hold lasting sessions (--session-expiry), so that every
//   QoS 1 message is stored for them: edgemq's fsync mode commits it (one
//   fsync per event-loop turn, shared by all the messages of that turn)
//   before the PUBACK, batched mode acknowledges at once and commits within
//   --store-window ms, and Mosquitto writes its whole database at each
//   autosave. Each durable row is also divided by the same edgemq on the
//   memory store: the cost of durability.
// - Connection rate: --conn-parallel loops of TCP connect (and WebSocket
//   upgrade), CONNECT, CONNACK, DISCONNECT and close; cycles per second over the measured window.
// - CPU: the broker's utime+stime from /proc/<pid>/stat and this process's
//   process.cpuUsage(), over the measured window, as % of one core. A figure
//   taken while the generator used ≥ --gen-bound % of its core is flagged
//   "gen-bound": it is the generator's limit, not the broker's. When pinned,
//   the busy time of both cores (/proc/stat) minus the two processes' own
//   shows what other processes took of them; ≥ 10% of either core is flagged
//   "contended" (the figure may then be low). On loopback the kernel's TCP
//   work for a segment is mostly charged to the process that sends it.
import { spawn, spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { QoS } from "@edgemq/core/codec";
import {
  describePid, external, mosquittoVersion, onPath, type Runtime, RUNTIMES, type SpawnOptions, startEdgemq, startFloor, startMosquitto, STORE_MODES, type StoreMode, type Target,
  TRANSPORTS,
} from "./lib/brokers.ts";
import type { Transport } from "./lib/client.ts";
import { natsServerVersion, startEdgemqCluster } from "./lib/cluster.ts";
import { markdown } from "./lib/report.ts";
import { connRate, type CpuFigures, idle, latency, type Result, type RunOptions, settle, type Shape, throughput } from "./lib/scenarios.ts";

const USAGE = `Usage: npm run bench -- [options]

  --scenarios <list>     fan-in,fan-out,pairs,latency,idle,connrate (default: all)
  --qos <list>           QoS levels for throughput and latency: 0,1 (default 0,1)
  --payload <list>       payload sizes in bytes, at least 17 (default 64,1024)
  --seconds <s>          measured seconds per run (default 3)
  --warmup <s>           seconds of load before measuring (default 1)
  --preset <name>        runtimes: fan-in, fan-out and pairs at QoS 0 and 1 with 64 B payloads,
                         edgemq on node, bun and deno over tcp and ws; durability: QoS 1 to lasting sessions on
                         each store; cluster: fan-in, fan-out and pairs at QoS 0 and 1, 64 B, edgemq on one
                         node and as a 2-node cluster over NATS; cluster-lasting: QoS 1 to lasting sessions,
                         one node on memory and SQLite beside the cluster (other options override a preset's)
  --target <t>           edgemq, mosquitto or both (default both, or edgemq without mosquitto);
                         with --port, the name to report that broker under
  --runtime <list>       runtimes to run edgemq on: node,bun,deno (default node); one process each
  --transport <list>     how the clients connect: tcp,ws (default tcp); ws is MQTT over WebSocket
                         (binary frames, subprotocol mqtt); each is compared with Mosquitto over the
                         same transport when Mosquitto can serve it, else over tcp
  --ws-path <path>       WebSocket request path (default /mqtt)
  --host <addr>          broker address with --port (default 127.0.0.1)
  --port <n>             benchmark a running broker at host:port instead of spawning one
  --broker-pid <pid>     that broker's pid, for its CPU and memory figures
  --mqtt <4|5>           protocol level (default 5)
  --nodes <list>         edgemq as one node (1) and/or a cluster (2): two nodes joined over one nats-server with
                         JetStream, publishers on one node, subscribers on the other (default 1); a cluster's
                         nodes use the memory store (JetStream keeps their QoS 1/2 messages and sessions)
  --store <list>         edgemq's stores: memory,fsync,batched (default memory); fsync and batched are SQLite
                         in a fresh data directory, and add Mosquitto with persistence to the comparison
  --store-window <ms>    the batched mode's commit window (default 100)
  --data-dir <path>      where the data directories are made (default the system's temp directory)
  --mosquitto-autosave <s>  Mosquitto's autosave_interval when it runs with persistence (default 1)
  --session-expiry <s>   subscribers' session expiry: above 0 their sessions last and their messages are
                         stored (default 0; 300 in the durability preset)
  --fan-in-pubs <n>      publishers in fan-in (default 16)
  --fan-out-subs <n>     subscribers in fan-out (default 100)
  --pairs <n>            publisher/subscriber pairs (default 50)
  --rate <n>             messages per second in the latency scenario (default 5000)
  --churn <n>            connections opened and closed (CONNECT, CONNACK, close) just before each latency
                         measurement, to measure the tail right after a burst of churn (default 0)
  --idle <n>             idle connections for the memory figure (default 10000)
  --conn-parallel <n>    connections opened in parallel for the connection rate (default 16)
  --window <n>           unacknowledged QoS 1 PUBLISH per publisher (default 64)
  --e2e-window <n>       messages in flight end to end per subscriber (default 512)
  --max-queued <n>       per-subscriber queue limit given to both spawned brokers (default 10000)
  --broker-cpu <n>       CPU for the brokers (default 0)
  --gen-cpu <n>          CPU for this generator (default 1)
  --no-pin               do not use taskset
  --no-floor             leave out each runtime's floor (a bare server: accept, CONNACK, hold) in idle and connrate
  --gen-bound <pct>      generator CPU at which a figure is flagged gen-bound (default 90)
  --json                 print the results as JSON instead of markdown
  --help                 show this text`;

const ALL_SCENARIOS = ["idle", "connrate", "latency", "fan-in", "fan-out", "pairs"] as const;
type Scenario = (typeof ALL_SCENARIOS)[number];

/** Option sets for --preset: defaults for the options not given. */
const PRESETS: Record<string, Record<string, string>> = {
  // The README's table of runtimes: 6 scenarios × 8 targets (Mosquitto over tcp
  // and ws, edgemq on three runtimes over each), about 4 minutes on two cores.
  runtimes: { "--scenarios": "fan-in,fan-out,pairs", "--qos": "0,1", "--payload": "64", "--runtime": "node,bun,deno", "--transport": "tcp,ws" },
  // The README's durability table: QoS 1 to lasting sessions with edgemq's memory store and SQLite in
  // both durable modes, beside Mosquitto without and with persistence.
  durability: { "--scenarios": "fan-in,fan-out,pairs,latency", "--qos": "1", "--payload": "64", "--store": "memory,fsync,batched", "--session-expiry": "300", "--rate": "2000" },
  // The README's cluster table: the throughput shapes on one edgemq node and across two nodes over NATS, about a minute.
  // A deeper end-to-end window than the default, so that the cluster's longer path (a NATS hop) is not what limits it.
  cluster: { "--scenarios": "fan-in,fan-out,pairs", "--qos": "0,1", "--payload": "64", "--target": "edgemq", "--nodes": "1,2", "--e2e-window": "2048" },
  // The README's lasting-session rows of the cluster table: QoS 1 to lasting sessions across two nodes (acknowledged once the
  // messages stream has it), beside one node on the memory store and on SQLite (fsync), about a minute.
  "cluster-lasting": {
    "--scenarios": "fan-in,fan-out,pairs", "--qos": "1", "--payload": "64", "--target": "edgemq", "--nodes": "1,2", "--store": "memory,fsync",
    "--session-expiry": "300", "--e2e-window": "2048",
  },
};

interface Args {
  scenarios: Scenario[];
  stores: StoreMode[];
  qos: QoS[];
  payloads: number[];
  /** edgemq, mosquitto or both; with --port, the name to report the external broker under. */
  target: string;
  runtimes: Runtime[];
  /** 1: edgemq alone; 2: edgemq as two nodes over NATS. */
  nodes: number[];
  transports: Transport[];
  wsPath: string;
  host: string;
  port: number | undefined;
  brokerPid: number | undefined;
  pin: boolean;
  /** Whether idle and connrate also measure each runtime's floor (bench/lib/floor-server.ts). */
  floor: boolean;
  brokerCpu: number;
  genCpu: number;
  json: boolean;
  maxQueued: number;
  storeWindowMs: number;
  dataDir: string;
  mosquittoAutosave: number;
  run: RunOptions;
}

function parse(argv: string[]): Args | "help" {
  const values = new Map<string, string>();
  const bools = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--help" || a === "-h") return "help";
    if (a === "--json" || a === "--no-pin" || a === "--no-floor") {
      bools.add(a);
      continue;
    }
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf("=");
    if (eq > 0) values.set(a.slice(0, eq), a.slice(eq + 1));
    else if (i + 1 < argv.length) values.set(a, argv[++i]!);
    else throw new Error(`${a} needs a value`);
  }
  // A preset fills in what the command line leaves out.
  const preset = values.get("--preset");
  if (preset !== undefined) {
    const p = PRESETS[preset];
    if (p === undefined) throw new Error(`unknown preset ${preset}; known: ${Object.keys(PRESETS).join(", ")}`);
    for (const [k, v] of Object.entries(p)) if (!values.has(k)) values.set(k, v);
  }
  const known = new Set(USAGE.split("\n").map((l) => /^\s+(--[a-z0-9-]+)/.exec(l)?.[1]).filter((x) => x !== undefined));
  for (const k of values.keys()) if (!known.has(k)) throw new Error(`unknown option ${k} (see --help)`);
  const num = (k: string, d: number, min = 0) => {
    const v = values.get(k);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`${k} must be a number ≥ ${min}, got ${v}`);
    return n;
  };
  const list = (k: string, d: string) => (values.get(k) ?? d).split(",").map((s) => s.trim()).filter(Boolean);
  const scenarios = list("--scenarios", ALL_SCENARIOS.join(","));
  for (const s of scenarios) if (!(ALL_SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario ${s}; known: ${ALL_SCENARIOS.join(", ")}`);
  const qos = list("--qos", "0,1").map(Number);
  for (const q of qos) if (q !== 0 && q !== 1) throw new Error("--qos takes 0 and/or 1");
  const payloads = list("--payload", "64,1024").map(Number);
  for (const p of payloads) if (!Number.isInteger(p) || p < 17) throw new Error("--payload sizes must be integers of at least 17 bytes");
  const port = values.has("--port") ? num("--port", 0, 1) : undefined;
  const target = values.get("--target") ?? (port === undefined ? "both" : "target");
  if (port === undefined && target !== "edgemq" && target !== "mosquitto" && target !== "both") throw new Error("--target is edgemq, mosquitto or both");
  if (port !== undefined && target === "both") throw new Error("with --port, --target names the one broker being measured");
  const runtimes = list("--runtime", "node");
  for (const r of runtimes) if (!(RUNTIMES as readonly string[]).includes(r)) throw new Error(`--runtime takes ${RUNTIMES.join(", ")}; got ${r}`);
  const transports = list("--transport", "tcp");
  for (const t of transports) if (!(TRANSPORTS as readonly string[]).includes(t)) throw new Error(`--transport takes ${TRANSPORTS.join(", ")}; got ${t}`);
  if (port !== undefined && values.has("--runtime")) throw new Error("--runtime picks how edgemq is spawned; with --port nothing is spawned");
  if (port !== undefined && transports.length !== 1) throw new Error("with --port, --transport names the one transport that port speaks");
  const wsPath = values.get("--ws-path") ?? "/mqtt";
  if (!wsPath.startsWith("/")) throw new Error("--ws-path starts with /");
  const stores = list("--store", "memory");
  for (const m of stores) if (!(STORE_MODES as readonly string[]).includes(m)) throw new Error(`--store takes ${STORE_MODES.join(", ")}; got ${m}`);
  if (port !== undefined && values.has("--store")) throw new Error("--store picks how edgemq is spawned; with --port nothing is spawned");
  const nodes = [...new Set(list("--nodes", "1").map(Number))].sort();
  for (const n of nodes) if (n !== 1 && n !== 2) throw new Error(`--nodes takes 1 and/or 2; got ${n}`);
  if (port !== undefined && values.has("--nodes")) throw new Error("--nodes picks how edgemq is spawned; with --port nothing is spawned");
  // A cluster keeps what lasts in JetStream: its nodes run on the memory store, beside one node on each store asked for.
  if (nodes.includes(2) && !stores.includes("memory")) throw new Error("a cluster (--nodes 2) is divided by one node on the memory store: add memory to --store");
  if (nodes.includes(2) && target === "mosquitto") throw new Error("--nodes 2 is edgemq's cluster; --target mosquitto runs no edgemq");
  const mqtt = num("--mqtt", 5, 4);
  if (mqtt !== 4 && mqtt !== 5) throw new Error("--mqtt is 4 or 5");
  return {
    // Idle connections first, on brokers that have done little else; then the rest in a fixed order.
    scenarios: ALL_SCENARIOS.filter((s) => scenarios.includes(s)),
    stores: STORE_MODES.filter((m) => stores.includes(m)),
    storeWindowMs: num("--store-window", 100, 1),
    dataDir: values.get("--data-dir") ?? os.tmpdir(),
    mosquittoAutosave: num("--mosquitto-autosave", 1, 1),
    qos: qos as QoS[],
    payloads,
    target,
    runtimes: [...new Set(runtimes)] as Runtime[],
    nodes,
    transports: TRANSPORTS.filter((t) => transports.includes(t)),
    wsPath,
    host: values.get("--host") ?? "127.0.0.1",
    port,
    brokerPid: values.has("--broker-pid") ? num("--broker-pid", 0, 1) : undefined,
    pin: !bools.has("--no-pin"),
    floor: !bools.has("--no-floor"),
    brokerCpu: num("--broker-cpu", 0),
    genCpu: num("--gen-cpu", 1),
    json: bools.has("--json"),
    maxQueued: num("--max-queued", 10000, 1),
    run: {
      version: mqtt,
      warmup: num("--warmup", 1),
      seconds: num("--seconds", 3, 0.1),
      e2eWindow: num("--e2e-window", 512, 1),
      qos1Window: num("--window", 64, 1),
      fanInPubs: num("--fan-in-pubs", 16, 1),
      fanOutSubs: num("--fan-out-subs", 100, 1),
      pairs: num("--pairs", 50, 1),
      idle: num("--idle", 10000, 1),
      rate: num("--rate", 5000, 1),
      churn: num("--churn", 0),
      connConcurrency: num("--conn-parallel", 16, 1),
      genBoundPct: num("--gen-bound", 90),
      cores: { broker: undefined, gen: undefined },
      sessionExpiry: num("--session-expiry", 0),
    },
  };
}

const log = (s: string) => process.stderr.write(`${s}\n`);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Whether this process may pin itself and the brokers (taskset, two or more CPUs). */
function canPin(a: Args): boolean {
  return a.pin && onPath("taskset") && os.availableParallelism() >= 2;
}

/**
 * Re-runs this script pinned to the generator's CPU, with the open-file
 * limit raised to its hard limit (10,000 idle connections need the fds).
 */
function reexecPinned(a: Args): Promise<number> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn("sh", ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec taskset -c "$BENCH_GEN_CPU" "$0" "$@"',
    process.execPath, ...process.execArgv, script, ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, EDGEMQ_BENCH_PINNED: "1", BENCH_GEN_CPU: String(a.genCpu) },
  });
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => child.kill(sig));
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

function describeMachine(pinned: boolean, a: Args, targets: Target[]): string {
  const cpus = os.cpus();
  const mosquitto = targets.some((t) => t.name === "mosquitto") ? `; mosquitto ${mosquittoVersion()}` : "";
  const nats = targets.some((t) => t.nodes > 1) ? `; nats-server ${natsServerVersion()} (JetStream on)` : "";
  const runtimes = [...new Set(targets.flatMap((t) => (t.runtime === undefined ? [] : [t.runtime])))].map((r) => `${r} ${runtimeVersion(r)}`);
  return `${cpus[0]?.model ?? "unknown CPU"}, ${cpus.length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}; ` +
    `generator on node ${process.versions.node}${runtimes.length ? `; edgemq on ${runtimes.join(", ")}` : ""}${mosquitto}${nats}; MQTT ${a.run.version === 5 ? "5.0" : "3.1.1"}; ` +
    (!pinned ? "not pinned" : a.port === undefined ? `brokers on CPU ${a.brokerCpu} (one process per broker, runtime, transport and store${targets.some((t) => t.nodes > 1) ? "; a cluster's nodes and NATS server all there" : ""}), generator on CPU ${a.genCpu}` : `generator on CPU ${a.genCpu}`) +
    `; ${a.run.warmup} s warm-up + ${a.run.seconds} s measured per run` +
    (a.run.sessionExpiry > 0 ? `; subscribers hold lasting sessions (expiry ${a.run.sessionExpiry} s)` : "") +
    (a.run.churn > 0 && a.scenarios.includes("latency") ? `; ${a.run.churn} connections opened and closed just before each latency run` : "") +
    (targets.some((t) => t.durable) ? `; data directories in ${a.dataDir} (${filesystem(a.dataDir)})` : "");
}

/** The filesystem type and device of a directory, from df (fsync costs what that device makes it cost). */
function filesystem(dir: string): string {
  const out = spawnSync("df", ["-T", dir], { encoding: "utf8" }).stdout ?? "";
  const f = out.trim().split("\n").pop()?.split(/\s+/) ?? [];
  return f.length >= 2 ? `${f[1]} on ${f[0]}` : "filesystem unknown";
}

/** A runtime's version, as it reports it. */
function runtimeVersion(runtime: Runtime): string {
  if (runtime === "node") return process.versions.node;
  const out = spawnSync(path.join(ROOT, "node_modules/.bin", runtime), ["--version"], { encoding: "utf8" });
  return /(\d+\.\d+\.\d+)/.exec(out.stdout ?? "")?.[1] ?? "unknown";
}

async function main(): Promise<number> {
  let a: Args | "help";
  try {
    a = parse(process.argv.slice(2));
  } catch (e) {
    log(`bench: ${(e as Error).message}`);
    return 2;
  }
  if (a === "help") {
    console.log(USAGE);
    return 0;
  }
  // Once pinned, this process sees a single CPU: the re-run knows it is pinned from its environment.
  const pin = process.env.EDGEMQ_BENCH_PINNED === "1" || canPin(a);
  if (pin && process.env.EDGEMQ_BENCH_PINNED !== "1") return reexecPinned(a);

  if (pin) a.run.cores = { broker: a.port === undefined ? a.brokerCpu : undefined, gen: a.genCpu };
  const spawnOptions: SpawnOptions = {
    cpu: pin ? a.brokerCpu : undefined, maxQueued: a.maxQueued, maxInflight: 64, wsPath: a.wsPath,
    dataParent: a.dataDir, storeWindowMs: a.storeWindowMs, mosquittoAutosave: a.mosquittoAutosave,
  };
  const durable = a.stores.some((m) => m !== "memory");
  const targets: Target[] = [];
  const stopAll = async () => {
    for (const t of targets.splice(0)) await t.stop();
  };
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));
  process.once("SIGTERM", () => void stopAll().then(() => process.exit(143)));
  try {
    const notes: string[] = [];
    if (a.port !== undefined) {
      targets.push(external(a.target, a.host, a.port, a.transports[0]!, a.wsPath, a.brokerPid));
    } else {
      // Mosquitto first: it is the reference each edgemq figure is divided by.
      if (a.target !== "edgemq") {
        if (onPath("mosquitto")) {
          // Mosquitto over each transport it can serve; edgemq's figures over a transport it cannot serve are divided by its tcp figures.
          for (const transport of a.transports) {
            try {
              if (a.stores.includes("memory") || !durable) targets.push(await startMosquitto(spawnOptions, transport));
              // Beside edgemq's durable stores, Mosquitto with its (periodic) persistence.
              if (durable) targets.push(await startMosquitto(spawnOptions, transport, true));
            } catch (e) {
              if (transport === "tcp" || a.target === "mosquitto") throw e;
              const why = (e as Error).message.split("\n").filter((l) => /error/i.test(l)).pop() ?? (e as Error).message.slice(0, 200);
              log(`bench: mosquitto cannot serve MQTT over WebSocket here (${why.trim()}); ws figures are compared with Mosquitto over tcp`);
              notes.push(`This Mosquitto cannot serve MQTT over WebSocket, so edgemq's ws rows are divided by Mosquitto over tcp (marked "vs tcp").`);
              if (!a.transports.includes("tcp")) targets.push(await startMosquitto(spawnOptions, "tcp"));
            }
          }
        } else if (a.target === "mosquitto") throw new Error("mosquitto is not on the PATH");
        else log("bench: mosquitto is not on the PATH; measuring edgemq alone");
      }
      if (a.target !== "mosquitto") {
        for (const transport of a.transports) {
          for (const runtime of a.runtimes) {
            if (a.nodes.includes(1)) for (const store of a.stores) targets.push(await startEdgemq(spawnOptions, runtime, transport, store));
            if (a.nodes.includes(2)) targets.push(await startEdgemqCluster(spawnOptions, runtime, transport));
          }
        }
        // Each runtime's floor beside edgemq, for the scenarios about connections (issue 14).
        if (a.floor && a.scenarios.some((s) => s === "idle" || s === "connrate")) {
          for (const runtime of a.runtimes) if (runtime !== "deno") targets.push(await startFloor(spawnOptions, runtime));
        }
      }
      if (durable) {
        notes.push(`Stores: edgemq's "sqlite fsync" acknowledges a QoS 1 message (PUBACK) only once it is committed to disk (group commit: one fsync per event-loop turn for every message of that turn), so a crash loses nothing acknowledged; ` +
          `"sqlite batched ${a.storeWindowMs} ms" acknowledges at once and commits within ${a.storeWindowMs} ms, so a crash loses at most that window; "memory" keeps nothing over a restart. ` +
          `Mosquitto's persistence is periodic: it acknowledges at once and writes its whole database every ${a.mosquittoAutosave} s (autosave_interval), so a crash loses up to ${a.mosquittoAutosave} s of acknowledged messages. ` +
          `Durable edgemq rows are divided by Mosquitto with persistence, and also by the same edgemq on its memory store (the cost of durability).`);
      }
      if (targets.some((t) => t.nodes > 1)) {
        notes.push("A cluster row is two edgemq nodes joined over one nats-server (JetStream on), all three pinned to the core a single node has: " +
          "publishers on node A, subscribers on node B, so every message crosses NATS; its CPU and µs/msg add up the three processes. " +
          "It is divided by the same edgemq on one node in the same run (cluster / single node): the cost of crossing nodes, not scaling. " +
          "The ratio by CPU per msg is the single node's broker µs/msg over the cluster's: what the msg/s ratio is when both are limited by their core, " +
          "and less swayed than msg/s by other processes on the machine.");
      }
      if (targets.some((t) => t.name === "mosquitto" && t.transport === "ws")) {
        notes.push("Mosquitto's ws rows are its libwebsockets listener (`protocol websockets`)" +
          (targets.some((t) => t.name === "edgemq" && t.transport === "ws") ? "; edgemq's ws rows are divided by them." : "."));
      }
    }
    const machine = describeMachine(pin, a, targets);
    log(`bench: ${machine}`);
    const where = (e: { transport: string; host: string; port: number; path: string }) => (e.transport === "ws" ? `ws://${e.host}:${e.port}${e.path}` : `${e.host}:${e.port}`);
    for (const t of targets) {
      log(`bench: ${t.label} on ${where(t)}${t.subscribers ? ` (subscribers on ${where(t.subscribers)})` : ""} (${(t.pids ?? [t.pid]).map(describePid).join("; ")})`);
    }

    const results: Result[] = [];
    const each = async (what: string, fn: (t: Target) => Promise<Result>, floors = false) => {
      for (const t of targets) {
        if (t.name === "floor" && !floors) continue; // a floor only answers CONNECT
        await settle(t);
        const t0 = performance.now();
        try {
          const r = await fn(t);
          results.push(r);
          log(`bench: ${what} on ${t.label}: ${summary(r)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
        } catch (e) {
          t.check(); // a dead broker ends the run
          log(`bench: ${what} on ${t.label} failed: ${(e as Error).message}`);
        }
      }
    };
    for (const s of a.scenarios) {
      if (s === "idle") await each(`${a.run.idle} idle connections`, (t) => idle(t, a.run), true);
      else if (s === "connrate") await each("connection rate", (t) => connRate(t, a.run), true);
      else if (s === "latency") {
        for (const q of a.qos) for (const p of a.payloads) await each(`latency QoS ${q} ${p} B`, (t) => latency(t, q, p, a.run));
      } else {
        for (const q of a.qos) for (const p of a.payloads) await each(`${s} QoS ${q} ${p} B`, (t) => throughput(t, s as Shape, q, p, a.run));
      }
    }
    const ratios = targets.some((t) => t.name === "mosquitto") && targets.some((t) => t.name !== "mosquitto");
    if (a.json) {
      console.log(JSON.stringify({ machine, targets: targets.map((t) => ({ name: t.name, runtime: t.runtime, transport: t.transport, store: t.store })), options: a.run, results }, null, 2));
    } else {
      console.log(`## edgemq load benchmark\n\n${machine}\n\n${markdown(results)}\n\n` +
        (ratios ? "Ratios are edgemq / Mosquitto for the same scenario in the same run, over the same transport where Mosquitto serves it " +
          "(above 1× edgemq is faster, except for latency and memory, where lower is better). " : "") +
        notes.map((n) => `${n} `).join("") +
        "CPU is % of one core over the measured window; broker µs/msg is broker CPU time per delivered message. " +
        "gen-bound marks a figure limited by the load generator, not the broker; " +
        "contended marks a run in which other processes took ≥ 10% of the broker's or the generator's core.");
    }
    return 0;
  } catch (e) {
    log(`bench: ${(e as Error).stack ?? e}`);
    return 1;
  } finally {
    await stopAll();
  }
}

function summary(r: Result): string {
  const p = (x: number | undefined) => (x === undefined ? "–" : `${Math.round(x)}%`);
  const cpu = (x: CpuFigures) =>
    `broker ${p(x.brokerCpu)}${x.brokerCpuParts ? ` [A ${p(x.brokerCpuParts[0])}, B ${p(x.brokerCpuParts[1])}, NATS ${p(x.brokerCpuParts[2])}]` : ""} (others ${p(x.othersOnBrokerCore)}) gen ${p(x.genCpu)} (others ${p(x.othersOnGenCore)})${x.genBound ? " gen-bound" : ""}${x.contended ? " contended" : ""}`;
  const errs = r.errors.length ? ` errors: ${r.errors.join("; ")}` : "";
  switch (r.kind) {
    case "throughput":
      return `${Math.round(r.msgsPerSec)} msg/s (broker ${r.brokerUsPerMsg === undefined ? "–" : r.brokerUsPerMsg.toFixed(2)} µs/msg), lost ${r.lost} dup ${r.dup} reorder ${r.reorder} corrupt ${r.corrupt}, ${cpu(r)}${errs}`;
    case "latency":
      return `p50 ${r.p50.toFixed(3)} ms p90 ${r.p90.toFixed(3)} ms p99 ${r.p99.toFixed(3)} ms p99.9 ${r.p999.toFixed(3)} ms max ${r.max.toFixed(1)} ms at ${Math.round(r.achieved)} msg/s, lost ${r.lost}, ${cpu(r)}${errs}`;
    case "idle":
      return `${r.open} open, RSS ${r.rssBefore} → ${r.rssAfter} B, ${r.bytesPerConnection === undefined ? "–" : Math.round(r.bytesPerConnection)} B/conn, ${r.connectSeconds.toFixed(1)} s to open${errs}`;
    case "connrate":
      return `${Math.round(r.perSec)} conn/s (broker ${r.brokerUsPerConn === undefined ? "–" : Math.round(r.brokerUsPerConn)} µs/conn), ${r.failures} failures, ${cpu(r)}${errs}`;
  }
}

process.exitCode = await main();
