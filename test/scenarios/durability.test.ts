// Durability as a user meets it: edgemq started as a process with --data on
// the runtime EDGEMQ_TEST_RUNTIME names, killed with SIGKILL mid-traffic and
// restarted on the same data directory and port, with clients that keep
// exact account of what was acknowledged (a small MQTT client over a socket,
// so that packet ids, DUP and acknowledgements are under the test's control).
//
// The promise under test (fsync mode): a message is acknowledged (PUBACK for
// QoS 1, PUBREC for QoS 2) only once it is committed, so no acknowledged
// message is ever lost; QoS 2 is never delivered twice; order is kept per
// publisher and topic; a session confirmed by CONNACK or SUBACK survives.
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { encodePacket, FrameDecoder, type Packet } from "@edgemq/core/codec";
import { RawClient, sleep, waitFor } from "../support/clients.ts";
import { type RunningBroker, RUNTIME, runBrokerExpectingExit, startBroker } from "../support/server.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), "edgemq-durability-"));
  dirs.push(d);
  return d;
}

/** A port free right now, to restart the broker on the same one. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A seeded random number generator (mulberry32), so a failing run can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Publish = Extract<Packet, { type: "publish" }>;
type Connack = Extract<Packet, { type: "connack" }>;

/** One MQTT 5.0 connection: packets in through `listen`, out through `send`; nothing automatic. */
class Conn {
  readonly socket: net.Socket;
  readonly #decoder = new FrameDecoder({ protocolVersion: 5 });
  closed = false;
  error: unknown;
  // Packets that arrive while nobody listens (right after CONNACK) wait here, in order.
  #handler: ((p: Packet) => void) | undefined;
  readonly #buffer: Packet[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk) => {
      this.#decoder.push(new Uint8Array(chunk));
      try {
        for (let p = this.#decoder.next(); p; p = this.#decoder.next()) {
          if (this.#handler !== undefined) this.#handler(p);
          else this.#buffer.push(p);
        }
      } catch (e) {
        this.error ??= e;
        socket.destroy();
      }
    });
    socket.on("close", () => (this.closed = true));
    socket.on("error", () => {});
  }

  /** Connects and waits for CONNACK (5 s at most). */
  static async open(port: number, connect: Omit<Extract<Packet, { type: "connect" }>, "type" | "protocolName" | "protocolVersion" | "keepAlive">): Promise<{ conn: Conn; connack: Connack }> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, "127.0.0.1", () => resolve(s));
      s.once("error", reject);
    });
    const conn = new Conn(socket);
    const connack = await new Promise<Connack>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no CONNACK for ${connect.clientId} within 5 s`)), 5000);
      conn.#handler = (p) => {
        if (p.type !== "connack") return;
        clearTimeout(timer);
        conn.#handler = undefined; // what follows waits for listen()
        resolve(p);
      };
      socket.once("close", () => reject(new Error(`closed before CONNACK for ${connect.clientId}`)));
      conn.send({ type: "connect", protocolName: "MQTT", protocolVersion: 5, keepAlive: 0, ...connect });
    });
    return { conn, connack };
  }

  /** Hands every packet (those already waiting first) to `handler`. */
  listen(handler: (p: Packet) => void): void {
    this.#handler = handler;
    for (const p of this.#buffer.splice(0)) handler(p);
  }

  send(p: Packet): void {
    if (!this.closed) this.socket.write(encodePacket(p, 5));
  }

  close(): void {
    this.socket.destroy();
  }
}

const SESSION = { sessionExpiryInterval: 3600 };

/**
 * A publisher that numbers its messages (odd numbers QoS 1 on `crash/<id>/q1`,
 * even ones QoS 2 on `crash/<id>/q2`) and keeps MQTT's client-side session:
 * after a reconnect it resends unacknowledged PUBLISHes with DUP and the same
 * packet ids, and PUBREL for those past PUBREC [MQTT-4.4.0-1].
 */
class Publisher {
  readonly id: string;
  readonly total: number;
  /** Numbers acknowledged by the broker: PUBACK (QoS 1), PUBREC (QoS 2). */
  readonly acked = new Set<number>();
  readonly #inflight = new Map<number, { n: number; qos: 1 | 2; state: "publish" | "pubrel" }>();
  #next = 1;
  #nextPid = 1;
  conn: Conn | undefined;
  lostSessions = 0;
  failures: string[] = [];
  /** PUBREL resends the broker answered with 0x92: it had released the id before the crash. */
  releasedTwice = 0;

  constructor(id: string, total: number) {
    this.id = id;
    this.total = total;
  }

  get inflight(): number {
    return this.#inflight.size;
  }

  get done(): boolean {
    return this.#next > this.total && this.#inflight.size === 0;
  }

  async connect(port: number, first: boolean): Promise<void> {
    const { conn, connack } = await Conn.open(port, { clientId: this.id, cleanStart: first, properties: SESSION });
    if (!first && !connack.sessionPresent) this.lostSessions++;
    this.conn = conn;
    conn.listen((p) => this.#onPacket(p));
    for (const [pid, m] of this.#inflight) {
      if (m.state === "pubrel") conn.send({ type: "pubrel", packetId: pid, reasonCode: 0 });
      else this.#send(m.n, m.qos, pid, true);
    }
  }

  /** Sends new messages while fewer than `window` are in flight, at most `count` now; returns how many it sent. */
  fill(window: number, count: number): number {
    const conn = this.conn;
    let i = 0;
    for (; i < count && conn !== undefined && !conn.closed && this.#inflight.size < window && this.#next <= this.total; i++) {
      const n = this.#next++;
      const qos = n % 2 === 1 ? 1 : 2;
      let pid = this.#nextPid;
      while (this.#inflight.has(pid)) pid = pid === 65535 ? 1 : pid + 1;
      this.#nextPid = pid === 65535 ? 1 : pid + 1;
      this.#inflight.set(pid, { n, qos, state: "publish" });
      this.#send(n, qos, pid, false);
    }
    return i;
  }

  #send(n: number, qos: 1 | 2, packetId: number, dup: boolean): void {
    this.conn!.send({ type: "publish", topic: `crash/${this.id}/q${qos}`, payload: enc.encode(`${this.id}/${qos}/${n}`), qos, retain: false, dup, packetId });
  }

  #onPacket(p: Packet): void {
    if (p.type === "puback" || p.type === "pubrec" || p.type === "pubcomp") {
      const m = this.#inflight.get(p.packetId);
      if (m === undefined) return;
      // PUBCOMP 0x92 answers a PUBREL resent after a crash for an id the broker had already
      // released: the exchange is complete [MQTT-4.3.3-11]. Any other failure is a failure.
      if (p.type === "pubcomp" && p.reasonCode === 0x92) this.releasedTwice++;
      else if (p.reasonCode >= 0x80) this.failures.push(`${p.type} 0x${p.reasonCode.toString(16)} for ${m.n}`);
      if (p.type === "puback" && m.qos === 1) {
        this.acked.add(m.n);
        this.#inflight.delete(p.packetId);
      } else if (p.type === "pubrec" && m.qos === 2) {
        this.acked.add(m.n);
        m.state = "pubrel";
        this.conn!.send({ type: "pubrel", packetId: p.packetId, reasonCode: 0 });
      } else if (p.type === "pubcomp" && m.state === "pubrel") {
        this.#inflight.delete(p.packetId);
      }
    }
  }
}

/**
 * A persistent subscriber to `crash/#` at QoS 2 that records what its
 * application would see: QoS 2 deduplicated by packet id until PUBREL, as a
 * client must; nothing else deduplicated, so a broker's duplicate shows.
 */
