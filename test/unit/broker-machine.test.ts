// Unit tests of the sans-IO broker: bytes in through a MemoryDuplex, time in
// through a fake clock and tick(), packets out decoded from what was written.
import { describe, expect, it } from "vitest";
import { Broker, type BrokerOptions, type Packet } from "@edgemq/core";
import { MemoryDuplex } from "@edgemq/core/testing";
import { FakeClock } from "../support/fake-clock.ts";
import { MemoryPeer } from "../support/memory-peer.ts";

function setup(options: BrokerOptions = {}) {
  const clock = new FakeClock();
  const broker = new Broker({ now: clock.now, limits: { sysInterval: 0, ...options.limits }, ...options, });
  return { clock, broker };
}

class Peer extends MemoryPeer {}

const enc = new TextEncoder();
const flush = () => new Promise((r) => setTimeout(r, 0)); // authentication answers asynchronously

describe("the broker machine, driven by bytes and a fake clock", () => {
  it("answers CONNECT with CONNACK and the broker's capabilities", async () => {
    const { broker } = setup();
    const peer = new Peer(broker);
    peer.connect("a");
    await flush();
    const [connack] = peer.packets();
    expect(connack).toMatchObject({ type: "connack", reasonCode: 0, sessionPresent: false });
    expect((connack as { properties: object }).properties).toMatchObject({ receiveMaximum: 100, maximumPacketSize: 1024 * 1024, topicAliasMaximum: 16 });
  });

  it("closes a socket that sends no CONNECT within the connect timeout, and not before", () => {
    const { broker, clock } = setup({ limits: { connectTimeout: 10 } });
    const peer = new Peer(broker);
    clock.advance(9_999);
    broker.tick();
    expect(peer.duplex.closed).toBe(false);
    clock.advance(2);
    broker.tick();
    expect(peer.duplex.closed).toBe(true);
  });

  it("disconnects with 0x8D after one and a half keep alive periods of silence [MQTT-3.1.2-22]", async () => {
    const { broker, clock } = setup();
    const peer = new Peer(broker);
    peer.connect("k", { keepAlive: 10 });
    await flush();
    peer.packets();
    clock.advance(14_000);
    broker.tick();
    expect(peer.duplex.closed).toBe(false);
    peer.send({ type: "pingreq" }); // activity resets the timer
    expect(peer.packets()).toEqual([{ type: "pingresp" }]);
    clock.advance(14_000);
    broker.tick();
    expect(peer.duplex.closed).toBe(false);
    clock.advance(1_001);
    broker.tick();
    expect(peer.packets()).toMatchObject([{ type: "disconnect", reasonCode: 0x8d }]);
    expect(peer.duplex.closed).toBe(true);
  });

  it("sends Server Keep Alive when the client asks for more than the cap", async () => {
    const { broker } = setup({ limits: { maximumKeepAlive: 60 } });
    const peer = new Peer(broker);
    peer.connect("cap", { keepAlive: 0 });
    await flush();
    expect(peer.packets()[0]).toMatchObject({ type: "connack", properties: { serverKeepAlive: 60 } });
  });

  it("publishes a will after its delay, and a reconnect within the delay cancels it [MQTT-3.1.2-8]", async () => {
    const { broker, clock } = setup();
    const watcher = new Peer(broker);
    watcher.connect("watcher");
    await flush();
    watcher.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "wills/#", qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    watcher.packets();
    const will = { topic: "wills/w", payload: enc.encode("gone"), qos: 0 as const, retain: false, properties: { willDelayInterval: 5 } };

    // First: the delay passes, the will is published.
    let w = new Peer(broker);
    w.connect("w", { will, properties: { sessionExpiryInterval: 60 } });
    await flush();
    w.duplex.close(); // abnormal: no DISCONNECT
    clock.advance(4_000);
    broker.tick();
    expect(watcher.packets()).toEqual([]);
    clock.advance(1_001);
    broker.tick();
    expect(watcher.packets()).toMatchObject([{ type: "publish", topic: "wills/w" }]);

    // Second: the client comes back within the delay, so the will never goes.
    w = new Peer(broker);
    w.connect("w", { will, cleanStart: false, properties: { sessionExpiryInterval: 60 } });
    await flush();
    w.duplex.close();
    clock.advance(2_000);
    broker.tick();
    const back = new Peer(broker);
    back.connect("w", { cleanStart: false, properties: { sessionExpiryInterval: 60 } });
    await flush();
    clock.advance(10_000);
    broker.tick();
    expect(watcher.packets()).toEqual([]);
  });

  it("publishes a pending will when the session expires before the will delay [MQTT-3.1.3-9]", async () => {
    const { broker, clock } = setup();
    const watcher = new Peer(broker);
    watcher.connect("watcher");
    await flush();
    watcher.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "wills/#", qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    watcher.packets();
    const w = new Peer(broker);
    w.connect("short", { will: { topic: "wills/short", payload: enc.encode("x"), qos: 0, retain: false, properties: { willDelayInterval: 100 } }, properties: { sessionExpiryInterval: 3 } });
    await flush();
    w.duplex.close();
    clock.advance(3_001);
    broker.tick();
    expect(watcher.packets()).toMatchObject([{ type: "publish", topic: "wills/short" }]);
    expect(broker.session("short")).toBeUndefined();
  });

  it("keeps a persistent session until its expiry interval passes, then discards it", async () => {
    const { broker, clock } = setup();
    const p = new Peer(broker);
    p.connect("persist", { properties: { sessionExpiryInterval: 30 } });
    await flush();
    p.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "t", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    p.duplex.close();
    clock.advance(29_000);
    broker.tick();
    expect(broker.session("persist")?.subscriptions.size).toBe(1);
    clock.advance(1_001);
    broker.tick();
    expect(broker.session("persist")).toBeUndefined();
    expect(broker.subscriptionCount).toBe(0);
  });

  it("queues QoS 1 messages beyond the client's receive window and sends them as acks arrive [MQTT-3.3.4-9]", async () => {
    const { broker } = setup();
    const sub = new Peer(broker);
    sub.connect("slow", { properties: { receiveMaximum: 2 } });
    await flush();
    sub.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "q", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    sub.packets();
    const pub = new Peer(broker);
    pub.connect("fast");
    await flush();
    for (let i = 1; i <= 5; i++) pub.send({ type: "publish", topic: "q", payload: enc.encode(String(i)), qos: 1, retain: false, dup: false, packetId: i });
    let got = sub.packets() as Extract<Packet, { type: "publish" }>[];
    expect(got.map((p) => new TextDecoder().decode(p.payload))).toEqual(["1", "2"]);
    sub.send({ type: "puback", packetId: got[0]!.packetId!, reasonCode: 0 });
    got = sub.packets() as Extract<Packet, { type: "publish" }>[];
    expect(got.map((p) => new TextDecoder().decode(p.payload))).toEqual(["3"]);
  });

  it("shares one encoded PUBLISH between QoS 0 subscribers of the same protocol family", async () => {
    const { broker } = setup();
    const subs = [new Peer(broker), new Peer(broker)];
    for (const [i, s] of subs.entries()) {
      s.connect(`s${i}`);
      await flush();
      s.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "share/me", qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
      s.packets();
    }
    const writes: Uint8Array[] = [];
    for (const s of subs) {
      const original = s.duplex.write.bind(s.duplex);
      s.duplex.write = (b: Uint8Array) => { writes.push(b); return original(b); };
    }
    const pub = new Peer(broker);
    pub.connect("p");
    await flush();
    pub.send({ type: "publish", topic: "share/me", payload: enc.encode("once"), qos: 0, retain: false, dup: false });
    expect(writes).toHaveLength(2);
    expect(writes[0]).toBe(writes[1]); // the very same bytes object
  });
});

