// Several edgemq nodes over NATS (issue 12, part 1): a real nats-server and
// two edgemq processes started as a user would, with --cluster; clients on
// different nodes. Run once (the first, node over TCP, pass of npm test).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PublishPacket } from "@edgemq/core/codec";
import { collect, connect, RawClient, sleep, waitFor, publishWindowed } from "../support/clients.ts";
import { natsSubjects, type RunningNats, startNats } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

const enc = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const publishes = (raw: RawClient) => raw.received.filter((p): p is PublishPacket => p.type === "publish");

let nats: RunningNats;
let a: RunningBroker;
let b: RunningBroker;
beforeAll(async () => {
  nats = await startNats();
  [a, b] = await Promise.all([
    startBroker(["--cluster", nats.url, "--node-id", "node-a", "--sys-interval", "0"]),
    startBroker(["--cluster", nats.url, "--node-id", "node-b", "--sys-interval", "0"]),
  ]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await nats?.stop();
});

async function rawClient(node: RunningBroker, clientId: string): Promise<RawClient> {
  const r = await RawClient.open(node.port, 5);
  expect((await r.connect(clientId)).reasonCode).toBe(0);
  return r;
}

async function subscribe(r: RawClient, filter: string, options: { qos?: 0 | 1 | 2; noLocal?: boolean; packetId?: number; id?: number } = {}): Promise<void> {
  r.send({ type: "subscribe", packetId: options.packetId ?? 1, properties: options.id === undefined ? undefined : { subscriptionIdentifier: options.id }, subscriptions: [{ topicFilter: filter, qos: options.qos ?? 2, noLocal: options.noLocal ?? false, retainAsPublished: false, retainHandling: 0 }] });
  await r.next("suback");
}

// A SUBACK on one node comes before its interest reaches NATS: publish probes from
// the other node until one arrives, so the test starts once the route is in place.
async function routeReady(from: RawClient, to: RawClient, topic: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    from.send({ type: "publish", topic, payload: enc.encode("probe"), qos: 0, retain: false, dup: false });
    await sleep(20);
    if (publishes(to).some((p) => text(p.payload) === "probe")) {
      await sleep(50);
      to.received.length = 0;
      return;
    }
  }
  throw new Error(`no message on ${topic} crossed the nodes in 6 s`);
}

