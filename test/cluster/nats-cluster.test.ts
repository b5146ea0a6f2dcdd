// Three edgemq nodes, one on each runtime (Node, Bun, Deno) and each on a
// different server of a three-server NATS cluster: messages cross the NATS
// routes as well as the nodes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { collect, connect, sleep, waitFor, publishWindowed } from "../support/clients.ts";
import { type RunningNats, startNatsCluster } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let nats: RunningNats[];
let nodes: RunningBroker[];
beforeAll(async () => {
  nats = await startNatsCluster(3);
  const runtimes = ["node", "bun", "deno"] as const;
  nodes = await Promise.all(nats.map((n, i) => startBroker(["--cluster", n.url, "--node-id", `node-${i}`, "--sys-interval", "0"], {}, { runtime: runtimes[i] })));
});
afterAll(async () => {
  await Promise.all((nodes ?? []).map((n) => n.stop()));
  await Promise.all((nats ?? []).map((n) => n.stop()));
});

// Publishes probes until every collector has one: the interest has crossed the NATS routes.
async function routesReady(pub: MqttClient, topic: string, collectors: { payload: string }[][]): Promise<void> {
  for (let i = 0; i < 300; i++) {
    await pub.publishAsync(topic, "probe", { qos: 0 });
    await sleep(20);
    if (collectors.every((c) => c.some((m) => m.payload === "probe"))) break;
  }
  await sleep(50);
  for (const c of collectors) {
    if (!c.some((m) => m.payload === "probe")) throw new Error(`no probe on ${topic} crossed the NATS cluster in 6 s`);
    c.length = 0;
  }
}

describe("edgemq nodes on a three-server NATS cluster", () => {
  it("runs a node on each runtime", () => {
    expect(nodes.map((n) => /on (\w+) \d/.exec(n.output())?.[1])).toEqual(["node", "bun", "deno"]);
  });

  it("delivers a publisher's messages on node 1 (Bun) to subscribers on nodes 0 (Node) and 2 (Deno), once each and in order", async () => {
    const sub0 = await connect(nodes[0]!.url, { clientId: "nc-sub0" });
    const sub2 = await connect(nodes[2]!.url, { clientId: "nc-sub2" });
    const got0 = collect(sub0), got2 = collect(sub2);
    await sub0.subscribeAsync("nc/#", { qos: 1 });
    await sub2.subscribeAsync("nc/+", { qos: 0 });
    const pub = await connect(nodes[1]!.url, { clientId: "nc-pub" });
    await routesReady(pub, "nc/t", [got0, got2]);
    const sent = Array.from({ length: 300 }, (_, i) => String(i));
    await publishWindowed(pub, "nc/t", sent);
    await waitFor(() => got0.length >= 300 && got2.length >= 300, 10_000, "300 messages on nodes 0 and 2");
    await sleep(200);
    expect(got0.map((m) => m.payload)).toEqual(sent);
    expect(got2.map((m) => m.payload)).toEqual(sent);
    expect(got0.every((m) => m.packet.qos === 1) && got2.every((m) => m.packet.qos === 0)).toBe(true);
    await Promise.all([sub0.endAsync(), sub2.endAsync(), pub.endAsync()]);
  });

  it("gives a share group with members on nodes 0 (Node) and 2 (Deno) each message of a publisher on node 1 (Bun) once in all", async () => {
    const m0 = await connect(nodes[0]!.url, { clientId: "nc-m0" });
    const m2 = await connect(nodes[2]!.url, { clientId: "nc-m2" });
    const got0 = collect(m0), got2 = collect(m2);
    await m0.subscribeAsync("$share/nc/ncs/+", { qos: 1 });
    await m2.subscribeAsync("$share/nc/ncs/+", { qos: 1 });
    const pub = await connect(nodes[1]!.url, { clientId: "nc-share-pub" });
    // A probe reaches one member: wait until the group's interest from both nodes crossed the routes.
    for (let i = 0; i < 300 && (got0.length === 0 || got2.length === 0); i++) {
      await pub.publishAsync("ncs/t", "probe", { qos: 0 });
      await sleep(20);
    }
    await sleep(100);
    got0.length = 0;
    got2.length = 0;
    const sent = Array.from({ length: 300 }, (_, i) => i);
    await publishWindowed(pub, "ncs/t", sent.map(String));
    await waitFor(() => got0.length + got2.length >= 300, 10_000, "300 messages to the group");
    await sleep(300);
    const numbers = [...got0, ...got2].map((m) => Number(m.payload));
    expect(numbers.sort((x, y) => x - y)).toEqual(sent);
    for (const g of [got0, got2]) expect(g.map((m) => Number(m.payload))).toEqual(g.map((m) => Number(m.payload)).sort((x, y) => x - y));
    await Promise.all([m0.endAsync(), m2.endAsync(), pub.endAsync()]);
  });

  it("gives a new subscriber on nodes 0 (Node) and 2 (Deno) the retained message set on node 1 (Bun), and its clearing", async () => {
    const pub = await connect(nodes[1]!.url, { clientId: "nc-ret-pub" });
    await pub.publishAsync("ncr/t", "kept", { qos: 1, retain: true });
    // Asks again until a new subscriber's retained messages are `want` (other nodes follow the stream within moments).
    const retainedOn = async (i: number, want: string[]): Promise<string[]> => {
      for (let tries = 0; ; tries++) {
        const c = await connect(nodes[i]!.url, { clientId: `nc-ret-${i}-${tries}` });
        const got = collect(c);
        await c.subscribeAsync("ncr/#", { qos: 1 });
        await sleep(150);
        await c.endAsync();
        const payloads = got.filter((m) => m.packet.retain).map((m) => m.payload);
        // Bounded at about 15 s: a loaded CI machine can hold JetStream back for seconds.
        if (JSON.stringify(payloads) === JSON.stringify(want) || tries === 60) return payloads;
      }
    };
    expect(await retainedOn(0, ["kept"])).toEqual(["kept"]);
    expect(await retainedOn(2, ["kept"])).toEqual(["kept"]);
    await pub.publishAsync("ncr/t", "", { qos: 1, retain: true });
    expect(await retainedOn(2, [])).toEqual([]);
    await pub.endAsync();
  });
});
