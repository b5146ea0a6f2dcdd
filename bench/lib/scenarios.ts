// The scenarios: throughput shapes (fan-in, fan-out, pairs), latency at a
// fixed rate, idle connections (broker memory) and connection rate.
import type { QoS } from "@edgemq/core/codec";
import type { Target } from "./brokers.ts";
import { Client, type Endpoint, Publisher, Subscriber, type Transport, type Version } from "./client.ts";
import { type Cores, cpuPercent, procCpuSeconds, procRssBytes, type Snapshot, snapshot } from "./proc.ts";
import { pool, quantile, sleep, until } from "./util.ts";

export interface RunOptions {
  version: Version;
  /** Seconds of load before measuring. */
  warmup: number;
  /** Seconds measured. */
  seconds: number;
  /** Messages in flight end to end per subscriber, shared among the publishers it hears. */
  e2eWindow: number;
  /** Unacknowledged QoS 1 PUBLISH per publisher. */
  qos1Window: number;
  fanInPubs: number;
  fanOutSubs: number;
  pairs: number;
  idle: number;
  /** Messages per second in the latency scenario. */
  rate: number;
  /** Connections opened and closed just before each latency measurement (0: none). */
  churn: number;
  /** Connections opened in parallel by the connection-rate scenario. */
  connConcurrency: number;
  /** Generator CPU (% of one core) at or above which a figure is the generator's limit. */
  genBoundPct: number;
  /** Where the broker and the generator are pinned, to see what else runs there. */
  cores: Cores;
  /** Subscribers' session expiry (s): above 0 their sessions last, so a durable store keeps their messages. */
  sessionExpiry: number;
}

export type Shape = "fan-in" | "fan-out" | "pairs";

/** Which broker a result is from: its name, the runtime it ran on (edgemq) and the transport the clients used. */
export interface Measured {
  /** "edgemq", "mosquitto", or the name given with --target for an external broker. */
  target: string;
  /** node, bun or deno for edgemq; undefined for Mosquitto and external brokers. */
  runtime: string | undefined;
  transport: Transport;
  /** Where the broker keeps messages: `memory`, `sqlite fsync`, `sqlite batched 100 ms`, or Mosquitto's `autosave 1 s`. */
  store: string;
  /** Whether that store survives a restart at all. */
  durable: boolean;
  /** edgemq nodes serving it: 2 for a cluster (publishers on one node, subscribers on the other, over NATS), else 1. */
  nodes: number;
}

const measured = (t: Target): Measured => ({ target: t.name, runtime: t.runtime, transport: t.transport, store: t.store, durable: t.durable, nodes: t.nodes });

/** The processes whose CPU time is the broker's: all of a cluster's. */
const brokerPids = (t: Target) => t.pids ?? t.pid;

/** Where subscribers connect: another node than the publishers' in a cluster. */
const subscriberEndpoint = (t: Target): Endpoint => t.subscribers ?? t;

/** CPU over the measured window, as % of one core. */
export interface CpuFigures {
  brokerCpu: number | undefined;
  /** A cluster's broker CPU by process, in the order node A, node B, NATS server. */
  brokerCpuParts?: (number | undefined)[];
  genCpu: number;
  /** What other processes used of the broker's and the generator's cores (when pinned). */
  othersOnBrokerCore: number | undefined;
  othersOnGenCore: number | undefined;
  /** The generator was near its core's limit: the figure is the generator's, not the broker's. */
  genBound: boolean;
  /** Other processes took ≥ 10% of the broker's or the generator's core: the figure may be low. */
  contended: boolean;
}

function cpuFigures(a: Snapshot, b: Snapshot, o: RunOptions): CpuFigures {
  const c = cpuPercent(a, b);
  return {
    brokerCpu: c.broker, ...(c.brokerParts ? { brokerCpuParts: c.brokerParts } : {}), genCpu: c.gen, othersOnBrokerCore: c.othersOnBrokerCore, othersOnGenCore: c.othersOnGenCore,
    genBound: c.gen >= o.genBoundPct, contended: (c.othersOnBrokerCore ?? 0) >= 10 || (c.othersOnGenCore ?? 0) >= 10,
  };
}

