// Wills of a node that dies (issue 13): the wills in force on a node are kept
// in JetStream KV, and when the node is gone (SIGKILL) a surviving node
// publishes each once, after its delay counted from when the node was last
// heard, unless its client came back on another node first. A real
// nats-server, edgemq nodes on Node and Bun, mqtt.js clients at 3.1.1 and 5.0.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mqtt, { type MqttClient } from "mqtt";
import { Admin } from "../support/admin-api.ts";
import { collect, connect, sleep, waitFor } from "../support/clients.ts";
import { type RunningNats, startNats } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let nats: RunningNats;
let b: RunningBroker;
const node = (id: string) => ["--cluster", nats.url, "--node-id", id, "--sys-interval", "0"];
beforeAll(async () => {
  nats = await startNats();
  b = await startBroker([...node("will-b"), "--admin-port", "0"], {}, { runtime: "bun" });
}, 30_000);
afterAll(async () => {
  await b?.stop();
  await nats?.stop();
});

// A client that holds its socket open and never sends DISCONNECT: what a dead node leaves behind.
function holder(url: string, clientId: string, options: mqtt.IClientOptions): Promise<MqttClient> {
  return connect(url, { clientId, reconnectPeriod: 0, ...options });
}

describe("the wills of a node killed with SIGKILL", () => {
  it("are published once each by a surviving node: at once for no delay, after the delay from when the node was last heard, and never for a client back elsewhere", async () => {
    const a = await startBroker(node("will-a"), {}, { runtime: "node" });
    const watcher = await connect(b.url, { clientId: "watcher", protocolVersion: 5 });
    await watcher.subscribeAsync("gone/#", { qos: 1 });
    const got = collect(watcher);
    const arrived = new Map<string, number>();
    watcher.on("message", (topic) => arrived.set(topic, Date.now()));
    const clients = [
      // 3.1.1: no delay.
      await holder(a.url, "now-311", { protocolVersion: 4, will: { topic: "gone/now-311", payload: Buffer.from("bye 311"), qos: 1, retain: false } }),
      // 5.0 with a delay of 8 s.
      await holder(a.url, "later", { protocolVersion: 5, properties: { sessionExpiryInterval: 60 }, will: { topic: "gone/later", payload: Buffer.from("bye later"), qos: 1, retain: false, properties: { willDelayInterval: 8, userProperties: { why: "delay" } } } }),
      // 5.0 with a delay, that comes back on node B before it passes.
      await holder(a.url, "back", { protocolVersion: 5, properties: { sessionExpiryInterval: 60 }, clean: false, will: { topic: "gone/back", payload: Buffer.from("bye back"), qos: 1, retain: false, properties: { willDelayInterval: 8 } } }),
    ];
    // A client that said goodbye leaves no will behind.
    const polite = await holder(a.url, "polite", { protocolVersion: 5, will: { topic: "gone/polite", payload: Buffer.from("never"), qos: 1, retain: false } });
    await polite.endAsync();
    await sleep(300); // the records are written
    const killed = Date.now();
    await a.stop("SIGKILL");
    for (const c of clients) c.end(true);
    // The client that comes back, on the surviving node, before its delay passes.
    await sleep(1000);
    const back = await connect(b.url, { clientId: "back", protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 } });
    // Gone past its presence deadline (6 s after it was last heard, checked every 2 s).
    await waitFor(() => arrived.has("gone/now-311"), 15_000, "the 3.1.1 client's will from node B");
    expect(arrived.get("gone/now-311")! - killed).toBeGreaterThanOrEqual(4_000);
    await waitFor(() => arrived.has("gone/later"), 15_000, "the delayed will from node B");
    // Its delay (8 s) counts from when node A was last heard, at most 2 s before it was killed.
    expect(arrived.get("gone/later")! - killed).toBeGreaterThanOrEqual(6_000);
    const later = got.find((m) => m.topic === "gone/later")!;
    expect(later.payload).toBe("bye later");
    expect(later.packet.properties?.userProperties).toEqual({ why: "delay" });
    // Long enough for a second copy or the cancelled will to show.
    await sleep(4000);
    expect(got.map((m) => m.topic).sort()).toEqual(["gone/later", "gone/now-311"]);
    await Promise.all([watcher.endAsync(), back.endAsync()]);
  }, 60_000);
});

describe("the will of a tenant broker's client on a node killed with SIGKILL", () => {
  it("is published through that broker on the surviving node, which builds it for the will: a retained will is there for a later subscriber", async () => {
    const admin = new Admin(b);
    await admin.ok("POST", "/namespaces", { name: "wills" });
    await admin.ok("POST", "/namespaces/wills/brokers", { name: "plant", authType: "TOKEN" });
    const a = await startBroker(node("will-tenant"), {}, { runtime: "node" });
    const password = await admin.credential("wills", "plant", "press-1");
    const client = await holder(a.url, "press-1", { username: "x", password, protocolVersion: 5, will: { topic: "presses/1/state", payload: Buffer.from("offline"), qos: 1, retain: true } });
    await sleep(300);
    await a.stop("SIGKILL");
    client.end(true);
    // Past node A's presence deadline (6 s after it was last heard) and the next check (2 s): nobody on B used the broker before.
    await sleep(12_000);
    const reader = await connect(b.url, { clientId: "reader-1", username: "x", password: await admin.credential("wills", "plant", "reader-1"), protocolVersion: 5 });
    const got = collect(reader);
    await reader.subscribeAsync("presses/#", { qos: 1 });
    await waitFor(() => got.length > 0, 3_000, "the retained will on node B");
    expect(got.map((m) => [m.topic, m.payload, m.packet.retain])).toEqual([["presses/1/state", "offline", true]]);
    await reader.endAsync();
  }, 60_000);
});