class Subscriber {
  readonly id: string;
  readonly receiveMaximum: number;
  /** Payloads in the order delivered to the application. */
  readonly received: string[] = [];
  // QoS 2 packet ids received and not yet released: the client's half of the session.
  readonly #pending = new Set<number>();
  conn: Conn | undefined;
  lostSessions = 0;
  /** A new (DUP=0) QoS 2 PUBLISH on an id still awaiting PUBREL: a broker bug. */
  protocolErrors = 0;

  constructor(id: string, receiveMaximum: number) {
    this.id = id;
    this.receiveMaximum = receiveMaximum;
  }

  async connect(port: number, first: boolean): Promise<void> {
    const { conn, connack } = await Conn.open(port, { clientId: this.id, cleanStart: first, properties: { ...SESSION, receiveMaximum: this.receiveMaximum } });
    if (!first && !connack.sessionPresent) this.lostSessions++;
    this.conn = conn;
    let subscribed: () => void = () => {};
    conn.listen((p) => (p.type === "suback" ? subscribed() : this.#onPacket(p)));
    if (first) {
      const suback = new Promise<void>((resolve) => (subscribed = resolve));
      conn.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "crash/#", qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
      await suback;
    }
  }

  #onPacket(p: Packet): void {
    const conn = this.conn!;
    if (p.type === "publish") {
      const payload = dec.decode(p.payload);
      if (p.qos === 2) {
        if (!this.#pending.has(p.packetId!)) {
          this.#pending.add(p.packetId!);
          this.received.push(payload);
        } else if (!p.dup) {
          this.protocolErrors++;
        }
        conn.send({ type: "pubrec", packetId: p.packetId!, reasonCode: 0 });
      } else {
        this.received.push(payload);
        if (p.qos === 1) conn.send({ type: "puback", packetId: p.packetId!, reasonCode: 0 });
      }
    } else if (p.type === "pubrel") {
      this.#pending.delete(p.packetId);
      conn.send({ type: "pubcomp", packetId: p.packetId, reasonCode: 0 });
    }
  }
}

/** What the subscribers saw against what the publishers had acknowledged. */
function audit(publishers: Publisher[], subscribers: Subscriber[]) {
  let lost = 0, qos2Duplicates = 0, qos1Duplicates = 0, outOfOrder = 0, delivered = 0;
  const examples: string[] = [];
  for (const s of subscribers) {
    const counts = new Map<string, number>();
    const last = new Map<string, number>();
    for (const payload of s.received) {
      delivered++;
      const [pub, qos, n] = payload.split("/") as [string, string, string];
      const c = (counts.get(payload) ?? 0) + 1;
      counts.set(payload, c);
      if (c > 1) {
        if (qos === "2") {
          qos2Duplicates++;
          if (examples.length < 5) examples.push(`${s.id} got QoS 2 ${payload} twice`);
        } else qos1Duplicates++;
        continue;
      }
      // First deliveries come in publish order, per publisher and topic.
      const key = `${pub}/${qos}`;
      if ((last.get(key) ?? 0) >= Number(n)) {
        outOfOrder++;
        if (examples.length < 5) examples.push(`${s.id} got ${payload} after ${key}/${last.get(key)}`);
      }
      last.set(key, Number(n));
    }
    for (const p of publishers) {
      for (const n of p.acked) {
        if (!counts.has(`${p.id}/${n % 2 === 1 ? 1 : 2}/${n}`)) {
          lost++;
          if (examples.length < 5) examples.push(`${s.id} never got ${p.id}/${n % 2 === 1 ? 1 : 2}/${n}, which was acknowledged`);
        }
      }
    }
  }
  const acknowledged = publishers.reduce((a, p) => a + p.acked.size, 0);
  return { acknowledged, delivered, lost, qos2Duplicates, qos1Duplicates, outOfOrder, examples };
}

// The crash test restarts on a fixed TCP port and the store sits below the
// transport, so scripts/test.ts runs this file in the TCP combinations only.
describe(`the SQLite store under SIGKILL (broker on ${RUNTIME})`, () => {
  it("loses no acknowledged message, delivers no QoS 2 message twice and keeps order over 10 kills mid-traffic", async () => {
    const SEED = Number(process.env.EDGEMQ_CRASH_SEED ?? 7);
    const KILLS = 10;
    // 4 publishers at up to 400 messages/s each (half QoS 1, half QoS 2), 16 in flight at most:
    // 8000 messages, most of them while the kills happen.
    const PUBLISHERS = 4, PER_PUBLISHER = 2000, RATE = 400, WINDOW = 16, TICK_MS = 5;
    const KILL_AFTER_MS: [number, number] = [150, 650]; // after the clients are back: bounded and seeded
    const rng = random(SEED);
    const dir = dataDir();
    const port = await freePort();
    const args = ["--port", String(port), "--data", dir, "--sys-interval", "0", "--max-queued", "100000"];
    const started = Date.now();
    let server: RunningBroker = await startBroker(args);
    const publishers = Array.from({ length: PUBLISHERS }, (_, i) => new Publisher(`pub${i}`, PER_PUBLISHER));
    // Two subscribers always come back; two stay away in alternate rounds; one takes 5 messages at a time.
    const subscribers = [new Subscriber("sub0", 100), new Subscriber("sub1", 5), new Subscriber("sub2", 100), new Subscriber("sub3", 20)];
    const offline = (s: number, round: number) => s >= 2 && (round + s) % 2 === 0;
    for (const s of subscribers) await s.connect(port, true);
    for (const p of publishers) await p.connect(port, true);
    let publishing = true;
    // A steady rate, whatever the timer's resolution: each publisher earns RATE messages per second it is connected.
    const credit = publishers.map(() => 0);
    let last = performance.now();
    const pacer = setInterval(() => {
      const now = performance.now();
      const earned = (RATE * (now - last)) / 1000;
      last = now;
      if (!publishing) return;
      for (const [i, p] of publishers.entries()) {
        if (p.conn === undefined || p.conn.closed) continue;
        credit[i] = Math.min(credit[i]! + earned, WINDOW);
        credit[i]! -= p.fill(WINDOW, Math.floor(credit[i]!));
      }
    }, TICK_MS);
    let ackedAtKills = 0, killsInFlight = 0;
    try {
      for (let round = 0; round < KILLS; round++) {
        await sleep(KILL_AFTER_MS[0] + Math.floor(rng() * (KILL_AFTER_MS[1] - KILL_AFTER_MS[0])));
        // Then the next moment a publish is on its way (at most 500 ms more): between a PUBLISH and its acknowledgement.
        const until = Date.now() + 500;
        while (!publishers.some((p) => p.inflight > 0) && Date.now() < until) await new Promise((r) => setImmediate(r));
        if (publishers.some((p) => p.inflight > 0)) killsInFlight++;
        await server.stop("SIGKILL");
        ackedAtKills = publishers.reduce((a, p) => a + p.acked.size, 0);
        server = await startBroker(args);
        for (const [i, s] of subscribers.entries()) {
          if (!offline(i, round + 1)) await s.connect(port, false);
        }
        for (const p of publishers) await p.connect(port, false);
      }
      // Drain: everyone back, publishers finish (resends included), subscribers take everything.
      for (const s of subscribers) if (s.conn?.closed !== false) await s.connect(port, false);
      await waitFor(() => publishers.every((p) => p.done), 30_000, "the publishers to finish");
      publishing = false;
      const expected = publishers.reduce((a, p) => a + p.acked.size, 0);
      // Until each has every acknowledged message, or nothing arrived for 3 s (the audit then says what is missing).
      let seen = -1, quietSince = Date.now();
      await waitFor(() => {
        const total = subscribers.reduce((a, s) => a + s.received.length, 0);
        if (total !== seen) [seen, quietSince] = [total, Date.now()];
        return subscribers.every((s) => new Set(s.received).size >= expected) || Date.now() - quietSince > 3000;
      }, 30_000, "the subscribers to drain");
    } finally {
      clearInterval(pacer);
      for (const c of [...publishers, ...subscribers]) c.conn?.close();
      await server.stop();
    }
    const r = audit(publishers, subscribers);
    console.log(
      `durability (${RUNTIME}, seed ${SEED}): ${KILLS} SIGKILLs in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `${r.acknowledged} messages acknowledged (${ackedAtKills} before the last kill; ${killsInFlight} kills with publishes in flight), ${r.delivered} deliveries to ${subscribers.length} subscribers; ` +
        `lost ${r.lost}, QoS 2 duplicates ${r.qos2Duplicates}, out of order ${r.outOfOrder}, QoS 1 duplicates ${r.qos1Duplicates} ` +
        `(${((r.qos1Duplicates / (r.delivered / 2)) * 100).toFixed(2)} % of QoS 1 deliveries); ${publishers.reduce((a, p) => a + p.releasedTwice, 0)} PUBREL resends found their id released`,
    );
    expect(r.examples).toEqual([]);
    expect(r.lost).toBe(0);
    expect(r.qos2Duplicates).toBe(0);
    expect(r.outOfOrder).toBe(0);
    expect(r.acknowledged).toBe(PUBLISHERS * PER_PUBLISHER);
    expect(ackedAtKills).toBeLessThan(PUBLISHERS * PER_PUBLISHER); // the kills came mid-traffic, to the last
    expect(subscribers.map((s) => s.protocolErrors)).toEqual([0, 0, 0, 0]);
    // Every reconnect found its session: Session Present = 1 [MQTT-3.2.2-3]
    expect([...publishers, ...subscribers].map((c) => c.lostSessions)).toEqual(Array(PUBLISHERS + subscribers.length).fill(0));
    expect(publishers.flatMap((p) => p.failures)).toEqual([]);
  }, 60_000);
});

/** The admin API of a running server, with a configured Admin token. */
class Admin {
  readonly base: string;
  readonly token: string;
  constructor(server: RunningBroker, token: string) {
    this.base = `http://127.0.0.1:${server.ports.http}/client/v4/accounts/any/pubsub`;
    this.token = token;
  }
  async ok(method: string, path: string, body?: unknown): Promise<any> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json() as { success: boolean; result: any; errors: unknown };
    if (res.status !== 200 || !json.success) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json.errors)}`);
    return json.result;
  }
  /** Every item of a paginated list. */
  async all(path: string): Promise<any[]> {
    const out: any[] = [];
    for (let page = 1; ; page++) {
      const items = await this.ok("GET", `${path}${path.includes("?") ? "&" : "?"}per_page=1000&page=${page}`) as any[];
      out.push(...items);
      if (items.length < 1000) return out;
    }
  }
}

/** Runs `fn` over `items`, `width` at a time. */
async function inParallel<T>(items: T[], width: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

describe("a restart brings back thousands of sessions and retained messages, field by field", () => {
  it("restores 2000 sessions (every subscription option, queued and in-flight messages, pending wills) and 2000 retained messages after SIGTERM and after SIGKILL", async () => {
    const SESSIONS = 2000, RETAINED = 2000, WIDTH = 50;
    const dir = dataDir();
    const token = "durability-admin-token-0123456789abcdef";
    const args = ["--data", dir, "--admin-port", "0", "--admin-token", token, "--sys-interval", "0", "--max-queued", "100000"];
    let server = await startBroker(args);
    try {
      let admin = new Admin(server, token);
      await admin.ok("POST", "/namespaces", { name: "dur" });
      await admin.ok("POST", "/namespaces/dur/brokers", { name: "keep", authType: "TOKEN" });
      const BR = "/namespaces/dur/brokers/keep";
      const ids = Array.from({ length: SESSIONS }, (_, i) => `c${String(i).padStart(4, "0")}`);
      const creds = new Map<string, string>();
      for (let i = 0; i < SESSIONS + 1; i += 100) {
        const q = [...ids, "publisher"].slice(i, i + 100).map((id) => `clientid=${id}`).join("&");
        Object.entries(await admin.ok("GET", `${BR}/credentials?type=TOKEN&topicAcl=%23&${q}`) as Record<string, string>).forEach(([k, v]) => creds.set(k, v));
      }
      const open = async (id: string, extra: Partial<Extract<Packet, { type: "connect" }>> = {}) => {
        const c = await RawClient.open(server.port);
        const connack = await c.connect(id, { cleanStart: false, username: "u", password: enc.encode(creds.get(id)!), ...extra });
        if (connack.reasonCode !== 0) throw new Error(`${id}: CONNACK 0x${connack.reasonCode.toString(16)}`);
        return { c, connack };
      };
      // Every option, varied over the sessions: QoS, No Local, Retain As Published, Retain Handling,
      // subscription identifiers (or none), shared subscriptions in 5 groups.
      await inParallel(ids, WIDTH, async (id, i) => {
        const will = i % 50 === 0 ? { topic: `wills/${id}`, payload: enc.encode(`${id} left`), qos: 1 as const, retain: false, properties: { willDelayInterval: 7200, contentType: "text/plain" } } : undefined;
        const { c } = await open(id, { cleanStart: true, properties: { sessionExpiryInterval: 3600 + i }, will });
        c.send({
          type: "subscribe", packetId: 1, properties: i % 4 === 0 ? undefined : { subscriptionIdentifier: i + 1 },
          subscriptions: [{ topicFilter: `r/${i}/+`, qos: (i % 3) as 0 | 1 | 2, noLocal: i % 2 === 1, retainAsPublished: (i >> 1) % 2 === 1, retainHandling: (i % 3) as 0 | 1 | 2 }],
        });
        c.send({
          type: "subscribe", packetId: 2, properties: i % 3 === 0 ? { subscriptionIdentifier: 100_000 + i } : undefined,
          subscriptions: [{ topicFilter: `$share/g${i % 5}/s/${i % 7}/#`, qos: ((i + 1) % 3) as 0 | 1 | 2, noLocal: false, retainAsPublished: i % 2 === 0, retainHandling: 0 }],
        });
        await c.next("suback");
        await c.next("suback");
        if (will !== undefined) c.close(); // no DISCONNECT: the will waits for its delay
        else {
          c.send({ type: "disconnect", reasonCode: 0 });
          await c.waitClosed();
        }
      });
      // Ten sessions (subscribed at QoS 1 or 2) take messages and do not acknowledge them: in flight
      // (some past PUBREC) when they go.
      const held = [1, 2, 4, 5, 7, 8, 10, 11, 13, 14];
      const holders = await Promise.all(held.map(async (i) => (await open(ids[i]!, { properties: { sessionExpiryInterval: 3600 + i } })).c));
      const pub = (await open("publisher", { cleanStart: true, properties: { sessionExpiryInterval: 0 } })).c;
      let pid = 0;
      const publishAcked = async (topic: string, payload: string, qos: 1 | 2, extra: Partial<Publish> = {}) => {
        const packetId = ++pid;
        pub.send({ type: "publish", topic, payload: enc.encode(payload), qos, retain: false, dup: false, packetId, ...extra });
        const ack = await pub.next(qos === 1 ? "puback" : "pubrec");
        if (ack.packetId !== packetId) throw new Error(`ack for ${ack.packetId}, not ${packetId}`);
        if (qos === 2) {
          pub.send({ type: "pubrel", packetId, reasonCode: 0 });
          await pub.next("pubcomp");
        }
      };
      for (const i of held) for (const qos of [1, 2] as const) await publishAcked(`r/${i}/h`, `held ${i} ${qos}`, qos);
      for (let i = 0; i < SESSIONS; i += 7) await publishAcked(`r/${i}/x`, `to ${i}`, i % 2 === 0 ? 1 : 2);
      for (let k = 0; k < 7; k++) await publishAcked(`s/${k}/y`, `shared ${k}`, 2);
      await waitFor(() => holders.every((h) => h.received.some((p) => p.type === "publish")), 5000, "the holders to receive");
      for (const h of holders.slice(0, 4)) for (const p of h.received) if (p.type === "publish" && p.qos === 2) h.send({ type: "pubrec", packetId: p.packetId!, reasonCode: 0 });
      await sleep(100);
      for (const h of holders) h.close();
      // Retained messages with every property.
      const W = 50;
      for (let i = 0; i < RETAINED; i += W) {
        const batch = Array.from({ length: Math.min(W, RETAINED - i) }, (_, k) => i + k);
        for (const n of batch) {
          pub.send({
            type: "publish", topic: `ret/${n % 40}/${n}`, payload: enc.encode(`retained ${n} ✓`), qos: 1, retain: true, dup: false, packetId: 1000 + (n % 1000) + 1,
            properties: {
              payloadFormatIndicator: 1, contentType: "text/plain; charset=utf-8", responseTopic: `reply/${n}`, correlationData: new Uint8Array([n & 0xff, n >> 8, 0, 255]),
              userProperties: [["n", String(n)], ["k", "v"], ["n", "again"]], ...(n % 2 === 0 ? { messageExpiryInterval: 86_400 } : {}),
            },
          });
        }
        for (const _ of batch) await pub.next("puback");
      }
      pub.send({ type: "disconnect", reasonCode: 0 });
      await pub.waitClosed();

      const snapshot = async (a: Admin) => {
        const sessions = (await a.all(`${BR}/sessions`)).sort((x, y) => (x.client_id < y.client_id ? -1 : 1));
        const subscriptions = (await a.all(`${BR}/subscriptions`)).sort((x, y) => `${x.client_id} ${x.topic_filter}` < `${y.client_id} ${y.topic_filter}` ? -1 : 1);
        const retained = (await a.all(`${BR}/retained?topic=%23`)).sort((x, y) => (x.topic < y.topic ? -1 : 1));
        for (const r of retained) delete r.properties.messageExpiryInterval; // counts down; expires_at is the fixed point
        return { sessions, subscriptions, retained };
      };
      const before = await snapshot(admin);
      expect(before.sessions).toHaveLength(SESSIONS);
      expect(before.subscriptions).toHaveLength(2 * SESSIONS);
      expect(before.retained).toHaveLength(RETAINED);
      expect(before.sessions.filter((s) => s.will_pending)).toHaveLength(SESSIONS / 50);
      expect(before.sessions.filter((s) => s.inflight > 0).length).toBeGreaterThanOrEqual(10);
      expect(before.sessions.reduce((a, s) => a + s.queued, 0)).toBeGreaterThan(100);

      // 1. A graceful restart.
      await server.stop("SIGTERM");
      let t = Date.now();
      server = await startBroker(args);
      const gracefulMs = Date.now() - t;
      admin = new Admin(server, token);
      expect(await snapshot(admin)).toEqual(before);

      // 2. SIGKILL, with 20 of the sessions connected at that moment.
      const liveIds = new Set(ids.slice(101, 121));
      const live = await Promise.all([...liveIds].map(async (id) => {
        const { c, connack } = await open(id, { properties: { sessionExpiryInterval: 3600 + Number(id.slice(1)) } });
        expect(connack.sessionPresent).toBe(true); // [MQTT-3.2.2-3]
        return c;
      }));
      await sleep(50);
      const killedAt = Date.now();
      await server.stop("SIGKILL");
      for (const c of live) c.close();
      t = Date.now();
      server = await startBroker(args);
      const killedMs = Date.now() - t;
      admin = new Admin(server, token);
      const after = await snapshot(admin);
      expect(after.subscriptions).toEqual(before.subscriptions);
      expect(after.retained).toEqual(before.retained);
      expect(after.sessions.filter((s) => !liveIds.has(s.client_id))).toEqual(before.sessions.filter((s) => !liveIds.has(s.client_id)));
      for (const s of after.sessions.filter((x) => liveIds.has(x.client_id))) {
        // Connected when the process died: offline now, expiring counted from its last sign of life (heartbeat: 1 s).
        expect(s.connected).toBe(false);
        const from = Date.parse(s.expires_at) - s.expiry_interval * 1000;
        expect(from).toBeGreaterThanOrEqual(killedAt - 2000);
        expect(from).toBeLessThanOrEqual(killedAt + 100);
        // Its queued messages went in flight when it connected; none was acknowledged.
        const { expires_at: _a, connected: _b, inflight, queued, queued_bytes: _q, ...rest } = s;
        const { expires_at: _c, connected: _d, inflight: wasInflight, queued: wasQueued, queued_bytes: _r, ...was } = before.sessions.find((x) => x.client_id === s.client_id)!;
        expect(rest).toEqual(was);
        expect(inflight + queued).toBe(wasInflight + wasQueued);
      }
      // Clients resume: Session Present 1, and what was queued for them arrives.
      const sample = before.sessions.filter((s) => s.queued > 0 || s.inflight > 0).slice(0, 40);
      await inParallel(sample, 10, async (s) => {
        const { c, connack } = await open(s.client_id, { properties: { sessionExpiryInterval: s.expiry_interval } });
        expect(connack.sessionPresent).toBe(true);
        await waitFor(() => c.received.filter((p) => p.type === "publish" || p.type === "pubrel").length >= s.queued + s.inflight, 5000, `${s.client_id}'s messages`);
        c.close();
      });
      console.log(`restore (${RUNTIME}): ${SESSIONS} sessions, ${2 * SESSIONS} subscriptions, ${RETAINED} retained messages; restart took ${gracefulMs} ms after SIGTERM, ${killedMs} ms after SIGKILL (process start to listening)`);
    } finally {
      await server.stop();
    }
  }, 60_000);
});

