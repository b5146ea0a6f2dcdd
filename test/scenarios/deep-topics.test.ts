// Topics thousands of levels deep, with the level limit raised: matching them
// must not recurse once per level, or one PUBLISH overflows the stack and
// takes every tenant of the process down with it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PublishPacket } from "@edgemq/core/codec";
import { RawClient, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

const encoder = new TextEncoder();
const publishes = (raw: RawClient) => raw.received.filter((p): p is PublishPacket => p.type === "publish");

let broker: RunningBroker;
beforeAll(async () => {
  // The operator raises the tenant ceiling too: tenant brokers start from the server's limits.
  broker = await startBroker(["--max-topic-levels", "65535", "--tenant-ceiling", "max_topic_levels=65535", "--sys-interval", "0"]);
});
afterAll(async () => {
  await broker.stop();
});

async function client(clientId: string): Promise<RawClient> {
  const r = await RawClient.open(broker.port, 5);
  expect((await r.connect(clientId)).reasonCode).toBe(0);
  return r;
}

/** Subscribes `filter`, publishes `topic` at QoS 0, and returns what the subscriber received. */
async function route(name: string, filter: string, topic: string): Promise<PublishPacket[]> {
  const sub = await client(`${name}-sub`);
  sub.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: filter, qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
  expect((await sub.next("suback")).reasonCodes).toEqual([0]);
  const pub = await client(`${name}-pub`);
  pub.send({ type: "publish", topic, qos: 0, retain: false, dup: false, payload: encoder.encode(name) });
  await waitFor(() => publishes(sub).length > 0 || sub.closed, 10_000, "the deep message");
  pub.close();
  sub.close();
  return publishes(sub);
}

describe("topics thousands of levels deep", () => {
  it("delivers a 5,000-level PUBLISH to a 5,000-level +/+/… subscription and keeps the process alive", async () => {
    const filter = Array(5000).fill("+").join("/");
    const topic = Array(5000).fill("a").join("/");
    const got = await route("deep5k", filter, topic);
    expect(broker.process.exitCode, broker.output().slice(-300)).toBeNull();
    expect(got.map((p) => p.topic.split("/").length)).toEqual([5000]);
  });

  it("delivers a 60,000-level PUBLISH to a subscription as deep (5,000 + levels, the rest exact empty levels)", async () => {
    // A filter of 60,000 + levels would be longer than a topic may be (65,535 bytes): 5,000 + levels, then empty ones.
    const filter = Array(5000).fill("+").join("/") + "/".repeat(55_000);
    const topic = "/".repeat(59_999);
    expect(filter.split("/").length).toBe(60_000);
    expect(topic.split("/").length).toBe(60_000);
    const got = await route("deep60k", filter, topic);
    expect(broker.process.exitCode, broker.output().slice(-300)).toBeNull();
    expect(got.map((p) => p.topic.split("/").length)).toEqual([60_000]);
  });

  it("still serves other clients after the deep messages", async () => {
    const got = await route("after", "shallow/+", "shallow/one");
    expect(got.map((p) => p.topic)).toEqual(["shallow/one"]);
  });
});
