// Flow control over real sockets: Receive Maximum in both directions and
// Maximum Packet Size in both directions.
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProtocolVersion } from "@edgemq/core/codec";
import { collect, connect, mosquittoPub, RawClient, sleep, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

const enc = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const publishes = (raw: RawClient) => raw.received.filter((p) => p.type === "publish");

let broker: RunningBroker;
beforeAll(async () => {
  broker = await startBroker(["--sys-interval", "0"]);
});
afterAll(async () => {
  await broker.stop();
});

async function rawSubscriber(port: number, version: ProtocolVersion, clientId: string, filter: string, qos: 0 | 1 | 2, extra: Parameters<RawClient["connect"]>[1] = {}): Promise<RawClient> {
  const raw = await RawClient.open(port, version);
  expect((await raw.connect(clientId, extra)).reasonCode).toBe(0);
  raw.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
  expect((await raw.next("suback")).reasonCodes).toEqual([qos]);
  return raw;
}

describe("the client's Receive Maximum (server → client)", () => {
  it("never has more QoS 1 messages in flight than the client's Receive Maximum, and sends the rest in order as acks come", async () => {
    const sub = await rawSubscriber(broker.port, 5, "rm-q1-sub", "fc/rm/q1", 1, { properties: { receiveMaximum: 2 } });
    const pub = await connect(broker.url, { clientId: "rm-q1-pub" });
    for (let i = 0; i < 6; i++) await pub.publishAsync("fc/rm/q1", `m${i}`, { qos: 1 });
    await waitFor(() => publishes(sub).length >= 2);
    await sleep(300);
    // Exactly two, the first two.
    expect(publishes(sub).map((p) => text(p.payload))).toEqual(["m0", "m1"]);
    const seen: string[] = [];
    // Each PUBACK lets exactly one more through.
    for (let expected = 2; expected < 6; expected++) {
      const p = await sub.next("publish");
      seen.push(text(p.payload));
      sub.send({ type: "puback", packetId: p.packetId!, reasonCode: 0 });
      await waitFor(() => publishes(sub).length === 2, 2000, `message m${expected}`);
      await sleep(50);
      expect(publishes(sub)).toHaveLength(2);
    }
    while (publishes(sub).length > 0) {
      const p = await sub.next("publish");
      seen.push(text(p.payload));
      sub.send({ type: "puback", packetId: p.packetId!, reasonCode: 0 });
    }
    expect(seen).toEqual(["m0", "m1", "m2", "m3", "m4", "m5"]);
    pub.end(); sub.close();
  });

  it("keeps a QoS 2 message in flight until PUBCOMP, not PUBREC, and frees the slot on a failed PUBREC", async () => {
    const sub = await rawSubscriber(broker.port, 5, "rm-q2-sub", "fc/rm/q2", 2, { properties: { receiveMaximum: 1 } });
    const pub = await connect(broker.url, { clientId: "rm-q2-pub" });
    for (let i = 0; i < 3; i++) await pub.publishAsync("fc/rm/q2", `m${i}`, { qos: 2 });
    const first = await sub.next("publish");
    expect(text(first.payload)).toBe("m0");
    sub.send({ type: "pubrec", packetId: first.packetId!, reasonCode: 0 });
    await sub.next("pubrel");
    await sleep(300);
    expect(publishes(sub)).toHaveLength(0); // PUBREC alone does not free the slot
    sub.send({ type: "pubcomp", packetId: first.packetId!, reasonCode: 0 });
    const second = await sub.next("publish");
    expect(text(second.payload)).toBe("m1");
    // A PUBREC with a reason code of 0x80 or more ends the exchange and frees the slot.
    sub.send({ type: "pubrec", packetId: second.packetId!, reasonCode: 0x80 });
    const third = await sub.next("publish");
    expect(text(third.payload)).toBe("m2");
    await sleep(100);
    expect(sub.received.filter((p) => p.type === "pubrel")).toHaveLength(0);
    pub.end(); sub.close();
  });

  it("keeps answering other packets while the client's quota is zero", async () => {
    const sub = await rawSubscriber(broker.port, 5, "rm-zero-sub", "fc/rm/zero", 1, { properties: { receiveMaximum: 1 } });
    const pub = await connect(broker.url, { clientId: "rm-zero-pub" });
    await pub.publishAsync("fc/rm/zero", "a", { qos: 1 });
    await pub.publishAsync("fc/rm/zero", "b", { qos: 1 });
    await sub.next("publish");
    sub.send({ type: "pingreq" });
    await sub.next("pingresp");
    sub.send({ type: "subscribe", packetId: 9, subscriptions: [{ topicFilter: "fc/rm/other", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    expect(await sub.next("suback")).toMatchObject({ packetId: 9, reasonCodes: [1] });
    sub.send({ type: "unsubscribe", packetId: 10, topicFilters: ["fc/rm/other"] });
    expect(await sub.next("unsuback")).toMatchObject({ packetId: 10, reasonCodes: [0] });
    expect(publishes(sub)).toHaveLength(0);
    pub.end(); sub.close();
  });
});

describe("the client's Receive Maximum with Mosquitto's clients", () => {
  it("delivers every message, in order, to mosquitto_sub with a Receive Maximum of 1", async () => {
    const child = spawn("stdbuf", ["-oL", "mosquitto_sub", "-d", "-h", "127.0.0.1", "-p", String(broker.port), "-V", "mqttv5", "-t", "fc/mosq/rm", "-q", "2", "-C", "10", "-D", "connect", "receive-maximum", "1"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const exited = new Promise<number | null>((r) => child.once("close", (c) => { clearTimeout(kill); r(c); }));
    await waitFor(() => out.includes("received SUBACK"), 5000, "mosquitto_sub to subscribe");
    const pub = await connect(broker.url, { clientId: "rm-mosq-pub" });
    for (let i = 0; i < 10; i++) void pub.publish("fc/mosq/rm", `m${i}`, { qos: (1 + (i % 2)) as 1 | 2 });
    expect(await exited).toBe(0);
    const lines = out.split("\n").filter((l) => l.length > 0);
    expect(lines.filter((l) => /^m\d$/.test(l))).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    // One at a time: each PUBLISH after the first comes only after the previous one was completed.
    const events = lines.filter((l) => /received PUBLISH|sending PUBACK|sending PUBCOMP/.test(l)).map((l) => (l.includes("received PUBLISH") ? "P" : "done"));
    expect(events.join(" ")).toBe(Array.from({ length: 10 }, () => "P done").join(" "));
    pub.end();
  });
});

describe("the server's Receive Maximum (client → server)", () => {
  let limited: RunningBroker;
  beforeAll(async () => {
    limited = await startBroker(["--receive-maximum", "2", "--sys-interval", "0"]);
  });
  afterAll(async () => {
    await limited.stop();
  });

  it("advertises --receive-maximum in CONNACK", async () => {
    const raw = await RawClient.open(limited.port, 5);
    const ack = await raw.connect("rm-advertise");
    expect(ack.properties?.receiveMaximum).toBe(2);
    raw.close();
  });

  it("disconnects with 0x93 a client that sends more unreleased QoS 2 messages than the Receive Maximum", async () => {
    const raw = await RawClient.open(limited.port, 5);
    await raw.connect("rm-exceed");
    for (const id of [1, 2]) {
      raw.send({ type: "publish", topic: "fc/in", payload: enc.encode(`m${id}`), qos: 2, retain: false, dup: false, packetId: id });
      await raw.next("pubrec");
    }
    raw.send({ type: "publish", topic: "fc/in", payload: enc.encode("m3"), qos: 2, retain: false, dup: false, packetId: 3 });
    const d = await raw.next("disconnect");
    expect(d.reasonCode).toBe(0x93);
    await raw.waitClosed();
  });

  it("frees a slot on PUBREL, and does not count a resent unreleased message as a new one", async () => {
    const sub = await connect(limited.url, { clientId: "rm-free-sub" });
    const got = collect(sub);
    await sub.subscribeAsync("fc/free", { qos: 2 });
    const raw = await RawClient.open(limited.port, 5);
    await raw.connect("rm-free");
    for (const id of [1, 2]) {
      raw.send({ type: "publish", topic: "fc/free", payload: enc.encode(`m${id}`), qos: 2, retain: false, dup: false, packetId: id });
      await raw.next("pubrec");
    }
    // At the limit, a resend of message 2 (DUP) is the same message, not a third one.
    raw.send({ type: "publish", topic: "fc/free", payload: enc.encode("m2"), qos: 2, retain: false, dup: true, packetId: 2 });
    expect(await raw.next("pubrec")).toMatchObject({ packetId: 2, reasonCode: 0 });
    raw.send({ type: "pubrel", packetId: 1, reasonCode: 0 });
    expect(await raw.next("pubcomp")).toMatchObject({ packetId: 1, reasonCode: 0 });
    raw.send({ type: "publish", topic: "fc/free", payload: enc.encode("m3"), qos: 2, retain: false, dup: false, packetId: 3 });
    expect(await raw.next("pubrec")).toMatchObject({ packetId: 3, reasonCode: 0 });
    await waitFor(() => got.length === 3);
    await sleep(100);
    expect(got.map((m) => m.payload)).toEqual(["m1", "m2", "m3"]);
    expect(raw.closed).toBe(false);
    raw.close(); sub.end();
  });
});

describe("Maximum Packet Size", () => {
  let small: RunningBroker;
  beforeAll(async () => {
    small = await startBroker(["--max-packet-size", "1024", "--sys-interval", "0"]);
  });
  afterAll(async () => {
    await small.stop();
  });

  it("does not send a message larger than a subscriber's Maximum Packet Size to it, while others still get it", async () => {
    const limitedSub = await connect(broker.url, { clientId: "mps-limited", properties: { maximumPacketSize: 200 } });
    const bigSub = await connect(broker.url, { clientId: "mps-big" });
    const v4Sub = await connect(broker.url, { clientId: "mps-v4", protocolVersion: 4 });
    const gotLimited = collect(limitedSub), gotBig = collect(bigSub), got4 = collect(v4Sub);
    for (const c of [limitedSub, bigSub, v4Sub]) await c.subscribeAsync("fc/mps", { qos: 1 });
    const pub = await connect(broker.url, { clientId: "mps-pub" });
    await pub.publishAsync("fc/mps", "x".repeat(500), { qos: 1 });
    await pub.publishAsync("fc/mps", "small", { qos: 0 });
    await waitFor(() => gotLimited.length === 1 && gotBig.length === 2 && got4.length === 2);
    await sleep(200);
    expect(gotLimited.map((m) => m.payload)).toEqual(["small"]);
    expect(gotBig.map((m) => m.payload.length)).toEqual([500, 5]);
    expect(got4.map((m) => m.payload.length)).toEqual([500, 5]);
    for (const c of [limitedSub, bigSub, v4Sub, pub]) c.end();
  });

  it("treats a too-large message as delivered, so it does not hold a Receive Maximum slot", async () => {
    const sub = await rawSubscriber(broker.port, 5, "mps-raw", "fc/mps/raw", 1, { properties: { maximumPacketSize: 100, receiveMaximum: 1 } });
    const pub = await connect(broker.url, { clientId: "mps-raw-pub" });
    await pub.publishAsync("fc/mps/raw", "y".repeat(300), { qos: 1 });
    await pub.publishAsync("fc/mps/raw", "after", { qos: 1 });
    const p = await sub.next("publish");
    expect(text(p.payload)).toBe("after");
    await sleep(200);
    expect(publishes(sub)).toHaveLength(0);
    expect(sub.closed).toBe(false);
    pub.end(); sub.close();
  });

  it("advertises --max-packet-size in CONNACK and disconnects with 0x95 a 5.0 client that sends a larger PUBLISH", async () => {
    const watcher = await connect(small.url, { clientId: "mps-watch" });
    const got = collect(watcher);
    await watcher.subscribeAsync("fc/too-big", { qos: 1 });
    const raw = await RawClient.open(small.port, 5);
    const ack = await raw.connect("mps-sender");
    expect(ack.properties?.maximumPacketSize).toBe(1024);
    raw.send({ type: "publish", topic: "fc/too-big", payload: new Uint8Array(2000), qos: 1, retain: false, dup: false, packetId: 1 });
    const d = await raw.next("disconnect");
    expect(d.reasonCode).toBe(0x95);
    await raw.waitClosed();
    // A PUBLISH just under the limit is fine.
    const ok = await RawClient.open(small.port, 5);
    await ok.connect("mps-sender-ok");
    ok.send({ type: "publish", topic: "fc/too-big", payload: new Uint8Array(900), qos: 1, retain: false, dup: false, packetId: 1 });
    expect(await ok.next("puback")).toMatchObject({ packetId: 1, reasonCode: 0 });
    await waitFor(() => got.length === 1);
    expect(got[0]!.payload.length).toBe(900);
    ok.close(); watcher.end();
  });

  it("closes a 3.1.1 connection that sends a PUBLISH over --max-packet-size, without a DISCONNECT", async () => {
    const raw = await RawClient.open(small.port, 4);
    await raw.connect("mps-sender-4");
    raw.send({ type: "publish", topic: "fc/too-big", payload: new Uint8Array(2000), qos: 1, retain: false, dup: false, packetId: 1 });
    await raw.waitClosed();
    expect(raw.received.map((p) => p.type)).toEqual([]);
  });

  it("keeps a too-large message from mosquitto_pub away from subscribers at 3.1.1 and 5.0", async () => {
    const watcher = await connect(small.url, { clientId: "mps-watch-mosq" });
    const got = collect(watcher);
    await watcher.subscribeAsync("fc/mosq", { qos: 1 });
    const big = "z".repeat(3000);
    // 3.1.1 cannot learn the limit: the broker closes the connection, and mosquitto_pub fails.
    const v311 = await mosquittoPub(["-h", "127.0.0.1", "-p", String(small.port), "-V", "mqttv311", "-t", "fc/mosq", "-m", big, "-q", "1", "-d"]);
    expect(v311.output).toMatch(/sending PUBLISH .*3000 bytes/);
    expect(v311.code).not.toBe(0);
    // 5.0 reads Maximum Packet Size from CONNACK, and mosquitto_pub does not send the PUBLISH at all.
    const v5 = await mosquittoPub(["-h", "127.0.0.1", "-p", String(small.port), "-V", "mqttv5", "-t", "fc/mosq", "-m", big, "-q", "1", "-d"]);
    expect(v5.output).toContain("received CONNACK (0)");
    expect(v5.output).not.toMatch(/sending PUBLISH/);
    const ok = await mosquittoPub(["-h", "127.0.0.1", "-p", String(small.port), "-V", "mqttv5", "-t", "fc/mosq", "-m", "fits", "-q", "1"]);
    expect(ok.code).toBe(0);
    await waitFor(() => got.length === 1);
    await sleep(100);
    expect(got.map((m) => m.payload)).toEqual(["fits"]);
    watcher.end();
  });
});