describe("messages across nodes", () => {
  it("prints the cluster, the node id and the nodes that answered on the start-up line", async () => {
    // A and B started together: each may or may not have heard the other yet.
    expect(a.output()).toMatch(new RegExp(`cluster: ${nats.url} as node node-a, [12] nodes? seen`));
    expect(b.output()).toMatch(new RegExp(`cluster: ${nats.url} as node node-b, [12] nodes? seen`));
    const c = await startBroker(["--cluster", nats.url, "--node-id", "node-c", "--sys-interval", "0"]);
    expect(c.output()).toContain(`cluster: ${nats.url} as node node-c, 3 nodes seen`);
    await c.stop();
  });

  it("delivers a PUBLISH from node B to a subscriber on node A once, at QoS 0, 1 and 2, with every MQTT 5 property", async () => {
    const sub = await rawClient(a, "x-sub");
    await subscribe(sub, "x/+/t", { qos: 2 });
    const pub = await rawClient(b, "x-pub");
    await routeReady(pub, sub, "x/probe/t");
    const properties = {
      responseTopic: "x/reply", correlationData: Uint8Array.from([0, 1, 0xff]), payloadFormatIndicator: 1, contentType: "text/plain; charset=utf-8",
      userProperties: [["k", "1"], ["a", "x"], ["k", "2"], ["k", "1"], ["", ""]] as [string, string][],
    };
    for (const qos of [0, 1, 2] as const) {
      pub.send({ type: "publish", topic: `x/${qos}/t`, payload: enc.encode(`q${qos}`), qos, retain: false, dup: false, packetId: qos === 0 ? undefined : 10 + qos, properties: { ...properties, messageExpiryInterval: 60 } });
    }
    expect((await pub.next("puback")).packetId).toBe(11);
    expect((await pub.next("pubrec")).packetId).toBe(12);
    await waitFor(() => publishes(sub).length >= 3, 5000, "three messages on node A");
    await sleep(200); // time for any duplicate to show
    const got = publishes(sub);
    expect(got.map((p) => [p.topic, text(p.payload), p.qos])).toEqual([["x/0/t", "q0", 0], ["x/1/t", "q1", 1], ["x/2/t", "q2", 2]]);
    for (const p of got) {
      const { messageExpiryInterval, ...rest } = p.properties!;
      expect(rest).toEqual(properties);
      // Counted down on the way, never up.
      expect(messageExpiryInterval).toBeGreaterThanOrEqual(58);
      expect(messageExpiryInterval).toBeLessThanOrEqual(60);
    }
    sub.close();
    pub.close();
  });

  it("delivers a message published on a node to its own subscribers once, not again through NATS", async () => {
    const sub = await rawClient(a, "own-sub");
    await subscribe(sub, "own/#");
    const remote = await rawClient(b, "own-remote");
    await routeReady(remote, sub, "own/probe");
    const pub = await rawClient(a, "own-pub");
    pub.send({ type: "publish", topic: "own/1", payload: enc.encode("local"), qos: 1, retain: false, dup: false, packetId: 1 });
    await pub.next("puback");
    // A later message from the other node marks the point by which a copy through NATS would have come.
    remote.send({ type: "publish", topic: "own/2", payload: enc.encode("marker"), qos: 0, retain: false, dup: false });
    await waitFor(() => publishes(sub).some((p) => text(p.payload) === "marker"), 3000, "the marker");
    await sleep(100);
    expect(publishes(sub).map((p) => text(p.payload))).toEqual(["local", "marker"]);
    sub.close(); remote.close(); pub.close();
  });

  it("merges one client's overlapping subscriptions into one delivery with every identifier, though NATS brings the message once per matching subject", async () => {
    const both = await rawClient(a, "ov-both");
    await subscribe(both, "ov/+", { qos: 1, id: 1, packetId: 1 });
    await subscribe(both, "ov/#", { qos: 2, id: 2, packetId: 2 });
    const one = await rawClient(a, "ov-one");
    await subscribe(one, "ov/x", { qos: 1 });
    const pub = await rawClient(b, "ov-pub");
    await routeReady(pub, one, "ov/x");
    both.received.length = 0;
    pub.send({ type: "publish", topic: "ov/x", payload: enc.encode("once"), qos: 2, retain: false, dup: false, packetId: 3 });
    await pub.next("pubrec");
    await waitFor(() => publishes(both).length >= 1 && publishes(one).length >= 1, 3000, "both subscribers");
    await sleep(200);
    expect(publishes(both).map((p) => [text(p.payload), p.qos, [...(p.properties?.subscriptionIdentifiers ?? [])].sort()])).toEqual([["once", 2, [1, 2]]]);
    expect(publishes(one).map((p) => text(p.payload))).toEqual(["once"]);
    both.close(); one.close(); pub.close();
  });

  it("keeps one publisher's order over 1000 QoS 1 messages, none lost or repeated", async () => {
    const sub = await connect(a.url, { clientId: "order-sub" });
    const got = collect(sub);
    await sub.subscribeAsync("order/#", { qos: 1 });
    const pub = await connect(b.url, { clientId: "order-pub" });
    for (let i = 0; i < 300 && got.length === 0; i++) {
      await pub.publishAsync("order/probe", "probe", { qos: 0 });
      await sleep(20);
    }
    await sleep(50);
    got.length = 0;
    const sent = Array.from({ length: 1000 }, (_, i) => String(i));
    await publishWindowed(pub, "order/seq", sent);
    await waitFor(() => got.length >= 1000, 10_000, "1000 messages on node A");
    await sleep(200);
    expect(got.map((m) => m.payload)).toEqual(sent);
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  });

  it("keeps No Local across nodes: a client's own messages never come back to it, while those of a client on another node do", async () => {
    const self = await rawClient(a, "nl-client");
    await subscribe(self, "nl/t", { qos: 1, noLocal: true });
    const other = await rawClient(b, "nl-other");
    await subscribe(other, "nl/t", { qos: 1 });
    const watcher = await rawClient(a, "nl-watcher");
    await subscribe(watcher, "nl/t", { qos: 1 });
    await routeReady(other, watcher, "nl/t");
    self.received.length = 0;
    // Published on its own node.
    self.send({ type: "publish", topic: "nl/t", payload: enc.encode("own-a"), qos: 1, retain: false, dup: false, packetId: 5 });
    await self.next("puback");
    // (A connection with the same client id on the other node would take it over: session-takeover.test.ts.)
    // Someone else's message reaches it.
    other.send({ type: "publish", topic: "nl/t", payload: enc.encode("theirs"), qos: 1, retain: false, dup: false, packetId: 7 });
    await waitFor(() => publishes(self).length >= 1, 3000, "the other client's message");
    await waitFor(() => publishes(watcher).length >= 2, 3000, "both on the watcher");
    await sleep(100);
    expect(publishes(self).map((p) => text(p.payload))).toEqual(["theirs"]);
    expect(publishes(watcher).map((p) => text(p.payload)).sort()).toEqual(["own-a", "theirs"]);
    self.close(); other.close(); watcher.close();
  });

  it("holds one NATS subscription per distinct filter on a node, and stops delivery after UNSUBSCRIBE", async () => {
    const s1 = await rawClient(a, "un-1");
    const s2 = await rawClient(a, "un-2");
    await subscribe(s1, "un/#");
    await subscribe(s2, "un/#");
    const pub = await rawClient(b, "un-pub");
    await routeReady(pub, s1, "un/x");
    const subjects = () => natsSubjects(nats, "edgemq node-a");
    // `un/#` is `un.>` and the parent `un`; two clients on it still take one NATS subscription each.
    expect((await subjects()).filter((s) => s.includes(".un"))).toEqual(["edgemq.default.msg.*.un", "edgemq.default.msg.*.un.>"]);
    s1.send({ type: "unsubscribe", packetId: 2, topicFilters: ["un/#"] });
    await s1.next("unsuback");
    expect((await subjects()).filter((s) => s.includes(".un"))).toHaveLength(2);
    s2.send({ type: "unsubscribe", packetId: 2, topicFilters: ["un/#"] });
    await s2.next("unsuback");
    // The UNSUB reaches nats-server a moment after the UNSUBACK.
    let held = await subjects();
    for (let i = 0; i < 50 && held.some((s) => s.includes(".un")); i++) (await sleep(20), (held = await subjects()));
    expect(held.filter((s) => s.includes(".un"))).toEqual([]);
    s1.received.length = 0;
    s2.received.length = 0;
    // Delivery goes on for a filter still held on node A, but not for the one given up.
    const marker = await rawClient(a, "un-marker");
    await subscribe(marker, "un-marker/t");
    await routeReady(pub, marker, "un-marker/t");
    pub.send({ type: "publish", topic: "un/x", payload: enc.encode("after"), qos: 0, retain: false, dup: false });
    pub.send({ type: "publish", topic: "un-marker/t", payload: enc.encode("marker"), qos: 0, retain: false, dup: false });
    await waitFor(() => publishes(marker).length === 1, 3000, "the marker");
    await sleep(100);
    expect(publishes(s1).length + publishes(s2).length).toBe(0);
    s1.close(); s2.close(); pub.close(); marker.close();
  });

  it("maps hostile topic names so that no topic reaches another's subscribers", async () => {
    const sub = await connect(a.url, { clientId: "hostile-sub" });
    const got = collect(sub);
    await sub.subscribeAsync(["h/a.b", "h/*", "h/+/>", "h//x", "h/ü/話"], { qos: 1 });
    const pub = await connect(b.url, { clientId: "hostile-pub" });
    for (let i = 0; i < 300 && got.length === 0; i++) {
      await pub.publishAsync("h/a.b", "probe", { qos: 0 });
      await sleep(20);
    }
    await sleep(50);
    got.length = 0;
    const topics = ["h/a.b", "h/a", "h/*", "h/x", "h/y/>", "h/y/z", "h//x", "h/x/x", "h/ü/話", "h/u/話", "h/a/b"];
    for (const t of topics) await pub.publishAsync(t, t, { qos: 1 });
    await pub.publishAsync("h/a.b", "end", { qos: 1 });
    await waitFor(() => got.some((m) => m.payload === "end"), 3000, "the last message");
    expect(got.map((m) => m.topic)).toEqual(["h/a.b", "h/*", "h/y/>", "h//x", "h/ü/話", "h/a.b"]);
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  });

  it("keeps a message too large for NATS on its own node, says so once, and goes on sending the next ones", async () => {
    // nats-server takes at most 1 MB per message (max_payload); this node takes MQTT packets of up to 3 MB.
    const c = await startBroker(["--cluster", nats.url, "--node-id", "node-big", "--sys-interval", "0", "--max-packet-size", "3000000"]);
    try {
      const local = await connect(c.url, { clientId: "big-local" });
      const remote = await connect(a.url, { clientId: "big-remote" });
      const [gotLocal, gotRemote] = [collect(local), collect(remote)];
      await Promise.all([local.subscribeAsync("big/#", { qos: 1 }), remote.subscribeAsync("big/#", { qos: 1 })]);
      const pub = await connect(c.url, { clientId: "big-pub" });
      for (let i = 0; i < 300 && gotRemote.length === 0; i++) {
        await pub.publishAsync("big/probe", "probe", { qos: 0 });
        await sleep(20);
      }
      await sleep(50);
      gotLocal.length = gotRemote.length = 0;
      await pub.publishAsync("big/1", Buffer.alloc(1_500_000, "x"), { qos: 1 });
      await pub.publishAsync("big/2", "small", { qos: 1 });
      await pub.publishAsync("big/3", Buffer.alloc(1_200_000, "y"), { qos: 1 });
      await pub.publishAsync("big/4", "after", { qos: 1 });
      await waitFor(() => gotRemote.length >= 2 && gotLocal.length >= 4, 5000, "the small messages on node A, all four on the node they were published on");
      await sleep(200);
      expect(gotLocal.map((m) => [m.topic, m.payload.length])).toEqual([["big/1", 1_500_000], ["big/2", 5], ["big/3", 1_200_000], ["big/4", 5]]);
      expect(gotRemote.map((m) => [m.topic, m.payload])).toEqual([["big/2", "small"], ["big/4", "after"]]);
      expect(c.output().match(/was not sent to the other nodes \('payload' max_payload size exceeded\)/g)).toHaveLength(1);
      await Promise.all([local.endAsync(), remote.endAsync(), pub.endAsync()]);
    } finally {
      await c.stop();
    }
  });
});