describe("expiry and wills across downtime", () => {
  it("ends a session whose expiry passes while the broker is down and drops a message whose expiry does, keeping the others with the rest of their lifetime", async () => {
    const dir = dataDir();
    const port = await freePort();
    const args = ["--port", String(port), "--data", dir, "--sys-interval", "0"];
    let server = await startBroker(args);
    try {
      for (const [id, expiry] of [["short", 2], ["long", 600]] as const) {
        const c = await RawClient.open(port);
        await c.connect(id, { cleanStart: true, properties: { sessionExpiryInterval: expiry } });
        c.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "exp/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
        await c.next("suback");
        c.send({ type: "disconnect", reasonCode: 0 });
        await c.waitClosed();
      }
      const pub = await RawClient.open(port);
      await pub.connect("pub");
      pub.send({ type: "publish", topic: "exp/brief", payload: enc.encode("brief"), qos: 1, retain: false, dup: false, packetId: 1, properties: { messageExpiryInterval: 2 } });
      pub.send({ type: "publish", topic: "exp/lasting", payload: enc.encode("lasting"), qos: 1, retain: false, dup: false, packetId: 2, properties: { messageExpiryInterval: 600 } });
      await pub.next("puback");
      await pub.next("puback");
      pub.close();
      await server.stop("SIGKILL");
      await sleep(2500); // down longer than the short session and the brief message live
      server = await startBroker(args);
      const short = await RawClient.open(port);
      expect(await short.connect("short", { cleanStart: false, properties: { sessionExpiryInterval: 2 } })).toMatchObject({ sessionPresent: false });
      short.close();
      const long = await RawClient.open(port);
      expect(await long.connect("long", { cleanStart: false, properties: { sessionExpiryInterval: 600 } })).toMatchObject({ sessionPresent: true });
      const got = await long.next("publish");
      expect(dec.decode(got.payload)).toBe("lasting");
      // The lifetime left is what the downtime did not use [MQTT-3.3.2-6]
      expect(got.properties?.messageExpiryInterval).toBeGreaterThanOrEqual(596);
      expect(got.properties?.messageExpiryInterval).toBeLessThanOrEqual(598);
      long.send({ type: "puback", packetId: got.packetId!, reasonCode: 0 });
      await sleep(200);
      expect(long.received.filter((p) => p.type === "publish")).toEqual([]); // "brief" expired while the broker was down
      long.close();
    } finally {
      await server.stop();
    }
  }, 30_000);

  it("publishes a delayed will across a restart: once, when its delay ends, counted from the disconnect or from the crash", async () => {
    const dir = dataDir();
    const port = await freePort();
    const args = ["--port", String(port), "--data", dir, "--sys-interval", "0"];
    let server = await startBroker(args);
    const watcher = await RawClient.open(port);
    try {
      await watcher.connect("watcher", { cleanStart: true, properties: { sessionExpiryInterval: 600 } });
      watcher.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "wills/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
      await watcher.next("suback");
      const will = (who: string) => ({ topic: `wills/${who}`, payload: enc.encode(`${who} is gone`), qos: 1 as const, retain: false, properties: { willDelayInterval: 2 } });
      // "dropped" loses its connection before the kill; "live" is connected when the broker dies.
      const dropped = await RawClient.open(port);
      await dropped.connect("dropped", { cleanStart: true, properties: { sessionExpiryInterval: 600 }, will: will("dropped") });
      const live = await RawClient.open(port);
      await live.connect("live", { cleanStart: true, properties: { sessionExpiryInterval: 600 }, will: will("live") });
      dropped.close();
      await sleep(300);
      const t0 = Date.now();
      await server.stop("SIGKILL");
      watcher.close();
      live.close();
      server = await startBroker(args);
      const w = await RawClient.open(port);
      expect(await w.connect("watcher", { cleanStart: false, properties: { sessionExpiryInterval: 600 } })).toMatchObject({ sessionPresent: true });
      await sleep(200);
      expect(w.received.filter((p) => p.type === "publish")).toEqual([]); // not yet: the delay is 2 s
      const first = await w.next("publish", 4000);
      const second = await w.next("publish", 4000);
      const at = Date.now() - t0;
      expect([first, second].map((p) => dec.decode(p.payload)).sort()).toEqual(["dropped is gone", "live is gone"]);
      expect(at).toBeGreaterThanOrEqual(1200); // 2 s after the disconnect or the last sign of life (±1 s heartbeat)
      for (const p of [first, second]) w.send({ type: "puback", packetId: p.packetId!, reasonCode: 0 });
      await sleep(200);
      w.close();
      // Published once: another restart does not publish them again.
      await server.stop("SIGKILL");
      server = await startBroker(args);
      const w2 = await RawClient.open(port);
      await w2.connect("watcher", { cleanStart: false, properties: { sessionExpiryInterval: 600 } });
      await sleep(500);
      expect(w2.received.filter((p) => p.type === "publish")).toEqual([]);
      w2.close();
    } finally {
      watcher.close();
      await server.stop();
    }
  }, 30_000);
});

