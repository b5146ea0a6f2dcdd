// Unit tests of the retained messages a SUBSCRIBE brings, driven through the
// broker machine: they wait for the client's window instead of the queue,
// and the order and checks at delivery hold while they wait.
import { describe, expect, it } from "vitest";
import { Broker, type BrokerOptions, type Packet } from "@edgemq/core";
import { FakeClock } from "../support/fake-clock.ts";
import { MemoryPeer } from "../support/memory-peer.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const flush = () => new Promise((r) => setTimeout(r, 0)); // authentication answers asynchronously

function setup(options: BrokerOptions = {}) {
  const clock = new FakeClock();
  return new Broker({ now: clock.now, ...options, limits: { sysInterval: 0, ...options.limits } });
}

async function peer(broker: Broker, clientId: string, receiveMaximum = 65535): Promise<MemoryPeer> {
  const p = new MemoryPeer(broker);
  p.connect(clientId, { properties: { receiveMaximum } });
  await flush();
  expect(p.packets()[0]).toMatchObject({ type: "connack", reasonCode: 0 });
  return p;
}

function publish(p: MemoryPeer, topic: string, payload: string, retain: boolean, packetId: number): void {
  p.send({ type: "publish", topic, payload: enc.encode(payload), qos: 1, retain, dup: false, packetId });
}

/** Acknowledges each PUBLISH the peer receives, one at a time, until none come; returns "topic=payload" (with "(r)" for RETAIN). */
function drain(p: MemoryPeer): string[] {
  const seen: string[] = [];
  for (let batch = p.packets(); batch.length > 0; batch = p.packets()) {
    for (const packet of batch) {
      if (packet.type !== "publish") continue;
      seen.push(`${packet.topic}=${dec.decode(packet.payload)}${packet.retain ? "(r)" : ""}`);
      p.send({ type: "puback", packetId: packet.packetId!, reasonCode: 0 });
    }
  }
  return seen;
}

const subscribe = (p: MemoryPeer, topicFilter: string, packetId = 1): void =>
  p.send({ type: "subscribe", packetId, subscriptions: [{ topicFilter, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });

describe("retained messages waiting for the client's window", () => {
  it("delivers more retained messages than the queue holds, one window at a time", async () => {
    const broker = setup({ limits: { maximumQueuedMessages: 5 } });
    const pub = await peer(broker, "pub");
    for (let i = 0; i < 50; i++) publish(pub, `r/${i}`, `v${i}`, true, i + 1);
    const sub = await peer(broker, "sub", 2);
    subscribe(sub, "r/#");
    const first = sub.packets();
    expect(first.map((p) => p.type)).toEqual(["suback", "publish", "publish"]);
    for (const p of first) if (p.type === "publish") sub.send({ type: "puback", packetId: p.packetId!, reasonCode: 0 });
    const rest = drain(sub);
    expect(rest).toHaveLength(48);
    expect(rest.at(-1)).toBe("r/49=v49(r)");
    expect(broker.stats.messagesDropped).toBe(0);
  });

  it("sends what waited in the queue first, the retained messages next, and live messages after them", async () => {
    const broker = setup();
    const pub = await peer(broker, "pub");
    publish(pub, "r/a", "old-a", true, 1);
    publish(pub, "r/b", "b", true, 2);
    const sub = await peer(broker, "sub", 1);
    subscribe(sub, "q");
    expect(sub.packets().map((p) => p.type)).toEqual(["suback"]);
    publish(pub, "q", "q1", false, 3);
    publish(pub, "q", "q2", false, 4);
    const [q1] = sub.packets();
    expect(q1).toMatchObject({ type: "publish", topic: "q" });
    subscribe(sub, "r/#", 2);
    expect(sub.packets().map((p) => p.type)).toEqual(["suback"]); // the window (1) is full
    // r/a is replaced while it waits: the new value goes live, behind the backlog; the old one is never sent after it.
    publish(pub, "r/a", "new-a", true, 5);
    publish(pub, "q", "q3", false, 6);
    sub.send({ type: "puback", packetId: (q1 as Extract<Packet, { type: "publish" }>).packetId!, reasonCode: 0 });
    expect(drain(sub)).toEqual(["q=q2", "r/b=b(r)", "r/a=new-a", "q=q3"]);
  });

  it("checks each retained message against the delivery rules when it is sent, not when it was matched", async () => {
    let allowSecret = true;
    const broker = setup();
    broker.use({ name: "gate", authorizeDelivery: (_c, m) => (m.topic === "r/secret" && !allowSecret ? { deny: 0x87 } : "next") });
    const pub = await peer(broker, "pub");
    publish(pub, "r/open", "1", true, 1);
    publish(pub, "r/secret", "2", true, 2);
    publish(pub, "r/z", "3", true, 3);
    const sub = await peer(broker, "sub", 1);
    subscribe(sub, "r/#");
    const [, first] = sub.packets();
    expect(first).toMatchObject({ type: "publish", topic: "r/open" });
    allowSecret = false; // rights change while the rest wait
    sub.send({ type: "puback", packetId: (first as Extract<Packet, { type: "publish" }>).packetId!, reasonCode: 0 });
    expect(drain(sub)).toEqual(["r/z=3(r)"]);
  });
});
