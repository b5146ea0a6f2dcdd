// Bad input over real sockets: malformed packets and protocol errors get a
// DISCONNECT with the right reason code at 5.0 and a plain close at 3.1.1,
// and the broker keeps serving everyone else.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, RawClient, sleep, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

// ------------------------------------------------------------ byte builders

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** A packet: first byte, remaining length, body. */
const pkt = (first: number, body: number[]): number[] => [first, ...varint(body.length), ...body];
const str = (s: string | number[]): number[] => {
  const b = typeof s === "string" ? [...Buffer.from(s)] : s;
  return [b.length >> 8, b.length & 0xff, ...b];
};
const u16 = (n: number) => [n >> 8, n & 0xff];

/** A PUBLISH with raw topic bytes; `props` is the 5.0 property block's contents (ignored at 3.1.1). */
function publish(version: 4 | 5, topic: string | number[], opts: { qos?: number; id?: number; props?: number[]; flags?: number; payload?: string } = {}): number[] {
  const qos = opts.qos ?? 0;
  const body = [...str(topic)];
  if (qos > 0) body.push(...u16(opts.id ?? 1));
  if (version === 5) body.push(...varint((opts.props ?? []).length), ...(opts.props ?? []));
  body.push(...Buffer.from(opts.payload ?? "x"));
  return pkt(0x30 | (opts.flags ?? qos << 1), body);
}

/** A SUBSCRIBE of one filter (or of none). */
function subscribe(version: 4 | 5, id: number, filters: string[], first = 0x82): number[] {
  const body = [...u16(id), ...(version === 5 ? [0] : [])];
  for (const f of filters) body.push(...str(f), 1);
  return pkt(first, body);
}

// ------------------------------------------------------------------ checks

/** A fresh client can connect, subscribe and get its own message back. */
async function assertServing(broker: RunningBroker): Promise<void> {
  expect(broker.process.exitCode, broker.output()).toBeNull();
  const raw = await RawClient.open(broker.port, 5);
  const topic = `alive/${Math.random().toString(36).slice(2)}`;
  expect((await raw.connect("")).reasonCode).toBe(0);
  raw.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: topic, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
  await raw.next("suback");
  raw.send({ type: "publish", topic, payload: new Uint8Array([1]), qos: 1, retain: false, dup: false, packetId: 1 });
  await raw.next("puback");
  expect((await raw.next("publish")).topic).toBe(topic);
  raw.close();
}

/** Connects, sends the bad bytes, and returns what came back before the close. */
async function afterConnect(port: number, version: 4 | 5, bad: number[], clientId: string, extra = {}): Promise<RawClient> {
  const raw = await RawClient.open(port, version);
  expect((await raw.connect(clientId, extra)).reasonCode).toBe(0);
  raw.sendBytes(bad);
  await raw.waitClosed();
  return raw;
}

interface Case {
  what: string;
  v5: number[];
  /** The 3.1.1 form, where the mistake exists at 3.1.1. */
  v4?: number[];
  code: number;
}

