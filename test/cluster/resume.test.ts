// Sessions that resume on any node (issue 13): a client with a lasting
// session that reconnects to another node takes its session over from the
// node that held it: Session Present, its subscriptions, the messages queued
// while it was away in order, in-flight ones resent with DUP, and inbound
// QoS 2 state, so a resent QoS 2 PUBLISH is delivered once. A real
// nats-server, nodes on Node, Bun and Deno, mqtt.js and raw-socket clients.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { type KV, Kvm } from "@nats-io/kv";
import { connect as natsConnect, type NatsConnection } from "@nats-io/transport-node";
import { type OwnerRecord, sessionKey, sessionsBucketName } from "@edgemq/cluster-nats";
import { collect, connect, RawClient, sleep, waitFor } from "../support/clients.ts";
import { type RunningNats, startNats } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let nats: RunningNats;
let a: RunningBroker;
let b: RunningBroker;
let c: RunningBroker;
let pub: MqttClient;
let nc: NatsConnection;
let kv: KV;
// Two users besides anonymous clients: a session belongs to its user on every node.
const node = (id: string) => ["--cluster", nats.url, "--node-id", id, "--sys-interval", "0", "--user", "alice:a-pass", "--user", "mallory:m-pass", "--allow-anonymous"];
beforeAll(async () => {
  nats = await startNats();
  [a, b, c] = await Promise.all([
    startBroker(node("resume-a"), {}, { runtime: "node" }),
    startBroker(node("resume-b"), {}, { runtime: "bun" }),
    startBroker(node("resume-c"), {}, { runtime: "deno" }),
  ]);
  pub = await connect(a.url, { clientId: "resume-pub" });
  nc = await natsConnect({ servers: nats.url });
  kv = await new Kvm(nc).open(sessionsBucketName("edgemq"));
}, 60_000);
afterAll(async () => {
  await pub?.endAsync();
  await nc?.close();
  await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
  await nats?.stop();
});

// The owner the sessions bucket names for a client id of the default broker.
async function ownerOf(clientId: string): Promise<OwnerRecord | undefined> {
  const entry = await kv.get(sessionKey("default", clientId));
  return entry === null || entry.operation !== "PUT" ? undefined : entry.json<OwnerRecord>();
}

// An mqtt.js client whose messages are collected from the first, with what its CONNACK said.
async function open(url: string, options: IClientOptions): Promise<{ client: MqttClient; sessionPresent: boolean; got: ReturnType<typeof collect> }> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  const got = collect(client);
  const sessionPresent = await new Promise<boolean>((resolve, reject) => {
    client.once("connect", (connack) => resolve(connack.sessionPresent));
    client.once("error", reject);
    client.once("close", () => reject(new Error("closed before CONNACK")));
  });
  return { client, sessionPresent, got };
}

// A lasting session of `clientId` on `url` subscribed to `filter`, left offline with a clean DISCONNECT.
async function leave(url: string, clientId: string, filter: string, version: 4 | 5): Promise<void> {
  const options: IClientOptions = version === 5
    ? { clientId, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 300 } }
    : { clientId, protocolVersion: 4, clean: false };
  const { client } = await open(url, options);
  await client.subscribeAsync(filter, { qos: 1, ...(version === 5 ? { properties: { subscriptionIdentifier: 3 } } : {}) });
  await client.endAsync();
}