export interface ThroughputResult extends CpuFigures, Measured {
  kind: "throughput";
  scenario: Shape;
  qos: QoS;
  payload: number;
  publishers: number;
  subscribers: number;
  /** Messages delivered to subscribers per second in the measured window. */
  msgsPerSec: number;
  /** Broker CPU time per delivered message (µs): the broker's cost, whatever else limited the rate. */
  brokerUsPerMsg: number | undefined;
  /** Messages published in the whole run. */
  published: number;
  /** Deliveries expected (published × subscribers that expect them) and made. */
  expected: number;
  delivered: number;
  lost: number;
  dup: number;
  reorder: number;
  corrupt: number;
  errors: string[];
}

export interface LatencyResult extends CpuFigures, Measured {
  kind: "latency";
  qos: QoS;
  payload: number;
  rate: number;
  /** The rate actually delivered in the measured window. */
  achieved: number;
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  lost: number;
  dup: number;
  reorder: number;
  corrupt: number;
  errors: string[];
}

export interface IdleResult extends Measured {
  kind: "idle";
  connections: number;
  /** Connections actually open when RSS was read. */
  open: number;
  rssBefore: number | undefined;
  rssAfter: number | undefined;
  bytesPerConnection: number | undefined;
  /** Seconds to open them all (at most 200 CONNECTs outstanding). */
  connectSeconds: number;
  errors: string[];
}

export interface ConnRateResult extends CpuFigures, Measured {
  kind: "connrate";
  concurrency: number;
  /** CONNECT → CONNACK → close cycles per second in the measured window. */
  perSec: number;
  /** Broker CPU time per cycle (µs). */
  brokerUsPerConn: number | undefined;
  failures: number;
  errors: string[];
}

export type Result = ThroughputResult | LatencyResult | IdleResult | ConnRateResult;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
let runCounter = 0;
const runId = () => `${process.pid.toString(36)}${(runCounter++).toString(36)}`;

/** Waits until the broker is idle again (under 5% of a core over 200 ms), at most `ms`. */
export async function settle(target: Target, ms = 5000): Promise<void> {
  if (target.pid === undefined) {
    await sleep(300);
    return;
  }
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const a = procCpuSeconds(brokerPids(target));
    await sleep(200);
    const b = procCpuSeconds(brokerPids(target));
    if (a === undefined || b === undefined || (b - a) / 0.2 < 0.05) return;
  }
}

function errorsOf(clients: Client[]): string[] {
  const seen = new Map<string, number>();
  for (const c of clients) if (c.error) seen.set(c.error.message, (seen.get(c.error.message) ?? 0) + 1);
  return [...seen].map(([m, n]) => (n > 1 ? `${m} (×${n})` : m));
}

async function closeAll(clients: Client[]): Promise<void> {
  for (const c of clients) c.close();
  await until(() => clients.every((c) => c.closed), 3000);
  for (const c of clients) c.wire.destroy();
}

async function sleepChecking(target: Target, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await sleep(Math.min(100, Math.max(0, end - performance.now())));
    target.check();
  }
}

/** Waits until every expected delivery arrived and every QoS 1 PUBLISH was acknowledged, or progress stops for 2 s (at most 15 s). */
async function drain(subs: Subscriber[], pubs: Publisher[]): Promise<void> {
  const done = () => pubs.every((p) => p.unacked === 0 && p.tracks.every((t) => t.distinct >= p.seq));
  const total = () => subs.reduce((n, s) => n + s.received, 0) + pubs.reduce((n, p) => n + p.acked, 0);
  const end = performance.now() + 15000;
  let last = total();
  let lastChange = performance.now();
  while (!done() && performance.now() < end) {
    await sleep(20);
    const now = total();
    if (now !== last) {
      last = now;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > 2000) {
      return;
    }
  }
}

function counts(pubs: Publisher[]): { expected: number; delivered: number; lost: number; dup: number; reorder: number } {
  let expected = 0, delivered = 0, lost = 0, dup = 0, reorder = 0;
  for (const p of pubs) {
    for (const t of p.tracks) {
      expected += p.seq;
      delivered += t.distinct;
      lost += p.seq - t.distinct;
      dup += t.dup;
      reorder += t.reorder;
    }
  }
  return { expected, delivered, lost, dup, reorder };
}

/** Opens `n` connections, at most `parallel` at once (lasting sessions with `sessionExpiry` > 0). */
function openClients(target: Endpoint, o: RunOptions, prefix: string, n: number, parallel = 50, sessionExpiry = 0): Promise<Client[]> {
  return pool(range(n), parallel, (i) => Client.connect(target, o.version, `${prefix}${i}`, 10000, sessionExpiry));
}

