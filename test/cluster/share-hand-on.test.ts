// A share group member that leaves with QoS 1/2 messages it never acknowledged
// (in flight, or queued behind its Receive Maximum): the group gives them to
// another member [MQTT-4.8.2-3], on the same node or across nodes (issue 12).
// Two nodes on two runtimes; the leaving member is a raw client that never
// sends PUBACK or PUBREC, the one that stays is mqtt.js.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { collect, connect, RawClient, sleep, waitFor } from "../support/clients.ts";
import { type RunningNats, startNats } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

type Got = ReturnType<typeof collect>;

let nats: RunningNats;
let nodes: RunningBroker[];
beforeAll(async () => {
  nats = await startNats();
  nodes = await Promise.all([
    startBroker(["--cluster", nats.url, "--node-id", "ho-a", "--sys-interval", "0"], {}, { runtime: "node" }),
    startBroker(["--cluster", nats.url, "--node-id", "ho-b", "--sys-interval", "0"], {}, { runtime: "bun" }),
  ]);
}, 30_000);
afterAll(async () => {
  await Promise.all((nodes ?? []).map((n) => n.stop()));
  await nats?.stop();
});

// A member that takes at most 3 messages at a time and acknowledges none: the rest wait in its session's queue.
async function silentMember(node: number, clientId: string, filter: string, qos: 1 | 2 = 1): Promise<RawClient> {
  const raw = await RawClient.open(nodes[node]!.port, 5);
  await raw.connect(clientId, { properties: { receiveMaximum: 3 } });
  raw.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
  await raw.next("suback");
  return raw;
}

const publishes = (raw: RawClient) => raw.received.filter((p) => p.type === "publish");

// Probes until both members hold one (NATS has chosen each node at least once), then forgets them.
async function probeUntil(pub: MqttClient, topic: string, got: Got, raw: RawClient): Promise<void> {
  for (let i = 0; i < 300 && !(got.length > 0 && publishes(raw).length > 0); i++) {
    await pub.publishAsync(topic, "probe", { qos: 0 });
    await sleep(20);
  }
  await sleep(100);
  if (got.length === 0 || publishes(raw).length === 0) throw new Error("no probe reached both members in 6 s");
  got.length = 0;
  raw.received.length = 0;
}

// Publishes 0..29 at `qos`, waits until the silent member holds its 3, then it leaves
// (its session ends with the connection); the other member must end up with all 30, once each.
async function leaveAndCheck(pub: MqttClient, topic: string, stays: Got, leaves: RawClient, qos: 1 | 2 = 1): Promise<void> {
  const sent = Array.from({ length: 30 }, (_, i) => String(i));
  for (const n of sent) await pub.publishAsync(topic, n, { qos });
  await waitFor(() => publishes(leaves).length >= 3, 3000, "the silent member's 3 messages in flight");
  await sleep(300); // the rest settle: delivered to the other member, or queued for the silent one
  const heldBack = publishes(leaves).length;
  expect(heldBack).toBe(3);
  expect(stays.length).toBeLessThan(30); // the silent member was given some: what follows is a hand-on
  leaves.close();
  await waitFor(() => stays.length >= 30, 5000, "all 30 messages at the member that stayed");
  await sleep(300); // time for a second copy to show
  expect(stays.map((m) => m.payload).sort((a, b) => Number(a) - Number(b))).toEqual(sent);
  expect(stays.every((m) => m.packet.qos === qos)).toBe(true);
}

describe("a share group member that leaves", () => {
  it("hands its unacknowledged and queued QoS 1 messages to another member on the same node", async () => {
    const stays = await connect(nodes[0]!.url, { clientId: "ho-local-stays" });
    const got = collect(stays);
    await stays.subscribeAsync("$share/local/ho-local/#", { qos: 1 });
    const leaves = await silentMember(0, "ho-local-leaves", "$share/local/ho-local/#");
    const pub = await connect(nodes[1]!.url, { clientId: "ho-local-pub" });
    await probeUntil(pub, "ho-local/job", got, leaves);
    await leaveAndCheck(pub, "ho-local/job", got, leaves);
    await Promise.all([stays.endAsync(), pub.endAsync()]);
  });

  it("hands them to a member on another node when it was its node's last member of the group", async () => {
    const stays = await connect(nodes[0]!.url, { clientId: "ho-cross-stays" });
    const got = collect(stays);
    await stays.subscribeAsync("$share/cross/ho-cross/#", { qos: 1 });
    const leaves = await silentMember(1, "ho-cross-leaves", "$share/cross/ho-cross/#");
    const pub = await connect(nodes[0]!.url, { clientId: "ho-cross-pub" });
    await probeUntil(pub, "ho-cross/job", got, leaves);
    await leaveAndCheck(pub, "ho-cross/job", got, leaves);
    await Promise.all([stays.endAsync(), pub.endAsync()]);
  });

  it("hands on QoS 2 messages it never answered with PUBREC across nodes too", async () => {
    const stays = await connect(nodes[1]!.url, { clientId: "ho-two-stays" });
    const got = collect(stays);
    await stays.subscribeAsync("$share/two/ho-two/#", { qos: 2 });
    const leaves = await silentMember(0, "ho-two-leaves", "$share/two/ho-two/#", 2);
    const pub = await connect(nodes[1]!.url, { clientId: "ho-two-pub" });
    await probeUntil(pub, "ho-two/job", got, leaves);
    await leaveAndCheck(pub, "ho-two/job", got, leaves, 2);
    await Promise.all([stays.endAsync(), pub.endAsync()]);
  });
});