describe("a lasting session resumes on another node", () => {
  it("5.0, from a Node node to a Bun node: Session Present, the queued QoS 1 messages in order with their subscription identifier, QoS 0 not queued, and the subscription live there", async () => {
    await leave(a.url, "move-5", "move5/#", 5);
    for (let i = 1; i <= 5; i++) await pub.publishAsync("move5/x", `m${i}`, { qos: 1 });
    await pub.publishAsync("move5/x", "qos0", { qos: 0 });
    const back = await open(b.url, { clientId: "move-5", protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 300 } });
    expect(back.sessionPresent).toBe(true);
    await waitFor(() => back.got.length >= 5, 5000, "the queued messages");
    expect(back.got.map((m) => m.payload)).toEqual(["m1", "m2", "m3", "m4", "m5"]);
    expect(back.got[0]!.packet.properties?.subscriptionIdentifier).toBe(3);
    // The subscription now lives on node b: a message published on node a (and one on node b) reaches it.
    await pub.publishAsync("move5/y", "after", { qos: 1 });
    const local = await connect(b.url, { clientId: "move5-local-pub" });
    await local.publishAsync("move5/z", "on b", { qos: 1 });
    await waitFor(() => back.got.length >= 7, 5000, "the messages after the move");
    expect(back.got.slice(5).map((m) => m.payload).sort()).toEqual(["after", "on b"]);
    await sleep(200);
    expect(back.got.filter((m) => m.payload === "qos0")).toEqual([]);
    expect(back.got).toHaveLength(7); // node a forgot its copy: nothing twice
    await local.endAsync();
    await back.client.endAsync();
  });

  it("3.1.1, from a Bun node to a Deno node, and on to a Node node: Session Present each time, nothing lost or repeated", async () => {
    await leave(b.url, "move-4", "move4/#", 4);
    await pub.publishAsync("move4/x", "one", { qos: 1 });
    const onC = await open(c.url, { clientId: "move-4", protocolVersion: 4, clean: false });
    expect(onC.sessionPresent).toBe(true);
    await waitFor(() => onC.got.length >= 1, 5000, "the first queued message");
    await onC.client.endAsync();
    await pub.publishAsync("move4/x", "two", { qos: 1 });
    const onA = await open(a.url, { clientId: "move-4", protocolVersion: 4, clean: false });
    expect(onA.sessionPresent).toBe(true);
    await waitFor(() => onA.got.length >= 1, 5000, "the second queued message");
    await sleep(200);
    expect(onC.got.map((m) => m.payload)).toEqual(["one"]);
    expect(onA.got.map((m) => m.payload)).toEqual(["two"]);
    await onA.client.endAsync();
  });

  it("takes a session over from a live connection on another node: DISCONNECT 0x8E there, Session Present here", async () => {
    const first = await open(a.url, { clientId: "move-live", protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 300 } });
    await first.client.subscribeAsync("movelive/#", { qos: 1 });
    let reason: number | undefined;
    first.client.on("disconnect", (p) => (reason = p.reasonCode));
    const second = await open(c.url, { clientId: "move-live", protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 300 } });
    expect(second.sessionPresent).toBe(true);
    await waitFor(() => reason !== undefined, 3000, "DISCONNECT on the first node");
    expect(reason).toBe(0x8e);
    await pub.publishAsync("movelive/x", "here", { qos: 1 });
    await waitFor(() => second.got.length >= 1, 5000, "a message on the new node");
    expect(second.got.map((m) => m.payload)).toEqual(["here"]);
    first.client.end(true);
    await second.client.endAsync();
  });

  it("resends an unacknowledged QoS 1 message with DUP and its packet id on the new node", async () => {
    const raw = await RawClient.open(a.port, 5);
    expect(await raw.connect("move-dup", { cleanStart: false, properties: { sessionExpiryInterval: 300 } })).toMatchObject({ reasonCode: 0 });
    raw.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "movedup/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await raw.next("suback");
    await pub.publishAsync("movedup/x", "unacked", { qos: 1 });
    const sent = await raw.next("publish");
    expect(sent.dup).toBe(false);
    raw.close(); // never acknowledged
    await sleep(100);
    const again = await RawClient.open(b.port, 5);
    expect(await again.connect("move-dup", { cleanStart: false, properties: { sessionExpiryInterval: 300 } })).toMatchObject({ reasonCode: 0, sessionPresent: true });
    const resent = await again.next("publish", 5000);
    expect(resent).toMatchObject({ topic: "movedup/x", dup: true, qos: 1, packetId: sent.packetId });
    expect(new TextDecoder().decode(resent.payload)).toBe("unacked");
    again.send({ type: "puback", packetId: resent.packetId!, reasonCode: 0 });
    again.close();
  });

  it("delivers a QoS 2 PUBLISH once when its client sent it to one node, lost the connection before PUBREL, and finishes it on another", async () => {
    const watcher = await connect(b.url, { clientId: "move-q2-watcher" });
    await watcher.subscribeAsync("moveq2/#", { qos: 2 });
    const seen = collect(watcher);
    const raw = await RawClient.open(a.port, 5);
    await raw.connect("move-q2", { cleanStart: false, properties: { sessionExpiryInterval: 300 } });
    const publish = { type: "publish" as const, topic: "moveq2/x", payload: new TextEncoder().encode("exactly once"), qos: 2 as const, retain: false, dup: false, packetId: 11 };
    raw.send(publish);
    await raw.next("pubrec");
    raw.close(); // before PUBREL
    await waitFor(() => seen.length >= 1, 5000, "the message");
    const again = await RawClient.open(c.port, 5);
    expect(await again.connect("move-q2", { cleanStart: false, properties: { sessionExpiryInterval: 300 } })).toMatchObject({ sessionPresent: true });
    again.send({ ...publish, dup: true }); // it cannot know PUBREC came: it sends the PUBLISH again [MQTT-4.3.3-10]
    expect(await again.next("pubrec")).toMatchObject({ packetId: 11 });
    again.send({ type: "pubrel", packetId: 11, reasonCode: 0 });
    expect(await again.next("pubcomp")).toMatchObject({ packetId: 11, reasonCode: 0 });
    await sleep(300);
    expect(seen.map((m) => m.payload)).toEqual(["exactly once"]);
    again.close();
    await watcher.endAsync();
  });

  it("moves a queue larger than the NATS server's max_payload (2.5 MB in 40 messages of 64 KB) in parts, whole and in order", async () => {
    await leave(a.url, "move-big", "movebig/#", 5);
    const chunk = (i: number) => Buffer.alloc(64 * 1024, i);
    for (let i = 0; i < 40; i++) await pub.publishAsync("movebig/x", chunk(i), { qos: 1 });
    const back = await open(c.url, { clientId: "move-big", protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 300 } });
    expect(back.sessionPresent).toBe(true);
    await waitFor(() => back.got.length >= 40, 10_000, "the 40 queued messages");
    expect(back.got.map((m) => Buffer.from(m.packet.payload as Buffer).equals(chunk(back.got.indexOf(m))))).toEqual(Array(40).fill(true));
    await back.client.endAsync();
  });

  it("refuses another user's CONNECT with a session's client id on another node (0x87), and the owner's session stays whole", async () => {
    const owner = { clientId: "move-owned", protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 300 }, username: "alice", password: "a-pass" };
    const { client } = await open(a.url, owner);
    await client.subscribeAsync("moveowned/#", { qos: 1 });
    await client.endAsync();
    await pub.publishAsync("moveowned/x", "for alice", { qos: 1 });
    for (const [url, clean] of [[b.url, false], [c.url, true]] as const) {
      const thief = await open(url, { ...owner, clean, username: "mallory", password: "m-pass" }).then(() => undefined, (e: { code?: number }) => e.code);
      expect(thief, `Clean Start ${clean}`).toBe(0x87);
    }
    const back = await open(c.url, owner);
    expect(back.sessionPresent).toBe(true);
    await waitFor(() => back.got.length >= 1, 5000, "alice's queued message");
    expect(back.got.map((m) => m.payload)).toEqual(["for alice"]);
    await back.client.endAsync();
  });

  it("ends 20 races of two resuming CONNECTs on two nodes for a session held on a third with one owner, and every queued message delivered (again only with DUP)", async () => {
    const race = async (i: number) => {
      const id = `move-race-${i}`;
      await leave(a.url, id, `moverace/${i}`, 5);
      for (let n = 0; n < 3; n++) await pub.publishAsync(`moverace/${i}`, `q${n}`, { qos: 1 });
      const options = { clientId: id, protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 300 }, reconnectPeriod: 0, connectTimeout: 8000 };
      const both = [b, c].map((node) => {
        const client = mqtt.connect(node.url, options);
        const w = { client, got: collect(client), connected: false, closed: false };
        client.on("connect", () => (w.connected = true));
        client.on("close", () => (w.closed = true));
        client.on("error", () => {});
        return w;
      });
      await waitFor(() => both.every((w) => w.closed || w.connected) && both.filter((w) => w.closed).length >= 1, 10_000, `race ${i} to settle`);
      await sleep(300);
      const open = both.filter((w) => w.client.connected);
      expect(open.length, `race ${i}: one connection left`).toBe(1);
      const got = both.flatMap((w) => w.got);
      expect(new Set(got.map((m) => m.payload)), `race ${i}: every queued message delivered`).toEqual(new Set(["q0", "q1", "q2"]));
      // A message given to the connection that lost was resent by the winner only as a duplicate (QoS 1 allows it).
      for (const payload of ["q0", "q1", "q2"]) {
        const copies = got.filter((m) => m.payload === payload);
        expect(copies.slice(1).every((m) => m.packet.dup), `race ${i}: ${payload} again only with DUP`).toBe(true);
      }
      open[0]!.client.end();
    };
    for (let start = 0; start < 20; start += 5) await Promise.all([0, 1, 2, 3, 4].map((k) => race(start + k)));
  }, 60_000);

  it("resumes the sessions of a node killed with SIGKILL on other nodes: at once from their records, and an offline one taken over by a survivor, each with the messages queued for it on the dead node and what was published meanwhile", async () => {
    const d = await startBroker(node("resume-d"), {}, { runtime: "node" });
    // Two sessions offline on node d (one to come back at once, one after a survivor took it over),
    // one connected to it when it dies (3.1.1), and one that ended cleanly.
    await leave(d.url, "dead-offline", "dead/offline", 5);
    await leave(d.url, "dead-quick", "dead/quick", 4);
    // Queued on node d, which dies before their clients come back: the messages stream has them.
    await pub.publishAsync("dead/offline", "queued 1", { qos: 1 });
    await pub.publishAsync("dead/offline", "queued 2", { qos: 2 });
    await pub.publishAsync("dead/quick", "quick 1", { qos: 1 });
    const connected = await open(d.url, { clientId: "dead-connected", protocolVersion: 4, clean: false });
    await connected.client.subscribeAsync("dead/connected", { qos: 1 });
    const brief = await open(d.url, { clientId: "dead-brief", protocolVersion: 5, clean: true });
    await brief.client.subscribeAsync("dead/brief", { qos: 1 });
    await brief.client.endAsync();
    await d.stop("SIGKILL");
    connected.client.end(true);

    // Back at once, before the others take node d for gone: resumed from the record node d left.
    const wasConnected = await open(c.url, { clientId: "dead-connected", protocolVersion: 4, clean: false });
    const ended = await open(a.url, { clientId: "dead-brief", protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 300 } });
    const quick = await open(b.url, { clientId: "dead-quick", protocolVersion: 4, clean: false });
    expect([wasConnected.sessionPresent, ended.sessionPresent, quick.sessionPresent]).toEqual([true, false, true]);
    await waitFor(() => quick.got.length >= 1, 5000, "the message queued on the dead node for the session back at once");
    // Once node d is gone (6 s of silence), a survivor holds the offline session: what is published now waits there.
    let owner: OwnerRecord | undefined;
    for (let i = 0; i < 150 && owner?.adopted !== true; i++) {
      await sleep(100);
      owner = await ownerOf("dead-offline");
    }
    expect(owner?.adopted).toBe(true);
    expect(["resume-a", "resume-b", "resume-c"]).toContain(owner?.node);
    await pub.publishAsync("dead/offline", "while away", { qos: 1 });
    const offline = await open(b.url, { clientId: "dead-offline", protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 300 } });
    expect(offline.sessionPresent).toBe(true);
    await waitFor(() => offline.got.length >= 1, 5000, "the message published while it was away");
    // Their subscriptions live on their new nodes.
    await pub.publishAsync("dead/offline", "to offline", { qos: 1 });
    await pub.publishAsync("dead/connected", "to connected", { qos: 1 });
    await pub.publishAsync("dead/brief", "to nobody", { qos: 1 });
    await waitFor(() => offline.got.length >= 2 && wasConnected.got.length >= 1, 5000, "a message on each resumed subscription");
    await sleep(200);
    expect(offline.got.map((m) => m.payload)).toEqual(["queued 1", "queued 2", "while away", "to offline"]);
    expect(offline.got.map((m) => m.packet.qos)).toEqual([1, 1, 1, 1]);
    expect(offline.got.map((m) => m.packet.properties?.subscriptionIdentifier)).toEqual([3, 3, 3, 3]);
    expect(wasConnected.got.map((m) => m.payload)).toEqual(["to connected"]);
    expect(quick.got.map((m) => m.payload)).toEqual(["quick 1"]);
    expect(ended.got).toEqual([]);
    await Promise.all([offline.client.endAsync(), wasConnected.client.endAsync(), ended.client.endAsync(), quick.client.endAsync()]);
  }, 40_000);

  it("gives a client connected to a node killed with SIGKILL, back on another node, the QoS 1 messages it had not acknowledged and those published while it was away (again at least once)", async () => {
    const e = await startBroker(node("resume-e"), {}, { runtime: "node" });
    const raw = await RawClient.open(e.port, 5);
    expect(await raw.connect("dead-inflight", { cleanStart: false, properties: { sessionExpiryInterval: 300 } })).toMatchObject({ reasonCode: 0 });
    raw.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "deadfl/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await raw.next("suback");
    // One acknowledged, then three the client never acknowledges (in flight on node e when it dies).
    await pub.publishAsync("deadfl/x", "acked", { qos: 1 });
    const first = await raw.next("publish");
    raw.send({ type: "puback", packetId: first.packetId!, reasonCode: 0 });
    // A checkpoint (every 2 s) between the two: the node notes that it had the first, which was acknowledged.
    await sleep(2200);
    for (const text of ["unacked 1", "unacked 2", "unacked 3"]) await pub.publishAsync("deadfl/x", text, { qos: 1 });
    for (let i = 0; i < 3; i++) await raw.next("publish");
    // The next checkpoint says where the session stands; then the node dies with them unacknowledged.
    await sleep(2200);
    await e.stop("SIGKILL");
    raw.close();
    await pub.publishAsync("deadfl/x", "while away", { qos: 1 });
    const again = await RawClient.open(b.port, 5);
    expect(await again.connect("dead-inflight", { cleanStart: false, properties: { sessionExpiryInterval: 300 } })).toMatchObject({ reasonCode: 0, sessionPresent: true });
    const got: string[] = [];
    for (let i = 0; i < 4; i++) {
      const p = await again.next("publish", 5000);
      got.push(new TextDecoder().decode(p.payload));
      again.send({ type: "puback", packetId: p.packetId!, reasonCode: 0 });
    }
    expect(got).toEqual(["unacked 1", "unacked 2", "unacked 3", "while away"]);
    // The one it acknowledged before a checkpoint is not sent again.
    await sleep(300);
    expect(again.received.filter((p) => p.type === "publish")).toEqual([]);
    again.close();
  }, 30_000);

  it("starts a new session on the other node for a Clean Start: Session Present 0 and the old subscription gone everywhere", async () => {
    await leave(a.url, "move-clean", "moveclean/#", 5);
    const fresh = await open(b.url, { clientId: "move-clean", protocolVersion: 5, clean: true, properties: { sessionExpiryInterval: 300 } });
    expect(fresh.sessionPresent).toBe(false);
    await pub.publishAsync("moveclean/x", "not for the new session", { qos: 1 });
    await sleep(300);
    expect(fresh.got).toEqual([]);
    await fresh.client.endAsync();
  });

  it("counts expiry across nodes: a session expired on its node is not resumed, and a queued message whose lifetime ran out is not delivered", async () => {
    const brief = await open(a.url, { clientId: "move-expired", protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 1 } });
    await brief.client.subscribeAsync("moveexp/#", { qos: 1 });
    await brief.client.endAsync();
    await leave(a.url, "move-lifetime", "movelife/#", 5);
    await pub.publishAsync("movelife/x", "short", { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync("movelife/x", "lasting", { qos: 1 });
    await sleep(2500);
    const expired = await open(b.url, { clientId: "move-expired", protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(expired.sessionPresent).toBe(false);
    const kept = await open(b.url, { clientId: "move-lifetime", protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(kept.sessionPresent).toBe(true);
    await waitFor(() => kept.got.length >= 1, 5000, "the lasting message");
    await sleep(200);
    expect(kept.got.map((m) => m.payload)).toEqual(["lasting"]);
    await expired.client.endAsync();
    await kept.client.endAsync();
  });
});
