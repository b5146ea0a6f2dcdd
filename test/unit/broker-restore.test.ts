// Unit tests of Broker.restore() and of the acknowledgements that wait for the
// store: a broker "crashes" (it is simply abandoned, never closed), a new one
// is built from what its store held, and clients reconnect. Time comes from a
// fake clock, so downtime is whatever the test says it was.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FakeClock } from "../support/fake-clock.ts";
import {
  Broker, type BrokerOptions, MemoryStore, type Message, type Packet, type Store, type StoredState,
} from "@edgemq/core";
import { MemoryPeer } from "../support/memory-peer.ts";
import { openSqliteStore, type SqliteStorage } from "@edgemq/store-sqlite";

class Peer extends MemoryPeer {
  // A lasting session unless told otherwise.
  override connect(clientId: string, extra: Partial<Extract<Packet, { type: "connect" }>> = {}) {
    this.send({ type: "connect", protocolName: "MQTT", protocolVersion: this.version, cleanStart: false, keepAlive: 0, clientId, properties: { sessionExpiryInterval: 3600 }, ...extra });
  }
  subscribe(packetId: number, topicFilter: string, o: { qos?: 0 | 1 | 2; noLocal?: boolean; retainAsPublished?: boolean; retainHandling?: 0 | 1 | 2; id?: number } = {}) {
    this.send({
      type: "subscribe", packetId,
      subscriptions: [{ topicFilter, qos: o.qos ?? 1, noLocal: o.noLocal ?? false, retainAsPublished: o.retainAsPublished ?? false, retainHandling: o.retainHandling ?? 0 }],
      ...(o.id !== undefined ? { properties: { subscriptionIdentifier: o.id } } : {}),
    });
  }
  publish(topic: string, payload: string, qos: 0 | 1 | 2, packetId?: number, extra: Partial<Extract<Packet, { type: "publish" }>> = {}) {
    this.send({ type: "publish", topic, payload: enc.encode(payload), qos, retain: false, dup: false, packetId, ...extra });
  }
  /** Ends the socket as a crash or a lost network would (no DISCONNECT). */
  drop() { this.duplex.close(); }
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const flush = () => new Promise((r) => setTimeout(r, 0));
const payloads = (ps: Packet[]) => ps.filter((p) => p.type === "publish").map((p) => dec.decode((p as Extract<Packet, { type: "publish" }>).payload));

function broker(clock: FakeClock, store: Store, options: BrokerOptions = {}) {
  return new Broker({ now: clock.now, store, limits: { sysInterval: 0 }, ...options });
}

/** A memory store whose writes commit only when the test says so, all at once, in order (like a group commit). */
class GatedStore extends MemoryStore {
  #pending: Promise<void> | undefined;
  #release: (() => void) | undefined;
  writes = 0;
  #gate(): Promise<void> {
    this.writes++;
    this.#pending ??= new Promise((r) => (this.#release = r));
    return this.#pending;
  }
  /** Commits every write so far. */
  async commit() {
    const r = this.#release;
    this.#pending = this.#release = undefined;
    r?.();
    await flush();
  }
  override saveSession(...a: Parameters<MemoryStore["saveSession"]>) { super.saveSession(...a); return this.#gate() as unknown as void; }
  override deleteSession(...a: Parameters<MemoryStore["deleteSession"]>) { super.deleteSession(...a); return this.#gate() as unknown as void; }
  override saveOutgoing(...a: Parameters<MemoryStore["saveOutgoing"]>) { super.saveOutgoing(...a); return this.#gate() as unknown as void; }
  override deleteOutgoing(...a: Parameters<MemoryStore["deleteOutgoing"]>) { super.deleteOutgoing(...a); return this.#gate() as unknown as void; }
  override saveInboundQos2(...a: Parameters<MemoryStore["saveInboundQos2"]>) { super.saveInboundQos2(...a); return this.#gate() as unknown as void; }
  override deleteInboundQos2(...a: Parameters<MemoryStore["deleteInboundQos2"]>) { super.deleteInboundQos2(...a); return this.#gate() as unknown as void; }
  override saveRetained(...a: Parameters<MemoryStore["saveRetained"]>) { super.saveRetained(...a); return this.#gate() as unknown as void; }
}

describe("Broker.restore brings a session back as it was", () => {
  it("restores a session offline with every subscription option; its client resumes with Session Present 1 and the same subscriptions", async () => {
    const clock = new FakeClock(1_000_000_000);
    const store = new MemoryStore();
    const a = broker(clock, store);
    const sub = new Peer(a);
    sub.connect("s");
    sub.subscribe(1, "plain/+", { qos: 2, id: 7 });
    sub.subscribe(2, "nolocal/#", { qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 });
    sub.subscribe(3, "$share/g/shared/#", { qos: 1, id: 9 });
    sub.subscribe(4, "zero", { qos: 0, retainHandling: 1 });
    await flush();
    const before = a.subscriptions("s");
    expect(before).toHaveLength(4);
    sub.drop();

    clock.advance(5_000);
    const b = broker(clock, store, { restore: store.loadState() });
    expect(b.sessions()).toMatchObject([{ clientId: "s", connected: false, expiryInterval: 3600, subscriptions: 4 }]);
    expect(b.subscriptions("s")).toEqual(before);
    // The shared subscription routes again, with its identifier.
    const pub = new Peer(b);
    pub.connect("p", { cleanStart: true, properties: {} });
    pub.publish("shared/x", "to the group", 1, 1);
    const again = new Peer(b);
    again.connect("s");
    await flush();
    const got = again.packets();
    expect(got[0]).toMatchObject({ type: "connack", sessionPresent: true }); // [MQTT-3.2.2-3]
    expect(got[1]).toMatchObject({ type: "publish", topic: "shared/x", qos: 1, properties: { subscriptionIdentifiers: [9] } });
  });

  it("resends unacknowledged PUBLISHes with DUP=1 and their packet ids in order, PUBREL for those past PUBREC, then the queue", async () => {
    const clock = new FakeClock(1_000_000_000);
    const store = new MemoryStore();
    const a = broker(clock, store, { limits: { maximumInflight: 3, sysInterval: 0 } });
    const sub = new Peer(a);
    sub.connect("s");
    sub.subscribe(1, "t", { qos: 2 });
    const pub = new Peer(a);
    pub.connect("p", { cleanStart: true, properties: {} });
    for (let i = 0; i < 6; i++) pub.publish("t", `m${i}`, i % 2 === 0 ? 2 : 1, i + 1);
    const sent = sub.packets().filter((p) => p.type === "publish") as Extract<Packet, { type: "publish" }>[];
    expect(payloads(sent)).toEqual(["m0", "m1", "m2"]); // three in flight, three queued
    sub.send({ type: "pubrec", packetId: sent[0]!.packetId!, reasonCode: 0 }); // m0 reaches PUBREL state
    expect(sub.packets()).toMatchObject([{ type: "pubrel", packetId: sent[0]!.packetId }]);
    // The broker dies here: nothing is closed.

    const b = broker(clock, store, { restore: store.loadState() });
    const again = new Peer(b);
    again.connect("s", { properties: { sessionExpiryInterval: 3600, receiveMaximum: 10 } });
    await flush();
    const got = again.packets();
    expect(got.map((p) => p.type)).toEqual(["connack", "pubrel", "publish", "publish", "publish", "publish", "publish"]);
    expect(got[1]).toMatchObject({ type: "pubrel", packetId: sent[0]!.packetId });
    // [MQTT-4.4.0-1] the unacknowledged ones first, as DUP, with the ids they had
    expect(got.slice(2, 4)).toMatchObject([
      { dup: true, packetId: sent[1]!.packetId, qos: 1 },
      { dup: true, packetId: sent[2]!.packetId, qos: 2 },
    ]);
    expect(payloads(got)).toEqual(["m1", "m2", "m3", "m4", "m5"]);
    expect(got.slice(4).every((p) => p.type === "publish" && !p.dup)).toBe(true);
  });

  it("keeps an inbound QoS 2 id across a restart: the resent PUBLISH gets PUBREC and is not delivered again [MQTT-4.3.3-10]", async () => {
    const clock = new FakeClock(1_000_000_000);
    const store = new MemoryStore();
    const a = broker(clock, store);
    const sub = new Peer(a);
    sub.connect("s");
    sub.subscribe(1, "t", { qos: 2 });
    const pub = new Peer(a);
    pub.connect("p");
    pub.publish("t", "once", 2, 7);
    expect(pub.packets()).toMatchObject([{ type: "connack" }, { type: "pubrec", packetId: 7 }]);
    expect(store.inboundQos2.get("p")).toEqual(new Set([7]));
    sub.drop();

    const b = broker(clock, store, { restore: store.loadState() });
    const pub2 = new Peer(b);
    pub2.connect("p");
    pub2.publish("t", "once", 2, 7, { dup: true });
    expect(pub2.packets()).toMatchObject([{ type: "connack", sessionPresent: true }, { type: "pubrec", packetId: 7 }]);
    pub2.send({ type: "pubrel", packetId: 7, reasonCode: 0 });
    expect(pub2.packets()).toMatchObject([{ type: "pubcomp", packetId: 7, reasonCode: 0 }]);
    expect(store.inboundQos2.has("p")).toBe(false);
    const sub2 = new Peer(b);
    sub2.connect("s");
    await flush();
    expect(payloads(sub2.packets())).toEqual(["once"]); // queued once, delivered once
  });

  it("brings back retained messages with their properties and drops those that expired while the broker was down", () => {
    const clock = new FakeClock(1_000_000_000);
    const store = new MemoryStore();
    const a = broker(clock, store);
    const pub = new Peer(a);
    pub.connect("p", { cleanStart: true, properties: {} });
    pub.publish("r/keep", "k", 1, 1, { retain: true, properties: { contentType: "text/plain", userProperties: [["a", "b"]], messageExpiryInterval: 100 } });
    pub.publish("r/short", "s", 1, 2, { retain: true, properties: { messageExpiryInterval: 5 } });
    expect(store.retained.size).toBe(2);

    clock.advance(10_000);
    const b = broker(clock, store);
    const report = b.restore(store.loadState());
    expect(report).toMatchObject({ retained: 1, expiredRetained: 1 });
    expect(b.retainedMessages()).toMatchObject([{ topic: "r/keep", properties: { contentType: "text/plain", userProperties: [["a", "b"]] }, expiresAt: 1_000_000_000 + 100_000 }]);
    expect([...store.retained.keys()]).toEqual(["r/keep"]);
    const sub = new Peer(b);
    sub.connect("s", { cleanStart: true, properties: {} });
    sub.subscribe(1, "r/#");
    const got = sub.packets().filter((p) => p.type === "publish");
    // The remaining lifetime is what is left after the downtime [MQTT-3.3.2-6]
    expect(got).toMatchObject([{ topic: "r/keep", retain: true, properties: { messageExpiryInterval: 90, contentType: "text/plain" } }]);
  });
});

describe("Broker.restore counts the time the broker was down", () => {
  it("deletes a session whose expiry passed while the broker was down, and keeps one whose expiry did not", async () => {
    const clock = new FakeClock(1_000_000_000);
    const store = new MemoryStore();
    const a = broker(clock, store);
    for (const [id, expiry] of [["short", 10], ["long", 100]] as const) {
      const p = new Peer(a);
      p.connect(id, { properties: { sessionExpiryInterval: expiry } });
      p.subscribe(1, `t/${id}`);
      p.drop();
    }
    expect(store.sessions.get("short")?.disconnectedAt).toBe(clock.t);

    clock.advance(30_000); // down for 30 s
    const b = broker(clock, store);
    expect(b.restore(store.loadState())).toMatchObject({ sessions: 1, expiredSessions: 1 });
    expect(b.sessions()).toMatchObject([{ clientId: "long", expiresAt: 1_000_000_000 + 100_000 }]);
    expect([...store.sessions.keys()]).toEqual(["long"]);
    clock.advance(70_000);
    b.tick();
    expect(b.sessions()).toEqual([]); // 100 s after its disconnect, not after the restart
  });

  it("counts a session that was connected when the process died from when it was last alive, and saves that", () => {
    const clock = new FakeClock(1_000_000_000);
    const store = new MemoryStore();
    const a = broker(clock, store);
    const p = new Peer(a);
    p.connect("c", { properties: { sessionExpiryInterval: 60 } });
    expect(store.sessions.get("c")?.disconnectedAt).toBeUndefined();
    const diedAt = clock.t + 20_000;
    clock.advance(50_000);
    const b = broker(clock, store);
    b.restore({ ...store.loadState(), downSince: diedAt });
    expect(b.sessions()).toMatchObject([{ clientId: "c", connected: false, expiresAt: diedAt + 60_000 }]);
    expect(store.sessions.get("c")?.disconnectedAt).toBe(diedAt); // a second crash counts from the same moment
    const c = broker(clock, store);
    clock.advance(40_000); // 70 s after it died, though only 40 s after the last restart
    expect(c.restore({ ...store.loadState(), downSince: clock.t - 1000 })).toMatchObject({ sessions: 0, expiredSessions: 1 });
  });

  it("drops queued messages whose expiry passed while down and sends the others with the remaining lifetime", async () => {
    const clock = new FakeClock(1_000_000_000);
    const store = new MemoryStore();
    const a = broker(clock, store);
    const sub = new Peer(a);
    sub.connect("s");
    sub.subscribe(1, "t");
    sub.drop();
    const pub = new Peer(a);
    pub.connect("p", { cleanStart: true, properties: {} });
    pub.publish("t", "short", 1, 1, { properties: { messageExpiryInterval: 10 } });
    pub.publish("t", "long", 1, 2, { properties: { messageExpiryInterval: 100 } });
    clock.advance(40_000);
    const b = broker(clock, store);
    expect(b.restore(store.loadState())).toMatchObject({ queued: 1, expiredMessages: 1 });
    const again = new Peer(b);
    again.connect("s");
    await flush();
    const [long] = again.packets().filter((p) => p.type === "publish") as Extract<Packet, { type: "publish" }>[];
    expect(long).toMatchObject({ payload: enc.encode("long"), properties: { messageExpiryInterval: 60 } });
    again.send({ type: "puback", packetId: long!.packetId!, reasonCode: 0 });
    expect(store.outgoing.size).toBe(0);
  });
});

describe("wills across a restart", () => {
  const will = (delay: number) => ({ topic: "wills/c", payload: enc.encode("gone"), qos: 1 as const, retain: false, properties: { willDelayInterval: delay } });

  it("publishes a pending will at restore when its delay passed while down, and at its time otherwise", async () => {
    for (const [down, publishedAtRestore] of [[40_000, true], [10_000, false]] as const) {
      const clock = new FakeClock(1_000_000_000);
      const store = new MemoryStore();
      const a = broker(clock, store);
      const w = new Peer(a);
      w.connect("watcher");
      w.subscribe(1, "wills/#");
      w.drop();
      const c = new Peer(a);
      c.connect("c", { will: will(30) });
      c.drop(); // no DISCONNECT: the will waits 30 s
      expect(store.sessions.get("c")).toMatchObject({ will: { topic: "wills/c" }, willAt: clock.t + 30_000 });
      clock.advance(down);
      const b = broker(clock, store);
      expect(b.restore(store.loadState()).willsPublished).toBe(publishedAtRestore ? 1 : 0);
      if (!publishedAtRestore) {
        clock.advance(19_999);
        b.tick();
        expect(b.sessions("watcher")[0]!.queued).toBe(0);
        clock.advance(1);
        b.tick();
      }
      expect(b.sessions("watcher")[0]!.queued).toBe(1);
      expect(store.sessions.get("c")?.will).toBeUndefined(); // published once, never again after another restart
      const again = new Peer(b);
      again.connect("watcher");
      await flush();
      expect(payloads(again.packets())).toEqual(["gone"]);
    }
  });

  it("publishes, after its delay counted from when the process died, the will of a connection that was live then", () => {
    const clock = new FakeClock(1_000_000_000);
    const store = new MemoryStore();
    const a = broker(clock, store);
    const w = new Peer(a);
    w.connect("watcher");
    w.subscribe(1, "wills/#");
    w.drop();
    const c = new Peer(a);
    c.connect("c", { will: will(30) });
    const diedAt = clock.t;
    clock.advance(5_000);
    const b = broker(clock, store);
    expect(b.restore({ ...store.loadState(), downSince: diedAt })).toMatchObject({ willsPublished: 0 });
    expect(b.sessions("c")).toMatchObject([{ willPending: true }]);
    clock.advance(25_000);
    b.tick();
    expect(b.sessions("watcher")[0]!.queued).toBe(1);
  });

  it("does not publish the will of a client that said DISCONNECT, nor of one that came back before the delay", async () => {
    const clock = new FakeClock(1_000_000_000);
    const store = new MemoryStore();
    const a = broker(clock, store);
    const c = new Peer(a);
    c.connect("c", { will: will(30) });
    c.send({ type: "disconnect", reasonCode: 0 });
    expect(store.sessions.get("c")?.will).toBeUndefined();
    const d = new Peer(a);
    d.connect("d", { will: will(30) });
    d.drop();
    const d2 = new Peer(a);
    d2.connect("d");
    await flush();
    expect(store.sessions.get("d")?.willAt).toBeUndefined(); // connected again: the will is the new connection's, not pending
    clock.advance(60_000);
    const b = broker(clock, store);
    expect(b.restore({ ...store.loadState(), downSince: clock.t - 59_000 })).toMatchObject({ sessions: 2, willsPublished: 0 });
  });

  it("passes a will published at restore through the hooks with the client's saved identity", async () => {
    const clock = new FakeClock(1_000_000_000);
    const store = new MemoryStore();
    const a = broker(clock, store, { hooks: [{ name: "attrs", authenticate: () => ({ allow: true, attributes: { tenant: "x" } }) }] });
    const c = new Peer(a);
    c.connect("c", { will: will(1), username: "u" });
    await flush(); // authentication hooks answer asynchronously
    c.drop();
    clock.advance(2000);
    const seen: unknown[] = [];
    const b = broker(clock, store, { hooks: [{ name: "check", authorizePublish: (client) => (seen.push({ user: client.username, attrs: client.attributes }), "allow") }] });
    b.restore(store.loadState());
    expect(seen).toEqual([{ user: "u", attrs: { tenant: "x" } }]);
  });
});

describe("acknowledgements wait for the store", () => {
  it("sends CONNACK, SUBACK, PUBACK, PUBREC, PUBCOMP and UNSUBACK only once the store has committed", async () => {
    const clock = new FakeClock(1_000_000_000);
    const store = new GatedStore();
    const b = broker(clock, store);
    const c = new Peer(b);
    c.connect("c");
    expect(c.packets()).toEqual([]);
    await store.commit();
    expect(c.packets()).toMatchObject([{ type: "connack", sessionPresent: false }]);
    c.subscribe(1, "t", { qos: 2 });
    expect(c.packets()).toEqual([]);
    await store.commit();
    expect(c.packets()).toMatchObject([{ type: "suback", reasonCodes: [2] }]);
    c.publish("other", "x", 1, 2, { retain: true });
    expect(c.packets()).toEqual([]); // the retained write is not yet committed
    await store.commit();
    expect(c.packets()).toMatchObject([{ type: "puback", packetId: 2 }]);
    c.publish("other", "y", 2, 3);
    expect(c.packets()).toEqual([]); // the inbound id is not yet committed
    await store.commit();
    expect(c.packets()).toMatchObject([{ type: "pubrec", packetId: 3 }]);
    c.send({ type: "pubrel", packetId: 3, reasonCode: 0 });
    expect(c.packets()).toEqual([]);
    await store.commit();
    expect(c.packets()).toMatchObject([{ type: "pubcomp", packetId: 3 }]);
    c.send({ type: "unsubscribe", packetId: 4, topicFilters: ["t"] });
    expect(c.packets()).toEqual([]);
    await store.commit();
    expect(c.packets()).toMatchObject([{ type: "unsuback", reasonCodes: [0] }]);
  });

  it("acknowledges a publisher's QoS 1 and 2 messages in the order they came, even when a later one has nothing to commit", async () => {
    const clock = new FakeClock(1_000_000_000);
    const store = new GatedStore();
    const b = broker(clock, store);
    const sub = new Peer(b);
    sub.connect("s");
    sub.subscribe(1, "durable", { qos: 1 });
    await store.commit();
    await store.commit();
    const pub = new Peer(b);
    pub.connect("p", { cleanStart: true, properties: {} }); // a session that ends with the connection: nothing stored
    await flush();
    expect(pub.packets()).toMatchObject([{ type: "connack" }]);
    pub.publish("durable", "first", 1, 1); // queued for a lasting session: waits for a commit
    pub.publish("durable", "second", 1, 2); // the same group commit
    pub.publish("nowhere", "third", 1, 3); // matches nobody: nothing to commit
    pub.publish("durable", "fourth", 1, 4); // the same commit again, behind one with none
    pub.publish("nowhere", "fifth", 2, 5);
    await flush();
    // [MQTT-4.6.0-2] [MQTT-4.6.0-3]: not PUBACK 3 or PUBREC 5 before PUBACK 1.
    expect(pub.packets()).toEqual([]);
    await store.commit();
    expect(pub.packets().map((p) => `${p.type} ${(p as { packetId: number }).packetId}`)).toEqual(["puback 1", "puback 2", "puback 3", "puback 4", "pubrec 5"]);
  });

  it("sends a QoS 2 PUBLISH to a lasting session only once its packet id is committed, and PUBREL only once its state is", async () => {
    const clock = new FakeClock(1_000_000_000);
    const store = new GatedStore();
    const b = broker(clock, store);
    const sub = new Peer(b);
    sub.connect("s");
    sub.subscribe(1, "t", { qos: 2 });
    await store.commit(); // CONNACK
    await store.commit(); // SUBACK
    expect(sub.packets().map((p) => p.type)).toEqual(["connack", "suback"]);
    b.publish({ topic: "t", payload: enc.encode("q2"), qos: 2, retain: false, properties: undefined, expiresAt: undefined, senderId: "", receivedAt: clock.t });
    b.publish({ topic: "t", payload: enc.encode("q1 after"), qos: 1, retain: false, properties: undefined, expiresAt: undefined, senderId: "", receivedAt: clock.t });
    expect(sub.packets()).toEqual([]); // the QoS 1 one waits behind it: order is kept
    expect([...store.outgoing.get("s")!].map((r) => r.packetId)).toEqual([1, 2]);
    await store.commit();
    const sent = sub.packets();
    expect(sent).toMatchObject([{ type: "publish", qos: 2, packetId: 1, dup: false }, { type: "publish", qos: 1, packetId: 2 }]);
    sub.send({ type: "pubrec", packetId: 1, reasonCode: 0 });
    expect(sub.packets()).toEqual([]);
    await store.commit();
    expect(sub.packets()).toMatchObject([{ type: "pubrel", packetId: 1 }]);
  });

  it("does not acknowledge a resent QoS 2 PUBLISH before the first copy is committed", async () => {
    const clock = new FakeClock(1_000_000_000);
    const store = new GatedStore();
    const b = broker(clock, store);
    const c = new Peer(b, 4);
    c.send({ type: "connect", protocolName: "MQTT", protocolVersion: 4, cleanStart: false, keepAlive: 0, clientId: "c" });
    await store.commit();
    c.packets();
    c.publish("t", "x", 2, 5);
    c.publish("t", "x", 2, 5, { dup: true });
    expect(c.packets()).toEqual([]);
    await store.commit();
    expect(c.packets()).toMatchObject([{ type: "pubrec", packetId: 5 }, { type: "pubrec", packetId: 5 }]);
  });
});

describe("what the store keeps, and no more", () => {
  it("deletes a queued QoS 0 message once it is sent", async () => {
    const clock = new FakeClock(1_000_000_000);
    const store = new MemoryStore();
    const b = broker(clock, store, { limits: { queueQos0: true, sysInterval: 0 } });
    const sub = new Peer(b);
    sub.connect("s");
    sub.subscribe(1, "t", { qos: 0 });
    sub.drop();
    b.publish({ topic: "t", payload: enc.encode("zero"), qos: 0, retain: false, properties: undefined, expiresAt: undefined, senderId: "", receivedAt: clock.t });
    expect(store.outgoing.get("s")?.size).toBe(1);
    const again = new Peer(b);
    again.connect("s");
    await flush();
    expect(payloads(again.packets())).toEqual(["zero"]);
    expect(store.outgoing.has("s")).toBe(false);
  });

  it("stores nothing for a session that ends with its connection, PUBREL state included", async () => {
    const clock = new FakeClock(1_000_000_000);
    const store = new MemoryStore();
    const b = broker(clock, store);
    const sub = new Peer(b);
    sub.connect("s", { cleanStart: true, properties: {} });
    sub.subscribe(1, "t", { qos: 2 });
    b.publish({ topic: "t", payload: enc.encode("x"), qos: 2, retain: false, properties: undefined, expiresAt: undefined, senderId: "", receivedAt: clock.t });
    const [p] = sub.packets().filter((x) => x.type === "publish") as Extract<Packet, { type: "publish" }>[];
    sub.send({ type: "pubrec", packetId: p!.packetId!, reasonCode: 0 });
    expect(sub.packets()).toMatchObject([{ type: "pubrel" }]);
    expect(store.outgoing.size).toBe(0);
    expect(store.sessions.size).toBe(0);
  });

  it("forgets a stored session when its client resumes it with a session expiry of 0", async () => {
    const clock = new FakeClock(1_000_000_000);
    const store = new MemoryStore();
    const b = broker(clock, store);
    const c = new Peer(b);
    c.connect("c");
    c.subscribe(1, "t");
    c.drop();
    expect(store.sessions.has("c")).toBe(true);
    const again = new Peer(b);
    again.connect("c", { properties: { sessionExpiryInterval: 0 } });
    expect(again.packets()).toMatchObject([{ type: "connack", sessionPresent: true }]);
    expect(store.sessions.has("c")).toBe(false); // it now ends with this connection, crash or not
  });

  it("refuses a second restore, and a restore after clients connected", () => {
    const clock = new FakeClock(1_000_000_000);
    const b = broker(clock, new MemoryStore());
    new Peer(b).connect("c");
    const empty: StoredState = { sessions: [], outgoing: new Map(), inboundQos2: new Map(), retained: [], downSince: undefined };
    expect(() => b.restore(empty)).toThrow(/before any client connects/);
  });
});

describe("restore from the SQLite store", () => {
  const dirs: string[] = [];
  const opened: SqliteStorage[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => {});
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const open = (dir: string, clock: FakeClock) => {
    const s = openSqliteStore({ dataDir: dir, aliveIntervalMs: 0, now: clock.now });
    opened.push(s);
    return s;
  };

  it("keeps a session's owner across a restart: another user is still refused with 0x87, the owner resumes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgemq-owner-"));
    dirs.push(dir);
    const clock = new FakeClock(1_000_000_000);
    let storage = open(dir, clock);
    const a = broker(clock, storage.forBroker("default"), { allowAnonymous: true });
    const bob = new Peer(a);
    bob.connect("bobs-id", { username: "bob" });
    await new Promise((r) => setTimeout(r, 20)); // committed
    expect(bob.packets()[0]).toMatchObject({ type: "connack", reasonCode: 0 });
    bob.drop();
    await storage.close();
    storage = open(dir, clock);
    const store = storage.forBroker("default");
    const b = broker(clock, store, { allowAnonymous: true, restore: store.loadState() });
    const alice = new Peer(b);
    alice.connect("bobs-id", { username: "alice" });
    await flush();
    expect(alice.packets()[0]).toMatchObject({ type: "connack", reasonCode: 0x87 });
    const back = new Peer(b);
    back.connect("bobs-id", { username: "bob" });
    await new Promise((r) => setTimeout(r, 20));
    expect(back.packets()[0]).toMatchObject({ type: "connack", reasonCode: 0, sessionPresent: true });
  });

  it("gives a restarted broker the same sessions, subscriptions, messages in flight, inbound ids and retained messages", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgemq-restore-"));
    dirs.push(dir);
    const clock = new FakeClock(1_000_000_000);
    let storage = open(dir, clock);
    const a = broker(clock, storage.forBroker("default"));
    const sub = new Peer(a);
    sub.connect("s", { will: { topic: "w", payload: enc.encode("bye"), qos: 0, retain: false, properties: { willDelayInterval: 600 } } });
    sub.subscribe(1, "t/#", { qos: 2, id: 3, noLocal: true });
    sub.subscribe(2, "$share/g/t/#", { qos: 1, retainAsPublished: true, retainHandling: 2 });
    const pub = new Peer(a);
    pub.connect("p");
    for (let i = 1; i <= 4; i++) pub.publish("t/x", `n${i}`, 2, i);
    pub.publish("t/r", "kept", 1, 9, { retain: true, properties: { correlationData: new Uint8Array([1, 2]) } });
    await new Promise((r) => setTimeout(r, 20)); // committed (fsync mode: once per event-loop turn)
    expect(pub.packets().filter((p) => p.type === "pubrec").map((p) => (p as { packetId: number }).packetId)).toEqual([1, 2, 3, 4]);
    const inflight = sub.packets().filter((p) => p.type === "publish") as Extract<Packet, { type: "publish" }>[];
    expect(inflight.length).toBeGreaterThan(0);
    const before = a.subscriptions();
    await storage.close(); // as SIGTERM would; the scenario tests use SIGKILL

    clock.advance(1000);
    storage = open(dir, clock);
    const b = broker(clock, storage.forBroker("default"));
    const report = b.restore(storage.forBroker("default").loadState());
    expect(report).toMatchObject({ sessions: 2, inboundQos2: 4, retained: 1 });
    expect(b.subscriptions()).toEqual(before);
    expect(b.sessions("s")).toMatchObject([{ connected: false, willPending: true }]);
    const again = new Peer(b);
    again.connect("s", { properties: { sessionExpiryInterval: 3600, receiveMaximum: 100 } });
    await new Promise((r) => setTimeout(r, 20));
    const got = again.packets();
    expect(got[0]).toMatchObject({ type: "connack", sessionPresent: true });
    const resent = got.filter((p) => p.type === "publish") as Extract<Packet, { type: "publish" }>[];
    expect(resent.slice(0, inflight.length).map((p) => [p.packetId, p.dup])).toEqual(inflight.map((p) => [p.packetId, true]));
    // Each QoS 2 message once; the retained QoS 1 one reaches the share group member too.
    expect(payloads(resent).filter((x) => x.startsWith("n")).sort()).toEqual(["n1", "n2", "n3", "n4"].flatMap((n) => [n, n]).sort());
    const pub2 = new Peer(b);
    pub2.connect("p");
    pub2.publish("t/x", "n1", 2, 1, { dup: true });
    await new Promise((r) => setTimeout(r, 20));
    expect(pub2.packets()).toMatchObject([{ type: "connack", sessionPresent: true }, { type: "pubrec", packetId: 1 }]);
    expect(b.retainedMessages()).toMatchObject([{ topic: "t/r", properties: { correlationData: new Uint8Array([1, 2]) } }]);
  });
});