/** One throughput run: subscribers first, then publishers at full credit; delivered messages counted over the measured window. */
export async function throughput(target: Target, shape: Shape, qos: QoS, payload: number, o: RunOptions): Promise<ThroughputResult> {
  const run = runId();
  const base = `bench/${run}`;
  const nPubs = shape === "fan-in" ? o.fanInPubs : shape === "fan-out" ? 1 : o.pairs;
  const nSubs = shape === "fan-in" ? 1 : shape === "fan-out" ? o.fanOutSubs : o.pairs;
  const topicOf = (i: number) => (shape === "pairs" ? `${base}/pair/${i}` : `${base}/${shape}`);
  const subClients = await openClients(subscriberEndpoint(target), o, `bench-${run}-s`, nSubs, 50, o.sessionExpiry);
  const pubClients: Client[] = [];
  const all = () => [...subClients, ...pubClients];
  try {
    await pool(subClients, 50, (c, i) => c.subscribe(topicOf(i), qos));
    pubClients.push(...(await openClients(target, o, `bench-${run}-p`, nPubs)));
    const subs = subClients.map((c, i) => new Subscriber(c, topicOf(i), payload));
    const perSub = shape === "fan-in" ? nPubs : 1;
    const window = Math.max(1, Math.floor(o.e2eWindow / perSub));
    const pubs = pubClients.map((c, i) => new Publisher(c, i, topicOf(i), payload, qos, o.qos1Window, window));
    for (const [i, s] of subs.entries()) {
      if (shape === "pairs") s.expect(pubs[i]!);
      else for (const p of pubs) s.expect(p);
    }
    const delivered = () => subs.reduce((n, s) => n + s.received, 0);
    for (const p of pubs) p.start();
    await sleepChecking(target, o.warmup * 1000);
    const a = snapshot(brokerPids(target), o.cores);
    const d0 = delivered();
    await sleepChecking(target, o.seconds * 1000);
    const b = snapshot(brokerPids(target), o.cores);
    const d1 = delivered();
    for (const p of pubs) p.stop();
    await drain(subs, pubs);
    const cpu = cpuFigures(a, b, o);
    return {
      kind: "throughput", scenario: shape, ...measured(target), qos, payload, publishers: nPubs, subscribers: nSubs,
      msgsPerSec: (d1 - d0) / (b.wall - a.wall),
      brokerUsPerMsg: cpu.brokerCpu === undefined || d1 === d0 ? undefined : (cpu.brokerCpu / 100) * (b.wall - a.wall) * 1e6 / (d1 - d0),
      published: pubs.reduce((n, p) => n + p.seq, 0),
      ...counts(pubs),
      corrupt: subs.reduce((n, s) => n + s.corrupt + s.foreign, 0),
      ...cpu,
      errors: errorsOf(all()),
    };
  } finally {
    await closeAll(all());
  }
}

/** One publisher at a fixed rate to one subscriber; latency is receive time minus the send time carried in the payload. */
export async function latency(target: Target, qos: QoS, payload: number, o: RunOptions): Promise<LatencyResult> {
  const run = runId();
  if (o.churn > 0) await churn(target, o, run);
  const topic = `bench/${run}/latency`;
  const [subClient] = await openClients(subscriberEndpoint(target), o, `bench-${run}-s`, 1, 1, o.sessionExpiry);
  const clients = [subClient!];
  try {
    await subClient!.subscribe(topic, qos);
    const [pubClient] = await openClients(target, o, `bench-${run}-p`, 1);
    clients.push(pubClient!);
    const sub = new Subscriber(subClient!, topic, payload);
    const pub = new Publisher(pubClient!, 0, topic, payload, qos, o.qos1Window, Math.max(o.e2eWindow, o.rate));
    sub.expect(pub);
    pub.stamp = true;
    sub.latency = new Float64Array(Math.ceil(o.rate * (o.seconds + 1)));
    pub.start(o.rate);
    await sleepChecking(target, o.warmup * 1000);
    const a: Snapshot = snapshot(brokerPids(target), o.cores);
    const r0 = sub.received;
    sub.latencyFrom = performance.now();
    await sleepChecking(target, o.seconds * 1000);
    sub.latencyFrom = Infinity; // a late message's delay is still recorded; later sends are not
    const b = snapshot(brokerPids(target), o.cores);
    const r1 = sub.received;
    pub.stop();
    await drain([sub], [pub]);
    const samples = sub.latency.slice(0, sub.latencyCount).sort();
    const cpu = cpuFigures(a, b, o);
    const c = counts([pub]);
    return {
      kind: "latency", ...measured(target), qos, payload, rate: o.rate,
      achieved: (r1 - r0) / (b.wall - a.wall),
      samples: samples.length, p50: quantile(samples, 0.5), p90: quantile(samples, 0.9), p99: quantile(samples, 0.99), p999: quantile(samples, 0.999), max: quantile(samples, 1),
      lost: c.lost, dup: c.dup, reorder: c.reorder, corrupt: sub.corrupt + sub.foreign,
      ...cpu,
      errors: errorsOf(clients),
    };
  } finally {
    await closeAll(clients);
  }
}

