// Unit tests of the broker's inspection and admin methods (clients(),
// sessions(), subscriptions(), retainedMessages(), disconnectClient(),
// clearRetained()), driven like the machine tests: bytes through a
// MemoryDuplex, time through a fake clock.
import { describe, expect, it } from "vitest";
import { FakeClock } from "../support/fake-clock.ts";
import {
  Broker, type BrokerOptions, MemoryStore, type Message, type Packet } from "@edgemq/core";
import { MemoryDuplex } from "@edgemq/core/testing";
import { MemoryPeer } from "../support/memory-peer.ts";

function setup(options: BrokerOptions = {}) {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const broker = new Broker({ now: clock.now, store, limits: { sysInterval: 0, ...options.limits }, ...options });
  return { clock, broker, store };
}

class Peer extends MemoryPeer {
  subscribe(packetId: number, topicFilter: string, options: { qos?: 0 | 1 | 2; noLocal?: boolean; retainAsPublished?: boolean; retainHandling?: 0 | 1 | 2; id?: number } = {}) {
    this.send({
      type: "subscribe", packetId,
      subscriptions: [{ topicFilter, qos: options.qos ?? 0, noLocal: options.noLocal ?? false, retainAsPublished: options.retainAsPublished ?? false, retainHandling: options.retainHandling ?? 0 }],
      ...(options.id !== undefined ? { properties: { subscriptionIdentifier: options.id } } : {}),
    });
  }
}

const enc = new TextEncoder();
const flush = () => new Promise((r) => setTimeout(r, 0)); // authentication answers asynchronously

function message(topic: string, payload: string, extra: Partial<Message> = {}): Message {
  return { topic, payload: enc.encode(payload), qos: 0, retain: true, properties: undefined, expiresAt: undefined, senderId: "", receivedAt: 1_000_000, ...extra };
}

