// Markdown tables of results: one row per broker, runtime, transport and
// store in each scenario, Mosquitto's first, and each other row's ratio to
// Mosquitto over the same transport (and, for a durable store, Mosquitto with
// persistence) in the same scenario of the same run (over tcp when this
// Mosquitto cannot serve the row's transport). When durable stores ran, a
// durable edgemq row is also divided by the same edgemq on its memory store;
// when a cluster ran, a cluster row by the same edgemq on one node.
import type { ConnRateResult, IdleResult, LatencyResult, Measured, Result, ThroughputResult } from "./scenarios.ts";

const int = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "–" : Math.round(x).toLocaleString("en-US"));
const pct = (x: number | undefined) => (x === undefined ? "–" : `${Math.round(x)}%`);
const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 1) : "–");
const us = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(2));
const size = (n: number) => (n >= 1024 ? `${n / 1024} KiB` : `${n} B`);

function row(cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

function table(head: string[], rows: string[][]): string {
  return [row(head), row(head.map(() => "---")), ...rows.map(row)].join("\n");
}

// Groups results by a key, keeping first-seen order.
function group<T extends Result>(results: T[], key: (r: T) => string): T[][] {
  const m = new Map<string, T[]>();
  for (const r of results) {
    const k = key(r);
    const g = m.get(k);
    if (g) g.push(r);
    else m.set(k, [r]);
  }
  return [...m.values()];
}

export const label = (t: string): string => (t === "mosquitto" ? "Mosquitto" : t === "floor" ? "runtime floor" : t);

const REFERENCE = "mosquitto";

// Whether the store column is shown: only when some result used another store than memory.
let showStore = false;
// Whether the nodes column is shown: only when some result came from a cluster.
let showNodes = false;

const nodesCell = (r: Measured) => (r.nodes > 1 ? `${r.nodes} (pub A → NATS → sub B)` : "1");

/** The broker, runtime and transport cells of a row (and its store, when stores vary; its nodes, when a cluster ran). */
function who(r: Measured): string[] {
  return [label(r.target), r.runtime ?? "–", r.transport, ...(showStore ? [r.store] : []), ...(showNodes ? [nodesCell(r)] : [])];
}

const whoHead = (): string[] => ["broker", "runtime", "transport", ...(showStore ? ["store"] : []), ...(showNodes ? ["nodes"] : [])];

/** A cluster row divided by the same edgemq (runtime, transport, store) on one node: the cost of crossing nodes. */
function ratioToSingle<T extends Result>(g: T[], r: T, value: (x: T) => number | undefined): string {
  if (r.target === REFERENCE) return "–";
  if (r.nodes <= 1) return "ref";
  const ref = g.find((x) => x.target === r.target && x.runtime === r.runtime && x.transport === r.transport && x.store === r.store && x.nodes === 1);
  const a = value(r);
  const b = ref === undefined ? undefined : value(ref);
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "–";
  return `${(a / b).toFixed(2)}×`;
}

/**
 * The ratio cell(s) of a row: `value(r) / value(reference)`, the reference
 * being Mosquitto over the row's transport in the same group, else over tcp
 * (then marked "vs tcp"); "ref" on Mosquitto's own rows.
 */
function ratioTo<T extends Result>(g: T[], r: T, value: (x: T) => number | undefined): string {
  if (r.target === REFERENCE) return "ref";
  // A durable row against Mosquitto with persistence, a memory one against Mosquitto without, when both ran.
  const ref = g.find((x) => x.target === REFERENCE && x.transport === r.transport && x.durable === r.durable) ??
    g.find((x) => x.target === REFERENCE && x.transport === r.transport) ?? g.find((x) => x.target === REFERENCE && x.transport === "tcp");
  const a = value(r);
  const b = ref === undefined ? undefined : value(ref);
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "–";
  return `${(a / b).toFixed(2)}×${ref!.transport !== r.transport ? ` (vs ${ref!.transport})` : ""}`;
}

function flags(r: Result & { genBound?: boolean; contended?: boolean; othersOnBrokerCore?: number; othersOnGenCore?: number }): string {
  const out: string[] = [];
  if (r.genBound) out.push("gen-bound");
  if (r.contended) out.push(`contended: other processes took ${pct(r.othersOnBrokerCore)} of the broker's core, ${pct(r.othersOnGenCore)} of the generator's`);
  if (r.errors.length) out.push(`errors: ${r.errors.join("; ").slice(0, 200)}`);
  return out.join(", ");
}

/** A durable edgemq row divided by the same edgemq (runtime, transport) on its memory store: the cost of durability. */
function ratioToMemory<T extends Result>(g: T[], r: T, value: (x: T) => number | undefined): string {
  if (r.target === REFERENCE || !r.durable) return r.target !== REFERENCE && r.store === "memory" ? "ref" : "–";
  const ref = g.find((x) => x.target === r.target && x.runtime === r.runtime && x.transport === r.transport && x.store === "memory");
  const a = value(r);
  const b = ref === undefined ? undefined : value(ref);
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "–";
  return `${(a / b).toFixed(2)}×`;
}

// The processes of a cluster, in the order of brokerCpuParts.
const PARTS = ["A", "B", "NATS"];

/** Broker CPU, and for a cluster each process's share: `97% (A 40 + B 37 + NATS 20)`. */
const cpuCell = (r: { brokerCpu: number | undefined; brokerCpuParts?: (number | undefined)[] }) =>
  pct(r.brokerCpu) + (r.brokerCpuParts ? ` (${r.brokerCpuParts.map((x, i) => `${PARTS[i] ?? i} ${x === undefined ? "–" : Math.round(x)}`).join(" + ")})` : "");

const FLOOR = "floor";

/** An edgemq row divided by its runtime's floor (a bare server in the same runtime, same run); "ref" on the floor's own rows. */
function ratioToFloor<T extends Result>(g: T[], r: T, value: (x: T) => number | undefined): string {
  if (r.target === FLOOR) return "ref";
  const ref = g.find((x) => x.target === FLOOR && x.runtime === r.runtime && x.transport === r.transport);
  const a = value(r);
  const b = ref === undefined ? undefined : value(ref);
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "–";
  return `${(a / b).toFixed(2)}×`;
}

const lossCell = (r: ThroughputResult | LatencyResult) => `${r.lost}/${r.dup}/${r.reorder}${r.corrupt ? ` +${r.corrupt} corrupt` : ""}`;

/** The whole report. */
export function markdown(results: Result[]): string {
  // A ratio column when there is a reference and something to divide by it.
  const ratios = results.some((r) => r.target === REFERENCE) && results.some((r) => r.target !== REFERENCE);
  const ratioHead = (what = "ratio") => (ratios ? [`${what} (to Mosquitto)`] : []);
  showStore = results.some((r) => r.store !== "memory");
  showNodes = results.some((r) => r.nodes > 1);
  // A "cluster / single node" column when cluster rows have single-node rows to be divided by.
  const nodeRatios = showNodes && results.some((r) => r.target !== REFERENCE && r.nodes === 1);
  const nodeHead = (what = "ratio") => (nodeRatios ? [`${what} (cluster / single node)`] : []);
  // A "to memory store" column when durable edgemq rows have a memory-store row to be divided by.
  const memRatios = results.some((r) => r.target !== REFERENCE && r.durable) && results.some((r) => r.target !== REFERENCE && r.store === "memory");
  const memHead = (what = "ratio") => (memRatios ? [`${what} (to memory store)`] : []);
  const parts: string[] = [];

  const tp = results.filter((r): r is ThroughputResult => r.kind === "throughput");
  if (tp.length) {
    // Besides msg/s, the ratio of broker CPU per message (single / cluster): what msg/s would show on a quiet core.
    const head = ["scenario", "QoS", "payload", ...whoHead(), "msg/s", ...ratioHead(), ...memHead(), ...nodeHead(), ...nodeHead("ratio by CPU per msg"),
      "lost/dup/reorder", "broker CPU", "broker µs/msg", "gen CPU", "flags"];
    const rows = group(tp, (r) => `${r.scenario} ${r.qos} ${r.payload}`).flatMap((g) => g.map((r) => {
      const shape = r.scenario === "fan-in" ? `fan-in ${r.publishers}→1` : r.scenario === "fan-out" ? `fan-out 1→${r.subscribers}` : `${r.publishers} pairs`;
      return [shape, String(r.qos), size(r.payload), ...who(r), int(r.msgsPerSec), ...(ratios ? [ratioTo(g, r, (x) => x.msgsPerSec)] : []),
        ...(memRatios ? [ratioToMemory(g, r, (x) => x.msgsPerSec)] : []),
        ...(nodeRatios ? [ratioToSingle(g, r, (x) => x.msgsPerSec), ratioToSingle(g, r, (x) => (x.brokerUsPerMsg === undefined ? undefined : 1 / x.brokerUsPerMsg))] : []),
        lossCell(r), cpuCell(r), us(r.brokerUsPerMsg), pct(r.genCpu), flags(r)];
    }));
    parts.push(`### Throughput (messages delivered to subscribers per second)\n\n${table(head, rows)}`);
  }

  const lat = results.filter((r): r is LatencyResult => r.kind === "latency");
  if (lat.length) {
    const head = ["QoS", "payload", "rate", ...whoHead(), "p50 / p99 ms", ...ratioHead("p50 ratio"), ...ratioHead("p99 ratio"), ...memHead("p50 ratio"), ...nodeHead("p50 ratio"),
      "lost/dup/reorder", "broker CPU", "gen CPU", "flags"];
    const rows = group(lat, (r) => `${r.qos} ${r.payload}`).flatMap((g) => g.map((r) => [
      String(r.qos), size(r.payload), `${int(r.rate)} msg/s`, ...who(r), `${ms(r.p50)} / ${ms(r.p99)}`,
      ...(ratios ? [ratioTo(g, r, (x) => x.p50), ratioTo(g, r, (x) => x.p99)] : []),
      ...(memRatios ? [ratioToMemory(g, r, (x) => x.p50)] : []),
      ...(nodeRatios ? [ratioToSingle(g, r, (x) => x.p50)] : []),
      lossCell(r), cpuCell(r), pct(r.genCpu), flags(r),
    ]));
    parts.push(`### Latency at a fixed rate (publish → delivery, one publisher, one subscriber)\n\n${table(head, rows)}`);
  }

  // A "to the runtime's floor" column when a floor ran.
  const floors = results.some((r) => r.target === FLOOR);
  const floorHead = (): string[] => (floors ? ["ratio (to runtime floor)"] : []);
  const idle = results.filter((r): r is IdleResult => r.kind === "idle");
  if (idle.length) {
    const head = ["connections", ...whoHead(), "bytes/conn", ...ratioHead(), ...floorHead(), "RSS before → after", "seconds to open", "flags"];
    const rows = group(idle, () => "idle").flatMap((g) => g.map((r) => [
      int(r.connections), ...who(r), int(r.bytesPerConnection), ...(ratios ? [ratioTo(g, r, (x) => x.bytesPerConnection)] : []),
      ...(floors ? [ratioToFloor(g, r, (x) => x.bytesPerConnection)] : []),
      `${mib(r.rssBefore)} → ${mib(r.rssAfter)}`, r.connectSeconds.toFixed(1), flags(r),
    ]));
    parts.push(`### Memory per idle connection (broker RSS delta / connections)\n\n${table(head, rows)}`);
  }

  const cr = results.filter((r): r is ConnRateResult => r.kind === "connrate");
  if (cr.length) {
    const head = ["parallel", ...whoHead(), "conn/s", ...ratioHead(), ...floorHead(), "failures", "broker CPU", "broker µs/conn", "gen CPU", "flags"];
    const rows = group(cr, () => "cr").flatMap((g) => g.map((r) => [
      String(r.concurrency), ...who(r), int(r.perSec), ...(ratios ? [ratioTo(g, r, (x) => x.perSec)] : []), ...(floors ? [ratioToFloor(g, r, (x) => x.perSec)] : []),
      String(r.failures), pct(r.brokerCpu), int(r.brokerUsPerConn), pct(r.genCpu), flags(r),
    ]));
    parts.push(`### Connection rate (connect, CONNECT → CONNACK, DISCONNECT, close)\n\n${table(head, rows)}`);
  }
  return parts.join("\n\n");
}

function mib(n: number | undefined): string {
  return n === undefined ? "–" : `${(n / 1048576).toFixed(1)} MiB`;
}