/** Opens `o.idle` connections (CONNECT, CONNACK, nothing else) and reads the broker's RSS before and after. */
export async function idle(target: Target, o: RunOptions): Promise<IdleResult> {
  const run = runId();
  const rssBefore = procRssBytes(target.pid);
  const t0 = performance.now();
  const clients: Client[] = [];
  const failures: string[] = [];
  await pool(range(o.idle), 200, async (i) => {
    try {
      clients.push(await Client.connect(target, o.version, `bench-${run}-idle${i}`, 30000));
    } catch (e) {
      failures.push((e as Error).message);
    }
  });
  const connectSeconds = (performance.now() - t0) / 1000;
  try {
    await sleepChecking(target, 1500); // let the broker finish what the burst started
    const open = clients.filter((c) => !c.closed).length;
    const rssAfter = procRssBytes(target.pid);
    const errors = errorsOf(clients);
    if (failures.length) errors.push(`${failures.length} connections failed: ${failures[0]}`);
    return {
      kind: "idle", ...measured(target), connections: o.idle, open, rssBefore, rssAfter,
      bytesPerConnection: rssBefore !== undefined && rssAfter !== undefined && open > 0 ? (rssAfter - rssBefore) / open : undefined,
      connectSeconds, errors,
    };
  } finally {
    await closeAll(clients);
  }
}

/** Opens `o.churn` connections (200 at a time), each with CONNECT and CONNACK, then closes them all: what a reconnect storm leaves the broker. */
async function churn(target: Target, o: RunOptions, run: string): Promise<void> {
  const clients: Client[] = [];
  await pool(range(o.churn), 200, async (i) => {
    clients.push(await Client.connect(target, o.version, `bench-${run}-churn${i}`, 30000));
  });
  await closeAll(clients);
}

/** `o.connConcurrency` loops of connect, CONNECT, CONNACK, DISCONNECT and close; cycles counted over the measured window. */
export async function connRate(target: Target, o: RunOptions): Promise<ConnRateResult> {
  const run = runId();
  let running = true;
  let done = 0;
  let failures = 0;
  let next = 0;
  const errors = new Set<string>();
  const loop = async () => {
    while (running) {
      try {
        const c = await Client.connect(target, o.version, `bench-${run}-c${next++}`);
        done++;
        c.close();
      } catch (e) {
        failures++;
        errors.add((e as Error).message);
        await sleep(10);
      }
    }
  };
  const loops = range(o.connConcurrency).map(loop);
  await sleepChecking(target, Math.min(o.warmup, 1) * 1000);
  const a = snapshot(brokerPids(target), o.cores);
  const d0 = done;
  await sleepChecking(target, o.seconds * 1000);
  const b = snapshot(brokerPids(target), o.cores);
  const d1 = done;
  running = false;
  await Promise.all(loops);
  const cpu = cpuFigures(a, b, o);
  return {
    kind: "connrate", ...measured(target), concurrency: o.connConcurrency,
    perSec: (d1 - d0) / (b.wall - a.wall), failures,
    brokerUsPerConn: cpu.brokerCpu === undefined || d1 === d0 ? undefined : ((cpu.brokerCpu / 100) * (b.wall - a.wall) * 1e6) / (d1 - d0),
    ...cpu,
    errors: [...errors].slice(0, 5),
  };
}
