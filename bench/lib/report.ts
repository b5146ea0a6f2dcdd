// Markdown tables of results: one column per target, and the ratio of the
// first target to the second (edgemq / Mosquitto) when there are two.
import type { ConnRateResult, IdleResult, LatencyResult, Result, ThroughputResult } from "./scenarios.ts";

const int = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "–" : Math.round(x).toLocaleString("en-US"));
const pct = (x: number | undefined) => (x === undefined ? "–" : `${Math.round(x)}%`);
const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 1) : "–");
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? "–" : `${(a / b).toFixed(2)}×`;
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

const by = <T extends Result>(g: T[], target: string) => g.find((r) => r.target === target);
export const label = (t: string): string => (t === "mosquitto" ? "Mosquitto" : t);

function flags(g: (Result & { genBound?: boolean; contended?: boolean; othersOnBrokerCore?: number; othersOnGenCore?: number })[], targets: string[]): string {
  const out: string[] = [];
  for (const t of targets) {
    const r = g.find((x) => x.target === t);
    if (r === undefined) continue;
    const name = targets.length > 1 ? ` (${label(t)})` : "";
    if (r.genBound) out.push(`gen-bound${name}`);
    if (r.contended) out.push(`contended${name}: other processes took ${pct(r.othersOnBrokerCore)} of the broker's core, ${pct(r.othersOnGenCore)} of the generator's`);
    if (r.errors.length) out.push(`errors${name}: ${r.errors.join("; ").slice(0, 200)}`);
  }
  return out.join(", ");
}

function perTarget<T extends Result>(g: T[], targets: string[], f: (r: T) => string): string {
  return targets.map((t) => {
    const r = by(g, t);
    return r === undefined ? "–" : f(r);
  }).join(" / ");
}

/** The whole report. */
export function markdown(results: Result[], targets: string[]): string {
  const [a, b] = targets;
  const two = targets.length === 2;
  const names = targets.map(label);
  const both = names.join(" / ");
  const parts: string[] = [];

  const tp = results.filter((r): r is ThroughputResult => r.kind === "throughput");
  if (tp.length) {
    const head = ["scenario", "QoS", "payload", ...names.map((n) => `${n} msg/s`), ...(two ? ["ratio"] : []),
      `lost/dup/reorder (${both})`, `broker CPU (${both})`, `broker µs/msg (${both})`, `gen CPU (${both})`, "flags"];
    parts.push(`### Throughput (messages delivered to subscribers per second)\n\n${table(head, group(tp, (r) => `${r.scenario} ${r.qos} ${r.payload}`).map((g) => {
      const f = g[0]!;
      const shape = f.scenario === "fan-in" ? `fan-in ${f.publishers}→1` : f.scenario === "fan-out" ? `fan-out 1→${f.subscribers}` : `${f.publishers} pairs`;
      return [shape, String(f.qos), size(f.payload), ...targets.map((t) => int(by(g, t)?.msgsPerSec)),
        ...(two ? [ratio(by(g, a!)?.msgsPerSec, by(g, b!)?.msgsPerSec)] : []),
        perTarget(g, targets, (r) => `${r.lost}/${r.dup}/${r.reorder}${r.corrupt ? ` +${r.corrupt} corrupt` : ""}`),
        perTarget(g, targets, (r) => pct(r.brokerCpu)), perTarget(g, targets, (r) => us(r.brokerUsPerMsg)),
        perTarget(g, targets, (r) => pct(r.genCpu)), flags(g, targets)];
    }))}`);
  }

  const lat = results.filter((r): r is LatencyResult => r.kind === "latency");
  if (lat.length) {
    const head = ["QoS", "payload", "rate", ...names.map((n) => `${n} p50 / p99 ms`), ...(two ? ["p50 ratio", "p99 ratio"] : []),
      `lost/dup/reorder (${both})`, `broker CPU (${both})`, `gen CPU (${both})`, "flags"];
    parts.push(`### Latency at a fixed rate (publish → delivery, one publisher, one subscriber)\n\n${table(head, group(lat, (r) => `${r.qos} ${r.payload}`).map((g) => {
      const f = g[0]!;
      return [String(f.qos), size(f.payload), `${int(f.rate)} msg/s`, ...targets.map((t) => {
        const r = by(g, t);
        return r ? `${ms(r.p50)} / ${ms(r.p99)}` : "–";
      }), ...(two ? [ratio(by(g, a!)?.p50, by(g, b!)?.p50), ratio(by(g, a!)?.p99, by(g, b!)?.p99)] : []),
      perTarget(g, targets, (r) => `${r.lost}/${r.dup}/${r.reorder}${r.corrupt ? ` +${r.corrupt} corrupt` : ""}`),
      perTarget(g, targets, (r) => pct(r.brokerCpu)), perTarget(g, targets, (r) => pct(r.genCpu)), flags(g, targets)];
    }))}`);
  }

  const idle = results.filter((r): r is IdleResult => r.kind === "idle");
  if (idle.length) {
    const head = ["connections", ...names.map((n) => `${n} bytes/conn`), ...(two ? ["ratio"] : []), `RSS before → after (${both})`, `seconds to open (${both})`, "flags"];
    parts.push(`### Memory per idle connection (broker RSS delta / connections)\n\n${table(head, group(idle, () => "idle").map((g) => [
      int(g[0]!.connections), ...targets.map((t) => int(by(g, t)?.bytesPerConnection)),
      ...(two ? [ratio(by(g, a!)?.bytesPerConnection, by(g, b!)?.bytesPerConnection)] : []),
      perTarget(g, targets, (r) => `${mib(r.rssBefore)} → ${mib(r.rssAfter)}`),
      perTarget(g, targets, (r) => r.connectSeconds.toFixed(1)), flags(g, targets),
    ]))}`);
  }

  const cr = results.filter((r): r is ConnRateResult => r.kind === "connrate");
  if (cr.length) {
    const head = ["parallel", ...names.map((n) => `${n} conn/s`), ...(two ? ["ratio"] : []), `failures (${both})`, `broker CPU (${both})`, `broker µs/conn (${both})`, `gen CPU (${both})`, "flags"];
    parts.push(`### Connection rate (connect, CONNECT → CONNACK, DISCONNECT, close)\n\n${table(head, group(cr, () => "cr").map((g) => [
      String(g[0]!.concurrency), ...targets.map((t) => int(by(g, t)?.perSec)),
      ...(two ? [ratio(by(g, a!)?.perSec, by(g, b!)?.perSec)] : []),
      perTarget(g, targets, (r) => String(r.failures)), perTarget(g, targets, (r) => pct(r.brokerCpu)),
      perTarget(g, targets, (r) => int(r.brokerUsPerConn)), perTarget(g, targets, (r) => pct(r.genCpu)), flags(g, targets),
    ]))}`);
  }
  return parts.join("\n\n");
}

function mib(n: number | undefined): string {
  return n === undefined ? "–" : `${(n / 1048576).toFixed(1)} MiB`;
}
