// One owner per client id across nodes (issue 13, first step): a CONNECT on
// one node takes the client id over from another (DISCONNECT 0x8E), two nodes
// racing for one id end with one owner, a clean end lets the id go, and tenant
// brokers' ids are their own. A real nats-server, two edgemq nodes on
// different runtimes (Node, Bun), real mqtt.js clients at 3.1.1 and 5.0.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import mqtt from "mqtt";
import { type KV, Kvm } from "@nats-io/kv";
import { connect as natsConnect, type NatsConnection } from "@nats-io/transport-node";
import { type OwnerRecord, sessionKey, sessionsBucketName } from "@edgemq/cluster-nats";
import { Admin } from "../support/admin-api.ts";
import { collect, connect, sleep, waitFor } from "../support/clients.ts";
import { type RunningNats, startNats } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

const RACES = 100;
const AT_ONCE = 10;

let nats: RunningNats;
let a: RunningBroker;
let b: RunningBroker;
let admin: Admin;
let nc: NatsConnection;
let kv: KV;
beforeAll(async () => {
  nats = await startNats();
  // One after the other: node b finds the Admin token node a generated in the cluster's tenancy.
  a = await startBroker(["--cluster", nats.url, "--node-id", "own-a", "--admin-port", "0", "--sys-interval", "0"], {}, { runtime: "node" });
  b = await startBroker(["--cluster", nats.url, "--node-id", "own-b", "--sys-interval", "0"], {}, { runtime: "bun" });
  admin = new Admin(a);
  nc = await natsConnect({ servers: nats.url });
  kv = await new Kvm(nc).open(sessionsBucketName("edgemq"));
}, 30_000);
afterAll(async () => {
  await nc?.close();
  await Promise.all([a?.stop(), b?.stop()]);
  await nats?.stop();
});

// The node the sessions bucket names for a client id of `broker`, or undefined when none does.
async function ownerOf(clientId: string, broker = "default"): Promise<OwnerRecord | undefined> {
  const entry = await kv.get(sessionKey(broker, clientId));
  return entry === null || entry.operation !== "PUT" ? undefined : entry.json<OwnerRecord>();
}

// What became of one mqtt.js client: CONNACK accepted, DISCONNECT's reason, CONNACK refused, closed.
interface Watched { client: MqttClient; connected: boolean; disconnectReason?: number; refusedCode?: number; closed: boolean }
function watch(url: string, clientId: string, protocolVersion: 4 | 5): Watched {
  const client = mqtt.connect(url, { clientId, protocolVersion, reconnectPeriod: 0, connectTimeout: 5000 });
  const w: Watched = { client, connected: false, closed: false };
  client.on("connect", () => (w.connected = true));
  client.on("disconnect", (p) => (w.disconnectReason = p.reasonCode));
  client.on("error", (e) => (w.refusedCode = (e as { code?: number }).code));
  client.on("close", () => (w.closed = true));
  return w;
}

