// Shared subscriptions across nodes (issue 12): a share group with members on
// several nodes gets each message once in the whole cluster, through NATS
// queue groups; three edgemq nodes on one real nats-server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { collect, connect, sleep, waitFor, publishWindowed } from "../support/clients.ts";
import { natsSubjects, type RunningNats, startNats } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

type Got = ReturnType<typeof collect>;

let nats: RunningNats;
let nodes: RunningBroker[];
beforeAll(async () => {
  nats = await startNats();
  nodes = await Promise.all(["sh-a", "sh-b", "sh-c"].map((id) => startBroker(["--cluster", nats.url, "--node-id", id, "--sys-interval", "0"])));
});
afterAll(async () => {
  await Promise.all((nodes ?? []).map((n) => n.stop()));
  await nats?.stop();
});

async function member(node: number, clientId: string, filter: string): Promise<{ client: MqttClient; got: Got }> {
  const client = await connect(nodes[node]!.url, { clientId });
  const got = collect(client);
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, got };
}

// Publishes probes until every one of `ready` holds one (a share group's probe reaches one
// member only, so this waits until NATS has chosen each of those at least once), then forgets them.
async function probeUntil(pub: MqttClient, topic: string, ready: Got[], all: Got[]): Promise<void> {
  for (let i = 0; i < 300 && !ready.every((g) => g.some((m) => m.payload === "probe")); i++) {
    await pub.publishAsync(topic, "probe", { qos: 0 });
    await sleep(20);
  }
  await sleep(100);
  for (const g of ready) if (!g.some((m) => m.payload === "probe")) throw new Error(`no probe on ${topic} reached every node in 6 s`);
  for (const g of all) g.length = 0;
}

const numbers = (got: Got) => got.map((m) => Number(m.payload));
const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]!);

