// A store whose commits fail (a full disk) seen from a client: a lasting
// session's CONNECT is answered with a CONNACK reason code, never closed
// without one; after CONNACK a failed commit still ends the connection with
// DISCONNECT 0x80.
import { describe, expect, it } from "vitest";
import { Broker, MemoryStore, type OutgoingRecord, type SessionRecord } from "@edgemq/core";
import { FakeClock } from "../support/fake-clock.ts";
import { MemoryPeer } from "../support/memory-peer.ts";

/** A memory store whose writes reject once `full` is set, as a durable store's commits do on a full disk. */
class FullDiskStore extends MemoryStore {
  full = false;
  readonly #failed = () => {
    const p = Promise.reject(new Error("database or disk is full"));
    p.catch(() => {});
    return p;
  };
  override saveSession(record: SessionRecord): void | Promise<void> {
    return this.full ? this.#failed() : super.saveSession(record);
  }
  override saveOutgoing(clientId: string, records: OutgoingRecord[]): void | Promise<void> {
    return this.full ? this.#failed() : super.saveOutgoing(clientId, records);
  }
  override saveInboundQos2(clientId: string, packetId: number): void | Promise<void> {
    return this.full ? this.#failed() : super.saveInboundQos2(clientId, packetId);
  }
}

function setup() {
  const store = new FullDiskStore();
  const broker = new Broker({ now: new FakeClock().now, store, limits: { sysInterval: 0 } });
  return { store, broker };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("a store that cannot commit (a full disk)", () => {
  it("answers a 5.0 lasting-session CONNECT with CONNACK 0x89 Server busy and a reason, then closes", async () => {
    const { store, broker } = setup();
    store.full = true;
    const peer = new MemoryPeer(broker);
    peer.connect("lasting", { properties: { sessionExpiryInterval: 600 }, will: { topic: "w", payload: new Uint8Array(1), qos: 0, retain: false } });
    await settle();
    expect(peer.packets()).toEqual([
      expect.objectContaining({ type: "connack", sessionPresent: false, reasonCode: 0x89, properties: { reasonString: "the server could not save the session; try again later" } }),
    ]);
    expect(peer.duplex.closed).toBe(true);
  });

  it("answers a 3.1.1 CONNECT with Clean Session 0 with return code 3 Server unavailable", async () => {
    const { store, broker } = setup();
    store.full = true;
    const peer = new MemoryPeer(broker, 4);
    peer.connect("lasting-311", { cleanStart: false });
    await settle();
    expect(peer.packets()).toEqual([expect.objectContaining({ type: "connack", sessionPresent: false, reasonCode: 3 })]);
    expect(peer.duplex.closed).toBe(true);
  });

  it("after CONNACK a failed commit still ends the connection with DISCONNECT 0x80", async () => {
    const { store, broker } = setup();
    const peer = new MemoryPeer(broker);
    peer.connect("lasting", { properties: { sessionExpiryInterval: 600 } });
    await settle();
    expect(peer.packets()).toEqual([expect.objectContaining({ type: "connack", reasonCode: 0 })]);
    peer.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "t", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await settle();
    peer.packets();
    store.full = true;
    peer.send({ type: "publish", topic: "t", payload: new Uint8Array(1), qos: 1, retain: false, dup: false, packetId: 2 });
    await settle();
    const after = peer.packets();
    expect(after.filter((p) => p.type === "puback")).toEqual([]); // never acknowledged: it was not saved
    expect(after.at(-1)).toMatchObject({ type: "disconnect", reasonCode: 0x80 });
  });

  it("routes a QoS 2 message again when its first copy failed to commit: the resend is not taken for a kept copy", async () => {
    const { store, broker } = setup();
    const watcher = new MemoryPeer(broker);
    watcher.connect("watcher");
    await settle();
    watcher.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "t", qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    const first = new MemoryPeer(broker);
    first.connect("sender", { cleanStart: false, properties: { sessionExpiryInterval: 600 } });
    await settle();
    watcher.packets();
    first.packets();
    store.full = true;
    first.send({ type: "publish", topic: "t", payload: new Uint8Array([1]), qos: 2, retain: false, dup: false, packetId: 7 });
    await settle();
    const failed = first.packets();
    expect(failed.filter((p) => p.type === "pubrec")).toEqual([]);
    expect(failed.at(-1)).toMatchObject({ type: "disconnect", reasonCode: 0x80 });
    watcher.packets(); // the first copy reached the connected watcher: only the store failed
    store.full = false;
    const again = new MemoryPeer(broker);
    again.connect("sender", { cleanStart: false, properties: { sessionExpiryInterval: 600 } });
    await settle();
    again.packets();
    again.send({ type: "publish", topic: "t", payload: new Uint8Array([1]), qos: 2, retain: false, dup: true, packetId: 7 });
    await settle();
    expect(again.packets()).toEqual([expect.objectContaining({ type: "pubrec", packetId: 7, reasonCode: 0 })]);
    // Routed again (a copy, not a loss): had the id been kept, only PUBREC would have come, and a subscriber
    // that joined after the failure (or a store read back after a crash) would never have it.
    expect(watcher.packets()).toEqual([expect.objectContaining({ type: "publish", topic: "t" })]);
  });
});
