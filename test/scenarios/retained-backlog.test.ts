// A SUBSCRIBE that matches far more retained messages than a session's queue
// holds: every one is delivered, paced by the client's Receive Maximum,
// instead of the overflow being dropped and counted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePacket } from "@edgemq/core/codec";
import { collect, connect, RawClient, sleep, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

const encoder = new TextEncoder();
const COUNT = 10_000;

let broker: RunningBroker;
beforeAll(async () => {
  broker = await startBroker(["--sys-interval", "0"]);
  // 10,000 retained QoS 1 messages, 100 at a time (the broker's Receive Maximum).
  const pub = await RawClient.open(broker.port, 5);
  expect((await pub.connect("bulk-publisher")).reasonCode).toBe(0);
  for (let batch = 0; batch < COUNT / 100; batch++) {
    const bytes: number[] = [];
    for (let id = 1; id <= 100; id++) {
      const i = batch * 100 + id - 1;
      bytes.push(...encodePacket({ type: "publish", topic: `bulk/${i}`, qos: 1, packetId: id, retain: true, dup: false, payload: encoder.encode(`r${i}`) }, 5));
    }
    pub.sendBytes(bytes);
    await waitFor(() => pub.received.filter((p) => p.type === "puback").length === 100, 10_000, "100 PUBACKs");
    pub.received.length = 0;
  }
  pub.close();
});
afterAll(async () => {
  await broker.stop();
});

describe("retained messages beyond the queue's size", () => {
  it("delivers all 10,000 retained messages to a QoS 1 subscriber with Receive Maximum 10, then a live one after them", async () => {
    const sub = await connect(broker.url, { clientId: "bulk-subscriber", properties: { receiveMaximum: 10 } });
    const got = collect(sub);
    await sub.subscribeAsync("bulk/#", { qos: 1 });
    // Published after SUBACK: it waits behind the retained messages the SUBSCRIBE brought.
    const live = await connect(broker.url, { clientId: "bulk-live" });
    await live.publishAsync("bulk/live", "live", { qos: 1 });
    // Until all have come, or nothing more comes for a second.
    for (let seen = -1; got.length !== seen && got.length < COUNT + 1;) {
      seen = got.length;
      await sleep(1000);
    }
    expect(got.length).toBe(COUNT + 1);
    const retained = got.slice(0, COUNT);
    expect(new Set(retained.map((m) => m.topic)).size).toBe(COUNT);
    expect(retained.every((m) => m.packet.retain && m.packet.qos === 1 && m.payload === `r${m.topic.slice(5)}`)).toBe(true);
    expect(got[COUNT]).toMatchObject({ topic: "bulk/live", payload: "live" });
    expect(got[COUNT]!.packet.retain).toBe(false);
    await live.endAsync();
    await sub.endAsync();
  });
});