describe("the broker's inspection methods", () => {
  it("lists connected clients with their protocol, address, connect time, keep alive, clean start, expiry and counts", async () => {
    const { broker, clock } = setup();
    const a = new Peer(broker, 5, { remoteAddress: "10.0.0.7", remotePort: 41000, transport: "ws", serverName: "sensors.acme.localhost" });
    clock.advance(500);
    a.connect("a", { username: "alice", keepAlive: 30, cleanStart: false, properties: { sessionExpiryInterval: 120 } });
    await flush();
    a.subscribe(1, "x/#");
    a.subscribe(2, "$share/g/y");
    const b = new Peer(broker, 4);
    b.connect("b", { keepAlive: 60 });
    const c = new Peer(broker, 3);
    c.connect("c31", { cleanStart: false });
    const unauthenticated = new Peer(broker);
    await flush();
    expect(unauthenticated.duplex.closed).toBe(false);
    const clients = broker.clients().sort((x, y) => x.clientId.localeCompare(y.clientId));
    expect(clients.map((x) => x.clientId)).toEqual(["a", "b", "c31"]);
    expect(clients[0]).toEqual({
      clientId: "a", username: "alice", protocolVersion: 5,
      conn: { remoteAddress: "10.0.0.7", remotePort: 41000, transport: "ws", serverName: "sensors.acme.localhost" },
      connectedAt: 1_000_500, keepAlive: 30, cleanStart: false, sessionExpiryInterval: 120, attributes: {},
      credentialExpiresAt: undefined, subscriptions: 2, inflight: 0, queued: 0, queuedBytes: 0,
    });
    expect(clients[1]).toMatchObject({ clientId: "b", protocolVersion: 4, username: undefined, keepAlive: 60, cleanStart: true, sessionExpiryInterval: 0 });
    expect(clients[2]).toMatchObject({ clientId: "c31", protocolVersion: 3, cleanStart: false, sessionExpiryInterval: 7 * 24 * 3600 }); // 3.1.1's "keep" is capped at the default 7 days
    expect(broker.clients("b").map((x) => x.clientId)).toEqual(["b"]);
    expect(broker.clients("nobody")).toEqual([]);
  });

  it("counts a client's in-flight and queued messages", async () => {
    const { broker } = setup({ limits: { maximumInflight: 2 } });
    const sub = new Peer(broker);
    sub.connect("sub");
    await flush();
    sub.subscribe(1, "t", { qos: 1 });
    for (let i = 0; i < 5; i++) broker.publish(message("t", `m${i}`, { qos: 1, retain: false }));
    expect(broker.clients("sub")[0]).toMatchObject({ inflight: 2, queued: 3, queuedBytes: 6 });
    expect(broker.sessions("sub")[0]).toMatchObject({ inflight: 2, queued: 3, queuedBytes: 6 });
  });

  it("gives copies: changing a listed client or subscription changes nothing in the broker", async () => {
    const { broker } = setup();
    const p = new Peer(broker);
    p.connect("p");
    await flush();
    p.subscribe(1, "t", { qos: 1 });
    broker.clients()[0]!.conn.remoteAddress = "changed";
    broker.subscriptions()[0]!.qos = 0;
    expect(broker.clients()[0]!.conn.remoteAddress).toBe("127.0.0.1");
    expect(broker.subscriptions()[0]!.qos).toBe(1);
  });

  it("lists sessions connected or not, with the expiry time of offline ones and pending wills", async () => {
    const { broker, clock } = setup();
    const on = new Peer(broker);
    on.connect("online", { properties: { sessionExpiryInterval: 60 } });
    const off = new Peer(broker);
    off.connect("offline", {
      properties: { sessionExpiryInterval: 60 },
      will: { topic: "w", payload: enc.encode("bye"), qos: 0, retain: false, properties: { willDelayInterval: 30 } },
    });
    const forever = new Peer(broker, 4);
    forever.connect("forever", { cleanStart: false });
    await flush();
    off.subscribe(1, "a");
    off.subscribe(2, "b");
    clock.advance(1_000);
    off.duplex.close();
    forever.duplex.close();
    const sessions = broker.sessions().sort((x, y) => x.clientId.localeCompare(y.clientId));
    expect(sessions).toEqual([
      { clientId: "forever", connected: false, expiryInterval: 7 * 24 * 3600, expiresAt: 1_001_000 + 7 * 24 * 3600_000, subscriptions: 0, inflight: 0, queued: 0, queuedBytes: 0, willPending: false },
      { clientId: "offline", connected: false, expiryInterval: 60, expiresAt: 1_061_000, subscriptions: 2, inflight: 0, queued: 0, queuedBytes: 0, willPending: true },
      { clientId: "online", connected: true, expiryInterval: 60, expiresAt: undefined, subscriptions: 0, inflight: 0, queued: 0, queuedBytes: 0, willPending: false },
    ]);
    expect(broker.sessions("offline")).toHaveLength(1);
    expect(broker.sessions("nobody")).toEqual([]);
  });

  it("lists every subscription with its options, share group and identifier, for all clients or one", async () => {
    const { broker } = setup();
    const a = new Peer(broker);
    a.connect("a");
    const b = new Peer(broker);
    b.connect("b");
    await flush();
    a.subscribe(1, "x/+", { qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2, id: 7 });
    b.subscribe(2, "$share/g/y/#", { qos: 1 });
    expect(broker.subscriptions().sort((x, y) => x.clientId.localeCompare(y.clientId))).toEqual([
      { clientId: "a", topicFilter: "x/+", filter: "x/+", shareGroup: undefined, qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2, subscriptionIdentifier: 7 },
      { clientId: "b", topicFilter: "$share/g/y/#", filter: "y/#", shareGroup: "g", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionIdentifier: undefined },
    ]);
    expect(broker.subscriptions("b").map((s) => s.topicFilter)).toEqual(["$share/g/y/#"]);
    expect(broker.subscriptions("nobody")).toEqual([]);
  });

  it("lists retained messages by filter, $ topics only when named, and leaves out expired ones", () => {
    const { broker, clock } = setup();
    broker.publish(message("a/b", "1", { properties: { contentType: "text/plain" } }));
    broker.publish(message("a/c", "2", { qos: 1 }));
    broker.publish(message("z", "3", { expiresAt: 1_005_000 }));
    broker.publish(message("$SYS/x", "4"));
    expect(broker.retainedMessages().map((m) => m.topic).sort()).toEqual(["a/b", "a/c", "z"]);
    expect(broker.retainedMessages("a/+")).toHaveLength(2);
    expect(broker.retainedMessages("a/b")).toEqual([{ topic: "a/b", payload: enc.encode("1"), qos: 0, properties: { contentType: "text/plain" }, storedAt: 1_000_000, expiresAt: undefined }]);
    expect(broker.retainedMessages("$SYS/#").map((m) => m.topic)).toEqual(["$SYS/x"]);
    clock.advance(5_000);
    expect(broker.retainedMessages().map((m) => m.topic).sort()).toEqual(["a/b", "a/c"]);
  });
});