describe("one owner per client id across nodes", () => {
  it("takes a 5.0 client's id over from another node: the old connection gets DISCONNECT 0x8E and the bucket names the new node", async () => {
    const old = watch(a.url, "take-5", 5);
    await waitFor(() => old.connected, 5000, "the first connection");
    expect((await ownerOf("take-5"))?.node).toBe("own-a");
    const next = await connect(b.url, { clientId: "take-5" });
    await waitFor(() => old.closed, 3000, "the old connection to close");
    expect(old.disconnectReason).toBe(0x8e);
    const owner = await ownerOf("take-5");
    expect(owner?.node).toBe("own-b");
    expect(owner?.takeover).toBe(true);
    await sleep(200);
    expect(next.connected).toBe(true);
    await next.endAsync();
  });

  it("takes over a client id too long for a NATS subject (its key is a hash) like any other", async () => {
    const id = "long-".repeat(2000);
    const old = watch(a.url, id, 5);
    await waitFor(() => old.connected, 5000, "the first connection");
    const next = await connect(b.url, { clientId: id });
    await waitFor(() => old.closed, 3000, "the old connection to close");
    expect(old.disconnectReason).toBe(0x8e);
    expect((await ownerOf(id))?.node).toBe("own-b");
    await next.endAsync();
  });

  it("takes a 3.1.1 client's id over from another node, both ways: the old connection is closed", async () => {
    const old = watch(b.url, "take-4", 4);
    await waitFor(() => old.connected, 5000, "the first connection");
    const next = watch(a.url, "take-4", 4);
    await waitFor(() => old.closed && next.connected, 3000, "the takeover on node a");
    expect((await ownerOf("take-4"))?.node).toBe("own-a");
    // Back to node b after the damping second.
    const again = watch(b.url, "take-4", 4);
    await waitFor(() => next.closed && again.connected, 5000, "the takeover on node b");
    expect((await ownerOf("take-4"))?.node).toBe("own-b");
    await sleep(200);
    expect(again.client.connected).toBe(true);
    again.client.end();
  });

  it(`ends ${RACES} races of two CONNECTs with one client id on two nodes at once with exactly one owner, the other told 0x8E or refused, and a later message delivered once`, async () => {
    const pub = await connect(a.url, { clientId: "race-pub" });
    const race = async (i: number) => {
      const id = `race-${i}`;
      const version = i % 2 === 0 ? 5 : 4;
      const both = [watch(a.url, id, version), watch(b.url, id, version)];
      const got = both.map((w) => collect(w.client));
      for (const w of both) w.client.on("connect", () => void w.client.subscribe(`race/${i}`, { qos: 1 }));
      await waitFor(() => both.every((w) => w.closed || w.connected) && both.filter((w) => w.closed).length === 1, 8000, `race ${i} to settle`);
      await sleep(100);
      const [winner, loser] = both[0]!.closed ? [both[1]!, both[0]!] : [both[0]!, both[1]!];
      expect(winner.client.connected, `race ${i}: one connection left`).toBe(true);
      expect(loser.closed, `race ${i}: the other closed`).toBe(true);
      // 5.0: told why (3.1.1 has no DISCONNECT from the server, nor a code for this refusal but 3).
      if (version === 5) expect(loser.disconnectReason === 0x8e || loser.refusedCode === 0x89, `race ${i}: the loser got 0x8E or a refusal`).toBe(true);
      expect((await ownerOf(id))?.node, `race ${i}: the bucket names the winner's node`).toBe(winner === both[0] ? "own-a" : "own-b");
      // Once the winner's interest has crossed the nodes (probes), one message: delivered once.
      for (let n = 0; n < 300 && !got.some((g) => g.some((m) => m.payload === "probe")); n++) {
        await pub.publishAsync(`race/${i}`, "probe", { qos: 0 });
        await sleep(20);
      }
      await pub.publishAsync(`race/${i}`, "once", { qos: 1 });
      await waitFor(() => got.flat().some((m) => m.payload === "once"), 3000, `race ${i}'s message`);
      await sleep(100);
      expect(got.flat().filter((m) => m.payload === "once").length, `race ${i}: delivered once`).toBe(1);
      winner.client.end();
    };
    for (let start = 0; start < RACES; start += AT_ONCE) {
      await Promise.all(Array.from({ length: Math.min(AT_ONCE, RACES - start) }, (_, k) => race(start + k)));
    }
    await pub.endAsync();
  }, 50_000);

  it("damps two clients that share one id on two nodes and reconnect at once: at most about one takeover a second", async () => {
    const connects: number[] = [];
    const both = [a, b].map((node) => {
      const client = mqtt.connect(node.url, { clientId: "flapping", protocolVersion: 5, reconnectPeriod: 20, connectTimeout: 5000 });
      client.on("connect", () => connects.push(Date.now()));
      return client;
    });
    await sleep(3000);
    for (const c of both) c.end(true);
    // Undamped, each would take the id back every few tens of milliseconds (dozens of connects in 3 s).
    expect(connects.length).toBeGreaterThanOrEqual(2);
    expect(connects.length).toBeLessThanOrEqual(6);
  });

  it("lets another node claim a client id after a clean disconnect without fencing anyone", async () => {
    const first = await connect(a.url, { clientId: "released" });
    expect((await ownerOf("released"))?.node).toBe("own-a");
    await first.endAsync();
    for (let n = 0; n < 100 && (await ownerOf("released")) !== undefined; n++) await sleep(20);
    expect(await ownerOf("released")).toBeUndefined();
    const second = await connect(b.url, { clientId: "released" });
    const owner = await ownerOf("released");
    expect(owner?.node).toBe("own-b");
    // Claimed from nobody: no node was asked to fence.
    expect(owner?.takeover).toBe(false);
    await second.endAsync();
  });

  it("keeps a tenant broker's client ids apart from the default broker's", async () => {
    await admin.ok("POST", "/namespaces", { name: "acme" });
    await admin.ok("POST", "/namespaces/acme/brokers", { name: "sensors", authType: "TOKEN" });
    const password = await admin.credential("acme", "sensors", "same-id");
    const tenant = await connect(a.url, { clientId: "same-id", username: "x", password });
    const plain = watch(b.url, "same-id", 5);
    await waitFor(() => plain.connected, 5000, "the default broker's client");
    await sleep(300);
    expect(tenant.connected).toBe(true);
    expect(plain.closed).toBe(false);
    expect((await ownerOf("same-id", "sensors.acme"))?.node).toBe("own-a");
    expect((await ownerOf("same-id"))?.node).toBe("own-b");
    await tenant.endAsync();
    plain.client.end();
  });

  // Last: it stops the NATS server.
  it("accepts a CONNECT while NATS is away, says so once, and claims the client id once NATS is back", async () => {
    await nats.kill();
    await waitFor(() => a.output().includes("lost the NATS server"), 5000, "node a to notice");
    const client = await connect(a.url, { clientId: "while-away" });
    await waitFor(() => a.output().includes("without a cluster-wide claim"), 3000, "the log line");
    nats = await nats.restart();
    let owner: OwnerRecord | undefined;
    for (let n = 0; n < 100 && owner === undefined; n++) {
      await sleep(100);
      owner = await ownerOf("while-away").catch(() => undefined);
    }
    expect(owner?.node).toBe("own-a");
    expect(client.connected).toBe(true);
    await client.endAsync();
  }, 20_000);
});