describe("the wills of a node that stops answering and comes back (frozen with SIGSTOP past its presence deadline)", () => {
  it("are published once: by a surviving node while it is silent, and not again when their clients then drop from it; a will made after it is back goes as usual", async () => {
    const a = await startBroker(node("will-frozen"), {}, { runtime: "node" });
    try {
      await frozenNode(a);
    } finally {
      process.kill(a.process.pid!, "SIGCONT");
      await a.stop();
    }
  }, 60_000);
});

// Freezes node `a` past its presence deadline and lets it go on: what its clients' wills become.
async function frozenNode(a: RunningBroker): Promise<void> {
  const watcher = await connect(b.url, { clientId: "watcher-2", protocolVersion: 5 });
  await watcher.subscribeAsync("gone2/#", { qos: 1 });
  const got = collect(watcher);
  const client = await holder(a.url, "frozen-client", { protocolVersion: 5, will: { topic: "gone2/frozen", payload: Buffer.from("bye"), qos: 1, retain: false } });
  await sleep(300);
  process.kill(a.process.pid!, "SIGSTOP");
  try {
    await waitFor(() => got.some((m) => m.topic === "gone2/frozen"), 15_000, "the frozen node's client's will from node B");
  } finally {
    process.kill(a.process.pid!, "SIGCONT");
  }
  // Its client, connected to it all along, now drops without DISCONNECT: its will was published already.
  await sleep(1000);
  client.stream.destroy();
  // A client that connects once the node is back has its will in force as usual.
  const fresh = await holder(a.url, "fresh-client", { protocolVersion: 5, will: { topic: "gone2/fresh", payload: Buffer.from("bye"), qos: 1, retain: false } });
  await sleep(300);
  fresh.stream.destroy();
  await waitFor(() => got.some((m) => m.topic === "gone2/fresh"), 5_000, "the will of a client of the node once back");
  await sleep(2000);
  expect(got.map((m) => m.topic).sort()).toEqual(["gone2/fresh", "gone2/frozen"]);
  client.end(true);
  fresh.end(true);
  await watcher.endAsync();
}

describe("the wills of nodes cut off from NATS together (the NATS server down for longer than the presence deadline)", () => {
  it("are not taken for a dead node's: none is published for clients still connected, and one that came due meanwhile goes once, when NATS is back", async () => {
    const own = await startNats(["-js"]);
    const nodeOf = (id: string) => ["--cluster", own.url, "--node-id", id, "--sys-interval", "0"];
    const a = await startBroker(nodeOf("cut-a"), {}, { runtime: "node" });
    const other = await startBroker(nodeOf("cut-b"), {}, { runtime: "node" });
    // On node A itself: it sees A's own wills whatever the moment node B is back, and B's if B wrongly took A for dead.
    const watcher = await connect(a.url, { clientId: "watcher-3", protocolVersion: 5 });
    await watcher.subscribeAsync("gone3/#", { qos: 1 });
    const got = collect(watcher);
    const stays = await holder(a.url, "stays", { protocolVersion: 5, will: { topic: "gone3/stays", payload: Buffer.from("no"), qos: 0, retain: false } });
    const drops = await holder(a.url, "drops", { protocolVersion: 5, will: { topic: "gone3/drops", payload: Buffer.from("bye"), qos: 0, retain: false } });
    await sleep(300);
    await own.kill("SIGKILL");
    await sleep(1000);
    drops.stream.destroy(); // its will comes due while node A cannot tell whether the cluster published it
    await sleep(7000);
    const again = await own.restart();
    try {
      await waitFor(() => got.some((m) => m.topic === "gone3/drops"), 15_000, "the will that came due during the outage, once NATS is back");
      // Well past the presence deadline since NATS came back: nobody took node A for dead.
      await sleep(8000);
      expect(got.map((m) => m.topic)).toEqual(["gone3/drops"]);
      // The will still in force goes, once, when its client drops now.
      stays.stream.destroy();
      await waitFor(() => got.some((m) => m.topic === "gone3/stays"), 5_000, "the will of the client that stayed");
      await sleep(1000);
      expect(got.map((m) => m.topic)).toEqual(["gone3/drops", "gone3/stays"]);
    } finally {
      stays.end(true);
      drops.end(true);
      await watcher.endAsync();
      await Promise.all([a.stop(), other.stop()]);
      await again.stop();
    }
  }, 90_000);
});