// Each is sent after a successful CONNECT.
const CASES: Case[] = [
  { what: "a remaining length of five bytes", v5: [0x30, 0xff, 0xff, 0xff, 0xff, 0x01], v4: [0x30, 0xff, 0xff, 0xff, 0xff, 0x01], code: 0x81 },
  { what: "a remaining length not in the fewest bytes", v5: [0xc0, 0x80, 0x00], v4: [0xc0, 0x80, 0x00], code: 0x81 },
  { what: "a topic that is not UTF-8", v5: publish(5, [0x61, 0xc3, 0x28]), v4: publish(4, [0x61, 0xc3, 0x28]), code: 0x81 },
  { what: "a topic with an encoded surrogate", v5: publish(5, [0xed, 0xa0, 0x80]), v4: publish(4, [0xed, 0xa0, 0x80]), code: 0x81 },
  { what: "a topic with U+0000", v5: publish(5, [0x61, 0x00, 0x62]), v4: publish(4, [0x61, 0x00, 0x62]), code: 0x81 },
  { what: "a QoS 1 PUBLISH with packet id 0", v5: publish(5, "a", { qos: 1, id: 0 }), v4: publish(4, "a", { qos: 1, id: 0 }), code: 0x82 },
  { what: "a SUBSCRIBE with packet id 0", v5: subscribe(5, 0, ["a"]), v4: subscribe(4, 0, ["a"]), code: 0x82 },
  { what: "a SUBSCRIBE with no topic filter", v5: subscribe(5, 1, []), v4: subscribe(4, 1, []), code: 0x82 },
  { what: "a SUBSCRIBE with reserved header flags 0000", v5: subscribe(5, 1, ["a"], 0x80), v4: subscribe(4, 1, ["a"], 0x80), code: 0x81 },
  { what: "a PUBREL with header flags 0000", v5: pkt(0x60, u16(1)), v4: pkt(0x60, u16(1)), code: 0x81 },
  { what: "a PUBLISH at QoS 3", v5: publish(5, "a", { flags: 0x06, id: 1 }), v4: publish(4, "a", { flags: 0x06, id: 1 }), code: 0x81 },
  { what: "a PUBLISH at QoS 0 with DUP", v5: publish(5, "a", { flags: 0x08 }), v4: publish(4, "a", { flags: 0x08 }), code: 0x81 },
  { what: "a PUBLISH to a topic with a wildcard", v5: publish(5, "a/+/b"), v4: publish(4, "a/#"), code: 0x90 },
  { what: "a PUBLISH whose topic length runs past the packet", v5: pkt(0x30, [0x00, 0x09, 0x61, 0x00]), v4: pkt(0x30, [0x00, 0x09, 0x61]), code: 0x81 },
  { what: "a PINGREQ with a body", v5: [0xc0, 0x01, 0x00], v4: [0xc0, 0x01, 0x00], code: 0x81 },
  { what: "a packet of reserved type 0", v5: [0x00, 0x00], v4: [0x00, 0x00], code: 0x81 },
  { what: "a CONNACK from the client", v5: pkt(0x20, [0, 0, 0]), v4: pkt(0x20, [0, 0]), code: 0x82 },
  { what: "a SUBACK from the client", v5: pkt(0x90, [0, 1, 0, 0]), v4: pkt(0x90, [0, 1, 0]), code: 0x82 },
  { what: "an AUTH with no authentication method in use", v5: [0xf0, 0x00], v4: [0xf0, 0x00], code: 0x82 },
  { what: "a topic alias above the Topic Alias Maximum", v5: publish(5, "a", { props: [0x23, ...u16(17)] }), code: 0x94 },
  { what: "a topic alias of 0", v5: publish(5, "a", { props: [0x23, 0, 0] }), code: 0x82 },
  { what: "an empty topic with a topic alias never set", v5: publish(5, "", { props: [0x23, 0, 5] }), code: 0x82 },
  { what: "an empty topic with no topic alias", v5: publish(5, ""), code: 0x82 },
  { what: "a PUBLISH carrying a subscription identifier", v5: publish(5, "a", { props: [0x0b, 1] }), code: 0x82 },
  { what: "a property not allowed in PUBLISH", v5: publish(5, "a", { props: [0x11, 0, 0, 0, 1] }), code: 0x81 },
  { what: "an unknown property", v5: publish(5, "a", { props: [0x7f, 0] }), code: 0x81 },
  { what: "a property given twice", v5: publish(5, "a", { props: [0x03, ...str("t"), 0x03, ...str("t")] }), code: 0x82 },
  { what: "a payload format indicator of 2", v5: publish(5, "a", { props: [0x01, 2] }), code: 0x82 },
  { what: "a property length past the packet", v5: pkt(0x30, [...str("a"), 0x10, 0x01]), code: 0x81 },
  { what: "a DISCONNECT with an unknown reason code", v5: pkt(0xe0, [0x05, 0]), code: 0x81 },
  { what: "SUBSCRIBE options with reserved bits", v5: pkt(0x82, [...u16(1), 0, ...str("a"), 0xc1]), v4: pkt(0x82, [...u16(1), ...str("a"), 0x05]), code: 0x81 },
  { what: "a subscription with retain handling 3", v5: pkt(0x82, [...u16(1), 0, ...str("a"), 0x31]), code: 0x82 },
];