describe("the broker's admin methods", () => {
  it("disconnects a 5.0 client with the reason code given and keeps its session unless told to discard it", async () => {
    const { broker, store } = setup();
    const p = new Peer(broker);
    p.connect("p", { properties: { sessionExpiryInterval: 300 } });
    await flush();
    p.subscribe(1, "t");
    p.packets();
    expect(broker.disconnectClient("p", 0x98, { reason: "an administrator disconnected the client" })).toBe(true);
    expect(p.packets()).toEqual([{ type: "disconnect", reasonCode: 0x98, properties: { reasonString: "an administrator disconnected the client" } }]);
    expect(p.duplex.closed).toBe(true);
    expect(broker.clients()).toEqual([]);
    expect(broker.sessions("p")).toMatchObject([{ connected: false, subscriptions: 1 }]);
    expect(store.sessions.has("p")).toBe(true);
    expect(broker.disconnectClient("p", 0x98)).toBe(false); // not connected any more
    expect(broker.disconnectClient("nobody", 0x98)).toBe(false);

    const again = new Peer(broker);
    again.connect("p", { cleanStart: false, properties: { sessionExpiryInterval: 300 } });
    await flush();
    expect(again.packets()[0]).toMatchObject({ type: "connack", sessionPresent: true });
    expect(broker.disconnectClient("p", 0x98, { discardSession: true })).toBe(true);
    expect(broker.sessions()).toEqual([]);
    expect(broker.subscriptionCount).toBe(0);
    expect(store.sessions.has("p")).toBe(false);
  });

  it("closes a 3.1.1 client without a DISCONNECT, which that version has no server form of, and publishes its will", async () => {
    const { broker } = setup();
    const watcher = new Peer(broker);
    watcher.connect("watcher");
    await flush();
    watcher.subscribe(1, "wills/#");
    const old = new Peer(broker, 4);
    old.connect("old", { will: { topic: "wills/old", payload: enc.encode("gone"), qos: 0, retain: false } });
    await flush();
    old.packets();
    watcher.packets();
    expect(broker.disconnectClient("old", 0x98)).toBe(true);
    expect(old.packets()).toEqual([]);
    expect(old.duplex.closed).toBe(true);
    expect(watcher.packets()).toMatchObject([{ type: "publish", topic: "wills/old" }]);
  });

  it("clears retained messages by exact topic or filter, in the store too, without sending anything to subscribers", async () => {
    const { broker, store } = setup();
    const sub = new Peer(broker);
    sub.connect("sub");
    await flush();
    sub.subscribe(1, "#");
    for (const t of ["a/1", "a/2", "b", "$SYS/x"]) broker.publish(message(t, "v"));
    sub.packets();
    expect(store.retained.size).toBe(4);
    expect(broker.clearRetained("a/1")).toEqual({ cleared: 1, committed: undefined });
    expect(broker.retained.get("a/1")).toBeUndefined();
    expect(store.retained.has("a/1")).toBe(false);
    expect(broker.clearRetained("nothing/here").cleared).toBe(0);
    expect(broker.clearRetained("#").cleared).toBe(2); // a/2 and b; $SYS/x needs a filter that names it
    expect([...store.retained.keys()]).toEqual(["$SYS/x"]);
    expect(broker.clearRetained("$SYS/#").cleared).toBe(1);
    expect(broker.retained.size).toBe(0);
    expect(store.retained.size).toBe(0);
    expect(sub.packets()).toEqual([]);
  });

  it("waits for a store that commits later before clearRetained's commit resolves", async () => {
    const saved: Message[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const store = Object.assign(new MemoryStore(), {
      saveRetained(m: Message) {
        saved.push(m);
        return gate;
      },
    });
    const broker = new Broker({ now: () => 0, store, limits: { sysInterval: 0 } });
    broker.retained.set(message("k", "v"));
    const { cleared, committed } = broker.clearRetained("k");
    expect(cleared).toBe(1);
    expect(saved).toMatchObject([{ topic: "k", retain: true }]);
    expect(saved[0]!.payload.byteLength).toBe(0);
    let done = false;
    void committed!.then(() => (done = true));
    await flush();
    expect(done).toBe(false);
    release();
    await flush();
    expect(done).toBe(true);
  });
});
