// The process-wide memory budget: partial packets and queued messages of every
// broker draw on one counter; past it, a connection holding a large partial
// packet is refused with 0x97 and queued messages are dropped, counted.
import { Broker, encodePacket, MemoryBudget, PARTIAL_PACKET_FLOOR, type Packet, ReasonCode } from "@edgemq/core";
import { describe, expect, it } from "vitest";
import { MemoryPeer } from "../support/memory-peer.ts";

const publish = (topic: string, size: number, qos: 0 | 1 = 0, packetId?: number): Packet =>
  ({ type: "publish", topic, payload: new Uint8Array(size), qos, retain: false, dup: false, packetId });

function connected(broker: Broker, clientId: string, extra: Parameters<MemoryPeer["connect"]>[1] = {}): MemoryPeer {
  const peer = new MemoryPeer(broker);
  peer.connect(clientId, extra);
  expect(peer.packets()[0]).toMatchObject({ type: "connack", reasonCode: 0 });
  return peer;
}

describe("the memory budget", () => {
  it("refuses a take past its limit, counts the refusal, and lets state that must stay force its way in", () => {
    const budget = new MemoryBudget(100);
    expect(budget.take("queues", 60)).toBe(true);
    expect(budget.take("partialPackets", 50)).toBe(false);
    expect(budget.refused.partialPackets).toBe(1);
    expect(budget.take("partialPackets", 50, true)).toBe(true);
    expect(budget.total).toBe(110);
    budget.give("queues", 60);
    budget.give("partialPackets", 50);
    expect(budget.total).toBe(0);
    expect(() => new MemoryBudget(-1)).toThrow(/whole number of bytes/);
  });

  it("is drawn on by the partial packets of every broker that shares it, and refuses the one that passes it with DISCONNECT 0x97", () => {
    const budget = new MemoryBudget(300_000);
    const limits = { maximumPacketSize: 1_000_000 };
    const a = new Broker({ memoryBudget: budget, limits, now: () => 0 });
    const b = new Broker({ memoryBudget: budget, limits, now: () => 0 });
    const heard: string[] = [];
    b.use({ name: "events", onEvent: (kind, clientId, _conn, reasonCode) => heard.push(`${kind} ${clientId} ${reasonCode}`) });
    const first = connected(a, "first");
    const second = connected(b, "second");
    // Each sends all but the last byte of a 200 kB PUBLISH.
    const big = encodePacket(publish("t", 200_000), 5);
    first.duplex.push(big.subarray(0, big.byteLength - 1));
    expect(budget.held.partialPackets).toBe(big.byteLength - 1);
    expect(first.packets()).toEqual([]);
    second.duplex.push(big.subarray(0, big.byteLength - 1));
    expect(second.packets()).toMatchObject([{ type: "disconnect", reasonCode: ReasonCode.QuotaExceeded }]);
    expect(second.duplex.closed).toBe(true);
    expect(b.stats.quotaExceeded).toBe(1);
    expect(budget.refused.partialPackets).toBe(1);
    expect(heard).toEqual(["memory_budget second 151"]);
    // The first one's packet completes, and its bytes go back.
    first.duplex.push(big.subarray(big.byteLength - 1));
    expect(budget.held.partialPackets).toBe(0);
    expect(first.duplex.closed).toBe(false);
  });

  it("never refuses a connection whose partial packet stays under the floor, even when the budget is spent", () => {
    const budget = new MemoryBudget(1);
    const broker = new Broker({ memoryBudget: budget, now: () => 0 });
    const peer = connected(broker, "small");
    const packet = encodePacket(publish("t", PARTIAL_PACKET_FLOOR / 2), 5);
    peer.duplex.push(packet.subarray(0, 100));
    expect(peer.duplex.closed).toBe(false);
    expect(budget.held.partialPackets).toBe(100);
    peer.duplex.push(packet.subarray(100));
    expect(budget.held.partialPackets).toBe(0);
  });

  it("gives a closed connection's partial packet back", () => {
    const budget = new MemoryBudget(0);
    const broker = new Broker({ memoryBudget: budget, now: () => 0 });
    const peer = connected(broker, "gone");
    peer.duplex.push(encodePacket(publish("t", 10_000), 5).subarray(0, 5_000));
    expect(budget.held.partialPackets).toBe(5_000);
    peer.duplex.sink!.end(); // the peer went away
    expect(budget.held.partialPackets).toBe(0);
  });

  it("drops queued messages for offline sessions once the budget is spent, counted, and gets the bytes back when the sessions end", async () => {
    const budget = new MemoryBudget(25_000);
    const broker = new Broker({ memoryBudget: budget, now: () => 0 });
    const heard: string[] = [];
    broker.use({ name: "events", onEvent: (kind, clientId) => heard.push(`${kind} ${clientId}`) });
    for (const id of ["s1", "s2", "s3"]) {
      const sub = connected(broker, id, { properties: { sessionExpiryInterval: 3600 } });
      sub.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "q/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
      expect(sub.packets()[0]).toMatchObject({ type: "suback" });
      sub.duplex.sink!.end(); // offline now: messages queue
    }
    const pub = connected(broker, "pub");
    pub.send(publish("q/1", 10_000, 1, 1));
    // 3 × 10 kB wanted, 25 kB allowed: two sessions queue it, the third drops it.
    expect(budget.held.queues).toBe(20_000);
    expect(budget.refused.queues).toBe(1);
    expect(broker.stats.messagesDropped).toBe(1);
    expect(heard).toEqual(["memory_budget s3"]);
    expect(broker.sessions().filter((s) => s.clientId !== "pub").map((s) => s.queued).sort()).toEqual([0, 1, 1]);
    // A session that returns takes its queue and gives its bytes back.
    const back = new MemoryPeer(broker);
    back.connect("s1", { cleanStart: false, properties: { sessionExpiryInterval: 3600 } });
    expect(back.packets().map((p) => p.type)).toEqual(["connack", "publish"]);
    expect(broker.sessions().find((s) => s.clientId === "s1")!.queued).toBe(0);
    expect(budget.held.queues).toBe(10_000);
    // Ending the others (or closing the broker) gives the rest back.
    await broker.close();
    expect(budget.held.queues).toBe(0);
  });

  it("caps the sessions of every broker that shares it, refusing a new one with CONNACK 0x97 while a resume still gets in", () => {
    const budget = new MemoryBudget(0, 2);
    const a = new Broker({ memoryBudget: budget, now: () => 0 });
    const b = new Broker({ memoryBudget: budget, now: () => 0 });
    const lasting = { cleanStart: false, properties: { sessionExpiryInterval: 60 } };
    const one = connected(a, "one", lasting);
    connected(b, "two", lasting);
    const third = new MemoryPeer(b);
    third.connect("three");
    expect(third.packets()).toMatchObject([{ type: "connack", reasonCode: ReasonCode.QuotaExceeded, properties: { reasonString: "the server holds at most 2 sessions, all brokers together" } }]);
    expect(b.stats.quotaExceeded).toBe(1);
    // "one" goes offline and comes back: its session exists, so the cap does not apply.
    one.duplex.sink!.end();
    connected(a, "one", lasting);
    // Ending a session makes room.
    expect(b.endSession("two", ReasonCode.AdministrativeAction)).toBe(true);
    expect(budget.sessions).toBe(1);
    connected(b, "three");
  });
});