describe("malformed packets and protocol errors after CONNECT", () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker(["--max-packet-size", "200", "--receive-maximum", "2"]);
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("answers each at 5.0 with DISCONNECT and its reason code, then closes, and keeps serving", async () => {
    for (const [i, c] of CASES.entries()) {
      const raw = await afterConnect(broker.port, 5, c.v5, `bad5-${i}`);
      const d = raw.received.find((p) => p.type === "disconnect");
      expect(d && d.reasonCode, c.what).toBe(c.code); // [MQTT-4.13.1-1]
      expect(raw.received.filter((p) => p.type !== "disconnect"), c.what).toEqual([]);
      await assertServing(broker);
    }
  });

  it("closes the connection at 3.1.1 without sending anything, and keeps serving", async () => {
    for (const [i, c] of CASES.entries()) {
      if (c.v4 === undefined) continue;
      const raw = await RawClient.open(broker.port, 4);
      expect((await raw.connect(`bad4-${i}`)).reasonCode).toBe(0);
      const bytes: number[] = [];
      raw.socket.on("data", (d: Buffer) => bytes.push(...d));
      raw.sendBytes(c.v4);
      await raw.waitClosed();
      expect(bytes, c.what).toEqual([]);
      await assertServing(broker);
    }
  });

  it("refuses a packet over --max-packet-size from its fixed header, with DISCONNECT 0x95 before the body is sent", async () => {
    const raw = await RawClient.open(broker.port, 5);
    const ack = await raw.connect("too-big");
    expect(ack.properties?.maximumPacketSize).toBe(200);
    // Only the header of a 1,000-byte PUBLISH: the body never comes.
    raw.sendBytes([0x30, ...varint(997)]);
    expect((await raw.next("disconnect")).reasonCode).toBe(0x95);
    await raw.waitClosed();

    // The largest length a header can state is refused at once as well, at 3.1.1 by a close.
    const raw4 = await RawClient.open(broker.port, 4);
    await raw4.connect("too-big-4");
    raw4.sendBytes([0x30, 0xff, 0xff, 0xff, 0x7f]);
    await raw4.waitClosed();
    expect(raw4.received).toEqual([]);

    // One byte under the limit is fine: 200 bytes in all.
    const ok = await RawClient.open(broker.port, 5);
    await ok.connect("just-fits");
    const body = [...str("fits"), 0, ...new Array(200 - 2 - 1 - 6 - 1).fill(0x61)];
    ok.sendBytes(pkt(0x30, body));
    ok.send({ type: "pingreq" });
    await ok.next("pingresp");
    expect(ok.closed).toBe(false);
    ok.close();
    await assertServing(broker);
  });

  it("disconnects a 5.0 client that exceeds Receive Maximum with QoS 2 messages it never releases: DISCONNECT 0x93", async () => {
    const raw = await RawClient.open(broker.port, 5);
    expect((await raw.connect("greedy")).properties?.receiveMaximum).toBe(2);
    for (const id of [1, 2]) {
      raw.send({ type: "publish", topic: "greedy/t", payload: new Uint8Array([id]), qos: 2, retain: false, dup: false, packetId: id });
      expect((await raw.next("pubrec")).packetId).toBe(id);
    }
    raw.send({ type: "publish", topic: "greedy/t", payload: new Uint8Array([3]), qos: 2, retain: false, dup: false, packetId: 3 });
    expect((await raw.next("disconnect")).reasonCode).toBe(0x93);
    await raw.waitClosed();

    // A control: releasing each one keeps the window open for many more.
    const polite = await RawClient.open(broker.port, 5);
    await polite.connect("polite");
    for (let id = 1; id <= 6; id++) {
      polite.send({ type: "publish", topic: "polite/t", payload: new Uint8Array([id]), qos: 2, retain: false, dup: false, packetId: id });
      await polite.next("pubrec");
      polite.send({ type: "pubrel", packetId: id, reasonCode: 0 });
      await polite.next("pubcomp");
    }
    expect(polite.closed).toBe(false);
    polite.close();
    await assertServing(broker);
  });
});