describe("a slow subscriber", () => {
  it("loses QoS 0 and queues QoS 1 (capped) while its socket is backed up, then drains in order", async () => {
    const { broker } = setup({ limits: { maximumQueuedMessages: 3 } });
    const sub = new Peer(broker);
    sub.connect("slowpoke");
    await flush();
    sub.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "s/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    sub.packets();
    sub.duplex.accepting = false; // every write now reports backpressure
    const pub = new Peer(broker);
    pub.connect("pub");
    await flush();
    pub.send({ type: "publish", topic: "s/0", payload: enc.encode("first"), qos: 1, retain: false, dup: false, packetId: 1 });
    expect(sub.packets()).toHaveLength(1); // this write is what revealed the backpressure
    const dropped = broker.stats.messagesDropped;
    pub.send({ type: "publish", topic: "s/q0", payload: enc.encode("lost"), qos: 0, retain: false, dup: false });
    for (let i = 1; i <= 5; i++) pub.send({ type: "publish", topic: "s/q1", payload: enc.encode(String(i)), qos: 1, retain: false, dup: false, packetId: 1 + i });
    expect(sub.packets()).toEqual([]);
    expect(broker.session("slowpoke")!.queue).toHaveLength(3);
    expect(broker.stats.messagesDropped - dropped).toBe(1 + 2); // the QoS 0 one and two over the queue cap
    sub.duplex.accepting = true;
    sub.duplex.sink!.drain();
    const got = sub.packets() as Extract<Packet, { type: "publish" }>[];
    expect(got.map((p) => new TextDecoder().decode(p.payload))).toEqual(["1", "2", "3"]);
  });
});
