// The core tells its hooks' onEvent of refusals, denials, protocol errors,
// rate-limit closes, failing authentication hooks and full queues, and counts
// each in its stats, driven by bytes through a MemoryDuplex.
import { describe, expect, it } from "vitest";
import { Broker, type BrokerEventKind, type BrokerOptions, type Hook } from "@edgemq/core";
import { FakeClock } from "../support/fake-clock.ts";
import { MemoryPeer } from "../support/memory-peer.ts";

const flush = () => new Promise((r) => setTimeout(r, 0)); // authentication answers asynchronously

type Heard = { kind: BrokerEventKind; clientId: string; remote: string; reasonCode: number; detail: string | undefined };

function setup(options: BrokerOptions = {}, hooks: Hook[] = []) {
  const heard: Heard[] = [];
  const clock = new FakeClock();
  const broker = new Broker({ now: clock.now, ...options, limits: { sysInterval: 0, ...options.limits } });
  for (const h of hooks) broker.use(h);
  broker.use({ name: "ear", onEvent: (kind, clientId, conn, reasonCode, detail) => heard.push({ kind, clientId, remote: `${conn.remoteAddress}:${conn.remotePort}`, reasonCode, detail }) });
  return { broker, heard, clock };
}

const peer = (broker: Broker) => new MemoryPeer(broker, 5, { remoteAddress: "192.0.2.9", remotePort: 4242 });

describe("the broker's events", () => {
  it("tells of a refused CONNECT with the client id it asked for", async () => {
    const { broker, heard } = setup({ limits: { maximumClientIdLength: 4 } });
    peer(broker).connect("too-long");
    await flush();
    expect(heard).toEqual([{ kind: "connect_refused", clientId: "too-long", remote: "192.0.2.9:4242", reasonCode: 0x85, detail: "client identifier longer than 4" }]);
  });

  it("tells of an authentication hook that threw, then of the refusal", async () => {
    const { broker, heard } = setup({}, [{ name: "broken", authenticate: () => Promise.reject(new Error("directory unreachable")) }]);
    peer(broker).connect("c1");
    await flush();
    await flush();
    expect(heard.map((h) => [h.kind, h.clientId, h.reasonCode])).toEqual([["hook_failed", "c1", 0x80], ["connect_refused", "c1", 0x80]]);
    expect(heard[0]!.detail).toBe("authentication hook failed: directory unreachable");
  });

  it("tells of a denied publish and subscription with the topic and the filter", async () => {
    const { broker, heard } = setup({}, [{ name: "acl", authorizePublish: () => ({ deny: 0x87 }), authorizeSubscribe: () => ({ deny: 0x87 }) }]);
    const p = peer(broker);
    p.connect("c2");
    await flush();
    p.send({ type: "publish", topic: "no/way", qos: 1, packetId: 1, retain: false, dup: false, payload: new Uint8Array(1) });
    p.send({ type: "subscribe", packetId: 2, subscriptions: [{ topicFilter: "no/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await flush();
    expect(heard.map((h) => [h.kind, h.clientId, h.reasonCode, h.detail])).toEqual([["publish_denied", "c2", 0x87, "no/way"], ["subscribe_denied", "c2", 0x87, "no/#"]]);
    expect(broker.stats.denied).toBe(2);
  });

  it("tells of a protocol error once and counts it once, whether the decoder or the machine found it", async () => {
    const { broker, heard } = setup();
    const p = peer(broker);
    p.connect("c3");
    await flush();
    p.connect("c3"); // a second CONNECT
    const q = peer(broker);
    q.duplex.push(new Uint8Array([0x10, 0x05, 0x00, 0x04, 0x4d, 0x51, 0x54]));
    expect(heard.map((h) => [h.kind, h.clientId, h.reasonCode])).toEqual([["protocol_error", "c3", 0x82], ["malformed_packet", "", 0x81]]);
    expect(broker.stats.protocolErrors).toBe(2);
  });

  it("tells of each message dropped from a full queue, with the subscriber and the topic", async () => {
    const { broker, heard } = setup({ limits: { maximumQueuedMessages: 2 } });
    const sub = peer(broker);
    sub.connect("slow", { cleanStart: false, properties: { sessionExpiryInterval: 60 } });
    await flush();
    sub.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "q", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await flush();
    sub.duplex.close(); // offline: messages queue
    for (let i = 0; i < 5; i++) broker.publish({ topic: "q", payload: new Uint8Array([i]), qos: 1, retain: false, properties: undefined, expiresAt: undefined, senderId: "", receivedAt: 0 });
    expect(heard.filter((h) => h.kind === "queue_full").map((h) => [h.clientId, h.reasonCode, h.detail])).toEqual([["slow", 0x97, "q"], ["slow", 0x97, "q"], ["slow", 0x97, "q"]]);
  });
});