describe("a data directory edgemq cannot trust or cannot have", () => {
  it("refuses to start on a file that is not a database, naming the file and the fix, with a non-zero exit", async () => {
    const dir = dataDir();
    writeFileSync(join(dir, "edgemq.db"), "this is not an SQLite database, just some garbage bytes ".repeat(40));
    const { code, output } = await runBrokerExpectingExit(["--data", dir, "--port", "0"]);
    expect(code).not.toBe(0);
    expect(output).toContain(join(dir, "edgemq.db"));
    expect(output).toMatch(/is damaged.*not an SQLite database/);
    expect(output).toMatch(/move the file aside.*restore it from a backup/);
    expect(output).not.toMatch(/listening on/);
  });

  it("refuses a truncated database and one whose rows fail their checksums, and starts once the file is moved aside", async () => {
    const dir = dataDir();
    let server = await startBroker(["--data", dir, "--sys-interval", "0"]);
    const c = await RawClient.open(server.port);
    await c.connect("keeper", { cleanStart: true, properties: { sessionExpiryInterval: 600 } });
    c.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "k/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await c.next("suback");
    for (let i = 1; i <= 50; i++) c.send({ type: "publish", topic: `k/${i}`, payload: new Uint8Array(2000).fill(i), qos: 1, retain: true, dup: false, packetId: i });
    for (let i = 1; i <= 50; i++) await c.next("puback");
    c.close();
    await server.stop("SIGTERM");
    const file = join(dir, "edgemq.db");
    const original = readFileSync(file);

    // A bit flipped inside a row: SQLite's own checks pass, the row checksum does not.
    const db = new DatabaseSync(file);
    db.exec("UPDATE sessions SET subscriptions = replace(subscriptions, 'k/#', 'x/#')");
    db.close();
    let run = await runBrokerExpectingExit(["--data", dir, "--port", "0"]);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/the session of client "keeper" fails its checksum/);
    expect(run.output).toContain(file);

    // Cut short, as a disk that filled up might leave it.
    writeFileSync(file, original);
    rmSync(`${file}-wal`, { force: true });
    truncateSync(file, Math.floor(original.byteLength / 2) + 100);
    run = await runBrokerExpectingExit(["--data", dir, "--port", "0"]);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/damaged/);
    expect(run.output).toContain(file);

    // The fix the message gives works: move it aside and start empty.
    writeFileSync(`${file}.damaged`, readFileSync(file));
    rmSync(file);
    server = await startBroker(["--data", dir, "--sys-interval", "0"]);
    await server.stop();
  }, 30_000);

  it("refuses a database file truncated to 0 bytes instead of starting empty, with the same message as other damage", async () => {
    const dir = dataDir();
    const server = await startBroker(["--data", dir, "--sys-interval", "0"]);
    const c = await RawClient.open(server.port);
    await c.connect("kept", { cleanStart: true, properties: { sessionExpiryInterval: 600 } });
    c.close();
    await server.stop("SIGTERM");
    const file = join(dir, "edgemq.db");
    truncateSync(file, 0);
    const run = await runBrokerExpectingExit(["--data", dir, "--port", "0"]);
    expect(run.output).not.toMatch(/listening on/);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain(file);
    expect(run.output).toMatch(/is damaged \(it is empty \(0 bytes\).*move the file aside/);
  });

  it("refuses to start when a killed broker's -wal file was deleted or damaged, naming it and the fix; an undamaged restart delivers every acknowledged message", async () => {
    const dir = dataDir();
    const port = await freePort();
    const args = ["--port", String(port), "--data", dir, "--sys-interval", "0"];
    const server = await startBroker(args);
    const sub = await RawClient.open(port);
    await sub.connect("keeper", { cleanStart: true, properties: { sessionExpiryInterval: 3600 } });
    sub.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "w/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await sub.next("suback");
    sub.close();
    const pub = await RawClient.open(port);
    await pub.connect("pub");
    // In rounds of 50, within the broker's Receive Maximum.
    for (let round = 0; round < 6; round++) {
      for (let i = round * 50 + 1; i <= round * 50 + 50; i++) pub.send({ type: "publish", topic: `w/${i}`, payload: enc.encode(String(i)), qos: 1, retain: false, dup: false, packetId: i });
      for (let i = 0; i < 50; i++) await pub.next("puback");
    }
    pub.close();
    // Two heartbeats (one a second): if the first one's commit checkpointed the log, the second is in the -wal only.
    await sleep(2500);
    await server.stop("SIGKILL");
    const file = join(dir, "edgemq.db");
    const image = new Map(["edgemq.db", "edgemq.db-wal", "edgemq.commits"].filter((f) => existsSync(join(dir, f))).map((f) => [f, readFileSync(join(dir, f))]));

    rmSync(`${file}-wal`);
    let run = await runBrokerExpectingExit(args);
    expect(run.output).not.toMatch(/listening on/);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain(`${file}-wal was deleted or damaged`);
    expect(run.output).toMatch(/went back in time: it holds \d+ commits, but .*edgemq\.commits recorded \d+/);
    expect(run.output).toMatch(/put the -wal file back or restore a newer backup/);

    for (const [f, bytes] of image) writeFileSync(join(dir, f), bytes);
    const wal = Buffer.from(image.get("edgemq.db-wal")!);
    wal.fill(0xff, 8, 32); // the -wal header's salts and checksum
    writeFileSync(`${file}-wal`, wal);
    run = await runBrokerExpectingExit(args);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/went back in time/);

    for (const [f, bytes] of image) writeFileSync(join(dir, f), bytes);
    const again = await startBroker(args);
    try {
      const back = await RawClient.open(port);
      expect(await back.connect("keeper", { cleanStart: false, properties: { sessionExpiryInterval: 3600 } })).toMatchObject({ sessionPresent: true });
      const got = new Set<string>();
      while (got.size < 300) {
        const p = await back.next("publish");
        got.add(dec.decode(p.payload));
        back.send({ type: "puback", packetId: p.packetId!, reasonCode: 0 });
      }
      expect(got.size).toBe(300);
      back.close();
    } finally {
      await again.stop();
    }
  }, 60_000);

  it("refuses a second server on a data directory in use, naming the process that holds it", async () => {
    const dir = dataDir();
    const first = await startBroker(["--data", dir, "--sys-interval", "0"]);
    try {
      const { code, output } = await runBrokerExpectingExit(["--data", dir, "--port", "0"]);
      expect(code).not.toBe(0);
      expect(output).toMatch(new RegExp(`data directory ${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is in use by process ${first.process.pid}`));
      expect(output).toMatch(/two brokers cannot share one data directory/);
      // The first one is unharmed.
      const c = await RawClient.open(first.port);
      expect(await c.connect("still-here")).toMatchObject({ reasonCode: 0 });
      c.close();
    } finally {
      await first.stop();
    }
  });
});