describe("shared subscriptions across nodes", () => {
  it("gives each of 300 messages to one member of a group spread over two nodes, keeping each member's order, while plain subscribers get all", async () => {
    const a1 = await member(0, "sh-a1", "$share/g/work/#");
    const b1 = await member(1, "sh-b1", "$share/g/work/#");
    const b2 = await member(1, "sh-b2", "$share/g/work/#");
    const plainA = await member(0, "sh-plain-a", "work/#");
    const plainC = await member(2, "sh-plain-c", "work/+");
    const pub = await connect(nodes[2]!.url, { clientId: "sh-pub" });
    const everyone = [a1.got, b1.got, b2.got, plainA.got, plainC.got];
    await probeUntil(pub, "work/job", [a1.got, b1.got, plainA.got, plainC.got], everyone);
    const sent = Array.from({ length: 300 }, (_, i) => i);
    await publishWindowed(pub, "work/job", sent.map(String));
    const members = [a1.got, b1.got, b2.got];
    await waitFor(() => members.reduce((n, g) => n + g.length, 0) >= 300 && plainA.got.length >= 300, 10_000, "300 messages to the group");
    await sleep(300); // time for any second copy to show
    const delivered = members.flatMap(numbers);
    expect(delivered.length).toBe(300);
    expect([...delivered].sort((x, y) => x - y)).toEqual(sent);
    for (const g of members) expect(increasing(numbers(g))).toBe(true);
    // NATS chose both nodes; node b spread its share over its two members.
    expect(a1.got.length).toBeGreaterThan(0);
    expect(b1.got.length + b2.got.length).toBeGreaterThan(0);
    expect(b1.got.length).toBeGreaterThan(0);
    expect(b2.got.length).toBeGreaterThan(0);
    expect(numbers(plainA.got)).toEqual(sent);
    expect(numbers(plainC.got)).toEqual(sent);
    await Promise.all([a1, b1, b2, plainA, plainC].map((m) => m.client.endAsync()).concat(pub.endAsync()));
  });

  it("gives a group with members on one node every message, whether published on that node or another", async () => {
    const m1 = await member(1, "solo-1", "$share/solo/solo/+");
    const m2 = await member(1, "solo-2", "$share/solo/solo/+");
    const other = await member(0, "solo-other", "$share/other/solo/+");
    const pubA = await connect(nodes[0]!.url, { clientId: "solo-pub-a" });
    const pubB = await connect(nodes[1]!.url, { clientId: "solo-pub-b" });
    await probeUntil(pubA, "solo/t", [m1.got, other.got], [m1.got, m2.got, other.got]);
    const sent = Array.from({ length: 100 }, (_, i) => i);
    await Promise.all([publishWindowed(pubA, "solo/a", sent.map(String)), publishWindowed(pubB, "solo/b", sent.map(String))]);
    await waitFor(() => m1.got.length + m2.got.length >= 200 && other.got.length >= 200, 10_000, "200 messages to each group");
    await sleep(300);
    for (const topic of ["solo/a", "solo/b"]) {
      const of = (g: Got) => numbers(g.filter((m) => m.topic === topic));
      expect([...of(m1.got), ...of(m2.got)].sort((x, y) => x - y)).toEqual(sent);
      expect(increasing(of(m1.got)) && increasing(of(m2.got))).toBe(true);
      // A group on another filter is another shared subscription: it gets its own copy of each.
      expect(of(other.got)).toEqual(sent);
    }
    await Promise.all([m1, m2, other].map((m) => m.client.endAsync()).concat(pubA.endAsync(), pubB.endAsync()));
  });

  it("stops choosing a node once its last member of the group unsubscribes", async () => {
    const a1 = await member(0, "leave-a", "$share/leave/leave/t");
    const b1 = await member(1, "leave-b", "$share/leave/leave/t");
    const pub = await connect(nodes[2]!.url, { clientId: "leave-pub" });
    await probeUntil(pub, "leave/t", [a1.got, b1.got], [a1.got, b1.got]);
    await a1.client.unsubscribeAsync("$share/leave/leave/t");
    // The queue subscription leaves nats-server a moment after the UNSUBACK.
    const held = () => natsSubjects(nats, "edgemq sh-a shares");
    for (let i = 0; i < 50 && (await held()).some((s) => s.includes(".leave.")); i++) await sleep(20);
    expect((await held()).filter((s) => s.includes(".leave."))).toEqual([]);
    const sent = Array.from({ length: 100 }, (_, i) => i);
    await publishWindowed(pub, "leave/t", sent.map(String));
    await waitFor(() => b1.got.length >= 100, 10_000, "100 messages on node b");
    await sleep(200);
    expect(numbers(b1.got)).toEqual(sent);
    expect(a1.got).toEqual([]);
    await Promise.all([a1.client.endAsync(), b1.client.endAsync(), pub.endAsync()]);
  });

  it("loses nothing when a node's last member leaves while messages flow: what NATS gave that node goes on to the group's other node", async () => {
    const a1 = await member(0, "flow-a", "$share/flow/flow/t");
    const b1 = await member(1, "flow-b", "$share/flow/flow/t");
    const pub = await connect(nodes[2]!.url, { clientId: "flow-pub" });
    await probeUntil(pub, "flow/t", [a1.got, b1.got], [a1.got, b1.got]);
    const sent = Array.from({ length: 2000 }, (_, i) => i);
    // QoS 0 keeps the publisher from waiting, so NATS keeps choosing node a while its UNSUB is on the way.
    const publishing = (async () => {
      for (const n of sent) {
        pub.publish("flow/t", String(n), { qos: 0 });
        if (n % 50 === 0) await sleep(1);
      }
    })();
    await waitFor(() => a1.got.length >= 20, 5000, "node a's member in the flow");
    await a1.client.unsubscribeAsync("$share/flow/flow/t");
    await publishing;
    await waitFor(() => a1.got.length + b1.got.length >= 2000, 10_000, "2000 messages to the group");
    await sleep(200);
    expect([...numbers(a1.got), ...numbers(b1.got)].sort((x, y) => x - y)).toEqual(sent);
    await Promise.all([a1.client.endAsync(), b1.client.endAsync(), pub.endAsync()]);
  });
});