describe("bad input before CONNECT", () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker.stop();
  });

  const connectWith = (level: number, flags: number, tail: number[] = [], props: number[] = []) =>
    pkt(0x10, [...str("MQTT"), level, flags, 0, 60, ...(level === 5 ? [props.length, ...props] : []), ...str("x"), ...tail]);

  it("answers a malformed 5.0 CONNECT with a CONNACK carrying the reason code, and closes", async () => {
    const cases: [string, number[], number][] = [
      ["the reserved flag set", connectWith(5, 0x03), 0x81],
      ["will QoS 3", connectWith(5, 0x1e), 0x81],
      ["bytes after the payload", connectWith(5, 0x02, [0x99]), 0x81],
      ["Receive Maximum 0", connectWith(5, 0x02, [], [0x21, 0, 0]), 0x82],
      ["Maximum Packet Size 0", connectWith(5, 0x02, [], [0x27, 0, 0, 0, 0]), 0x82],
      ["a property CONNECT may not carry", connectWith(5, 0x02, [], [0x23, 0, 1]), 0x81],
      ["a will topic with a wildcard", connectWith(5, 0x06, [0, ...str("a/#"), ...str("")]), 0x90],
    ];
    for (const [what, bad, code] of cases) {
      const raw = await RawClient.open(broker.port, 5);
      raw.sendBytes(bad);
      const ack = await raw.next("connack");
      expect(ack.reasonCode, what).toBe(code);
      await raw.waitClosed();
      await assertServing(broker);
    }
  });

  it("closes a malformed 3.1.1 CONNECT without a CONNACK", async () => {
    // Reserved flag [MQTT-3.1.2-3], will QoS 3, a password without a user name, trailing bytes.
    for (const bad of [connectWith(4, 0x03), connectWith(4, 0x1e), connectWith(4, 0x42, str("pw")), connectWith(4, 0x02, [0x99])]) {
      const raw = await RawClient.open(broker.port, 4);
      const bytes: number[] = [];
      raw.socket.on("data", (d: Buffer) => bytes.push(...d));
      raw.sendBytes(bad);
      await raw.waitClosed();
      expect(bytes).toEqual([]); // [MQTT-3.1.4-1] (3.1.1)
      await assertServing(broker);
    }
  });

  it("refuses a CONNECT too large for an unauthenticated peer from its header", async () => {
    const raw = await RawClient.open(broker.port, 5);
    raw.sendBytes([0x10, ...varint(10 * 1024 * 1024)]);
    await raw.waitClosed(1000);
    await assertServing(broker);
  });
});

// A small deterministic generator, so a failure can be replayed.
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s >>> 24;
  };
}

describe("a burst of garbage from many sockets at once", () => {
  it("does not crash the server, which goes on serving a subscriber that was there all along", async () => {
    const broker = await startBroker(["--connect-timeout", "2"]);
    try {
      const watcher = await connect(broker.url, { clientId: "garbage-watcher" });
      let watcherClosed = false;
      watcher.on("close", () => (watcherClosed = true));
      const got: string[] = [];
      watcher.on("message", (_t, p) => got.push(p.toString()));
      await watcher.subscribeAsync("garbage/alive", { qos: 1 });

      const rand = prng(0x5eed);
      const ended = new Set<net.Socket>();
      const sockets = await Promise.all(Array.from({ length: 60 }, () => new Promise<net.Socket>((resolve) => {
        const s = net.connect(broker.port, "127.0.0.1", () => resolve(s));
        s.on("error", () => {});
        s.on("data", () => {}); // read what the server says (a CONNACK, a DISCONNECT) so its close is seen
        s.on("close", () => ended.add(s));
      })));
      // Keep alive 1: a connected socket left holding half a packet is ended by keep alive.
      const connectFor = (i: number, version: 4 | 5) => pkt(0x10, [...str("MQTT"), version, 0x02, 0, 1, ...(version === 5 ? [0] : []), ...str(`g${i}`)]);
      await Promise.all(sockets.map(async (s, i) => {
        // A third speak garbage from the first byte; a third connect at 5.0 and a third at 3.1.1 first.
        if (i % 3 === 1) s.write(Uint8Array.from(connectFor(i, 5)));
        if (i % 3 === 2) s.write(Uint8Array.from(connectFor(i, 4)));
        for (let k = 0; k < 8 && !s.destroyed; k++) {
          const chunk = Uint8Array.from({ length: 1 + (rand() << 2) }, () => rand());
          // Some chunks start like plausible packets, to get past the first byte.
          if (k % 2 === 0) chunk[0] = [0x30, 0x32, 0x34, 0x82, 0xa2, 0x62, 0xe0, 0xf0][rand() % 8]!;
          s.write(chunk);
          await sleep(5);
        }
      }));
      // The server ends each of them: by protocol error, the connect timeout or keep alive.
      await waitFor(() => ended.size === sockets.length, 5000, "the server to close every garbage socket").catch(() => {});
      const open = sockets.length - ended.size;
      for (const s of sockets) s.destroy();
      expect(open).toBe(0);

      expect(broker.process.exitCode, broker.output()).toBeNull();
      expect(watcherClosed).toBe(false);
      const pub = await connect(broker.url, { protocolVersion: 4, clientId: "garbage-pub" });
      await pub.publishAsync("garbage/alive", "still serving", { qos: 1 });
      await waitFor(() => got.length === 1);
      expect(got).toEqual(["still serving"]);
      pub.end(); watcher.end();
      await assertServing(broker);
      expect(broker.output()).not.toMatch(/TypeError|RangeError|uncaught|Unhandled/i);
    } finally {
      await broker.stop();
    }
  });
});
