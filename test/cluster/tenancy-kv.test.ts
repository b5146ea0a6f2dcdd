// Tenancy across nodes (issue 12): namespaces, brokers (keys, limits, presets,
// hooks), revocations and admin API tokens live in a JetStream KV bucket that
// every node watches, so a change made through node A's admin API takes effect
// on node B within a second. A on Node, B on Bun, one nats-server.
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mqtt, { type IConnackPacket } from "mqtt";
import { Admin, claimsOf } from "../support/admin-api.ts";
import { connect, sleep } from "../support/clients.ts";
import { type RunningNats, startNats, startNatsCluster } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let nats: RunningNats;
let a: RunningBroker;
let b: RunningBroker;
let adminA: Admin;
let adminB: Admin;
// Hooks on loopback are allowed, for the on-publish test's receiver.
const nodeArgs = (id: string, url = nats.url) => ["--cluster", url, "--node-id", id, "--admin-port", "0", "--sys-interval", "0", "--hook-allow", "127.0.0.1"];
beforeAll(async () => {
  nats = await startNats();
  a = await startBroker(nodeArgs("kv-a"), {}, { runtime: "node" });
  adminA = new Admin(a);
  // B starts once A has put its generated Admin token in the bucket: B finds it and generates none.
  b = await startBroker(nodeArgs("kv-b"), {}, { runtime: "bun" });
  adminB = new Admin(b, adminA.token);
  await adminA.ok("POST", "/namespaces", { name: "kv" });
}, 40_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await nats?.stop();
});

// Polls `check` until it holds, for at most a second after `since` (the admin API's answer on A); resolves to the time taken.
async function withinASecond(since: number, what: string, check: () => boolean | Promise<boolean>): Promise<number> {
  while (!(await check())) {
    if (Date.now() - since > 1000) throw new Error(`${what}: not within 1 s of the admin API's answer on node A`);
    await sleep(20);
  }
  return Date.now() - since;
}

// The CONNACK a client gets on `node` with a credential: its reason code (0 accepted) and properties.
function connack(node: RunningBroker, clientId: string, password: string): Promise<{ code: number; packet?: IConnackPacket }> {
  const client = mqtt.connect(node.url, { clientId, username: "x", password, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 1000 });
  return new Promise((resolve) => {
    client.once("connect", (packet) => {
      resolve({ code: 0, packet });
      client.end();
    });
    client.once("error", (e) => (client.end(true), resolve({ code: (e as { code?: number }).code ?? -1 })));
    client.once("close", () => resolve({ code: -1 }));
  });
}
const accepted = async (node: RunningBroker, clientId: string, password: string) => (await connack(node, clientId, password)).code === 0;

// A connected client of a tenant broker that records the DISCONNECT it gets.
async function liveClient(node: RunningBroker, broker: string, clientId: string) {
  const password = await adminA.credential("kv", broker, clientId);
  const client = await connect(node.url, { clientId, username: "x", password });
  const got: { reason?: number } = {};
  client.on("disconnect", (p) => (got.reason = p.reasonCode));
  return { client, password, got };
}

describe("tenancy across nodes, in JetStream KV", () => {
  it("lets a broker created through node A's admin API accept clients on node B within a second", async () => {
    await adminA.ok("POST", "/namespaces/kv/brokers", { name: "made", authType: "TOKEN" });
    const answered = Date.now();
    const password = await adminA.credential("kv", "made", "made-1");
    expect(await withinASecond(answered, "a client of the new broker on B", () => accepted(b, "made-1", password))).toBeLessThanOrEqual(1000);
    expect((await adminB.ok("GET", "/namespaces/kv/brokers/made")).id).toBe((await adminA.ok("GET", "/namespaces/kv/brokers/made")).id);
  });

  it("disconnects a revoked credential's holder on node B with 0x98 within a second, refuses it there after, and takes it back", async () => {
    const { client, password, got } = await liveClient(b, "made", "rev-1");
    const jti = claimsOf(password).jti as string;
    await adminA.ok("POST", `/namespaces/kv/brokers/made/revocations?jti=${jti}`);
    await withinASecond(Date.now(), "the DISCONNECT on B", () => got.reason !== undefined);
    expect(got.reason).toBe(0x98);
    expect((await connack(b, "rev-1", password)).code).toBe((await connack(a, "rev-1", password)).code);
    expect((await connack(b, "rev-1", password)).code).not.toBe(0);
    expect(await adminB.ok("GET", "/namespaces/kv/brokers/made/revocations")).toEqual([jti]);
    await adminA.ok("DELETE", `/namespaces/kv/brokers/made/revocations?jti=${jti}`);
    await withinASecond(Date.now(), "the credential taken back on B", () => accepted(b, "rev-1", password));
    client.end(true);
  });

  it("verifies on node B with the key set rotated on node A: a credential signed by the dropped key is refused", async () => {
    const old = await adminA.credential("kv", "made", "rot-old");
    expect(await accepted(b, "rot-old", old)).toBe(true);
    // Twice: the first rotation keeps the old key for verifying, the second drops it.
    await adminA.ok("POST", "/namespaces/kv/brokers/made/keys/rotate");
    await adminA.ok("POST", "/namespaces/kv/brokers/made/keys/rotate");
    const answered = Date.now();
    const fresh = await adminA.credential("kv", "made", "rot-new");
    await withinASecond(answered, "the new key set on B", async () => !(await accepted(b, "rot-old", old)) && (await accepted(b, "rot-new", fresh)));
    expect(await adminB.ok("GET", "/namespaces/kv/brokers/made/publickeys")).toEqual(await adminA.ok("GET", "/namespaces/kv/brokers/made/publickeys"));
  });

  it("applies limits and a preset changed on node A to node B's live broker within a second", async () => {
    const { client, password } = await liveClient(b, "made", "lim-1");
    expect((await client.subscribeAsync("l/a/b/c", { qos: 0 }))[0]!.qos).toBe(0);
    await adminA.ok("PATCH", "/namespaces/kv/brokers/made", { limits: { max_topic_levels: 3 } });
    // The same connected client: SUBACK 0x8F (Topic Filter invalid) once B's broker has the new limit.
    await withinASecond(Date.now(), "the new limit on B's live broker", () => client.subscribeAsync("l/a/b/d", { qos: 0 }).then(() => false, (e: Error) => /Topic Filter invalid/.test(e.message)));
    expect((await connack(b, "lim-1", password)).packet?.properties?.retainAvailable).not.toBe(false);
    await adminA.ok("PATCH", "/namespaces/kv/brokers/made", { preset: "cloudflare" });
    await withinASecond(Date.now(), "the cloudflare preset on B", async () => (await connack(b, "lim-1", password)).packet?.properties?.retainAvailable === false);
    client.end(true);
  });

  it("posts the messages of node B's clients to the on-publish hook set on node A, and B lists the SCRAM users added on A", async () => {
    const posts: string[] = [];
    const receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => (posts.push(body), res.writeHead(200, { "content-type": "application/json" }), res.end(body)));
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    try {
      const { client } = await liveClient(b, "made", "hook-1");
      await adminA.ok("PATCH", "/namespaces/kv/brokers/made", { on_publish: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` } });
      const answered = Date.now();
      // The same connected client publishes until B's broker posts to the hook.
      await withinASecond(answered, "B's broker posting to the hook", async () => {
        await client.publishAsync("hook/x", "via b", { qos: 0 });
        await sleep(30);
        return posts.some((p) => p.includes("hook/x"));
      });
      client.end(true);
    } finally {
      receiver.close();
    }
    await adminA.ok("POST", "/namespaces/kv/brokers/made/scram-users", { username: "alice", password: "wonderland-123" });
    await withinASecond(Date.now(), "the SCRAM user listed on B", async () => JSON.stringify(await adminB.ok("GET", "/namespaces/kv/brokers/made/scram-users")).includes("alice"));
    expect(await adminB.ok("GET", "/namespaces/kv/brokers/made/scram-users")).toEqual(await adminA.ok("GET", "/namespaces/kv/brokers/made/scram-users"));
  });

  it("disconnects a deleted broker's clients on node B with 0x98 and closes it there; a namespace deleted on A goes from B too", async () => {
    await adminA.ok("POST", "/namespaces", { name: "gone" });
    await adminA.ok("POST", "/namespaces/gone/brokers", { name: "soon", authType: "TOKEN" });
    const password = await adminA.credential("gone", "soon", "del-1");
    await withinASecond(Date.now(), "the broker on B", () => accepted(b, "del-1", password));
    const client = await connect(b.url, { clientId: "del-1", username: "x", password });
    let reason: number | undefined;
    client.on("disconnect", (p) => (reason = p.reasonCode));
    await adminA.ok("DELETE", "/namespaces/gone/brokers/soon");
    await withinASecond(Date.now(), "the DISCONNECT on B", () => reason !== undefined);
    expect(reason).toBe(0x98);
    expect(await accepted(b, "del-1", password)).toBe(false);
    expect((await adminB.call("GET", "/namespaces/gone/brokers/soon")).status).toBe(404);
    await adminA.ok("DELETE", "/namespaces/gone");
    await withinASecond(Date.now(), "the namespace gone from B", async () => (await adminB.call("GET", "/namespaces/gone")).status === 404);
    expect((await adminB.ok("GET", "/namespaces")).map((n: { name: string }) => n.name)).toEqual(["kv"]);
  });

  it("makes one broker of two creates of one name on nodes A and B at the same instant: one is refused as a conflict, and the other's credentials work on both nodes", async () => {
    for (let round = 0; round < 10; round++) {
      const name = `race-${round}`;
      const [onA, onB] = await Promise.all([
        adminA.call("POST", "/namespaces/kv/brokers", { name, authType: "TOKEN" }),
        adminB.call("POST", "/namespaces/kv/brokers", { name, authType: "TOKEN" }),
      ]);
      const statuses = [onA.status, onB.status].sort();
      expect(statuses, JSON.stringify([onA.json, onB.json])).toEqual([200, 400]);
      const loser = onA.status === 400 ? onA : onB;
      expect(JSON.stringify(loser.json)).toMatch(/already exists/);
      // The winner's keys are the broker's keys on both nodes: what it issues connects on A and on B.
      const winner = onA.status === 200 ? adminA : adminB;
      const password = await winner.credential("kv", name, `${name}-c`);
      const answered = Date.now();
      await withinASecond(answered, "the winner's credential on A", () => accepted(a, `${name}-c`, password));
      await withinASecond(answered, "the winner's credential on B", () => accepted(b, `${name}-c`, password));
    }
  }, 60_000);

  it("refuses a change to a broker that another node changed in the same instant, instead of undoing that change unseen", async () => {
    await adminA.ok("POST", "/namespaces/kv/brokers", { name: "both", authType: "TOKEN" });
    await withinASecond(Date.now(), "the broker on B", async () => (await adminB.call("GET", "/namespaces/kv/brokers/both")).status === 200);
    let conflicts = 0;
    for (let round = 0; round < 20; round++) {
      const [onA, onB] = await Promise.all([
        adminA.call("PATCH", "/namespaces/kv/brokers/both", { description: `a${round}` }),
        adminB.call("PATCH", "/namespaces/kv/brokers/both", { description: `b${round}` }),
      ]);
      for (const r of [onA, onB]) if (r.status !== 200) (expect(r.status).toBe(400), expect(JSON.stringify(r.json)).toMatch(/changed on another node/), conflicts++);
      // Whatever the outcome, both nodes settle on one description, and it is one that was answered 200.
      const kept = [onA.status === 200 ? `a${round}` : undefined, onB.status === 200 ? `b${round}` : undefined].filter(Boolean);
      expect(kept.length).toBeGreaterThan(0);
      await withinASecond(Date.now(), "one description on both nodes", async () => {
        const [da, db] = await Promise.all([adminA.ok("GET", "/namespaces/kv/brokers/both"), adminB.ok("GET", "/namespaces/kv/brokers/both")]);
        return da.description === db.description && kept.includes(da.description);
      });
    }
    // Two nodes writing at once collide now and then; were the writes not compared, none would be refused.
    expect(conflicts).toBeGreaterThan(0);
  }, 60_000);

  it("lets an admin API token created on node A work on node B within a second, and stops it there once deleted", async () => {
    const { id, value } = await adminA.ok("POST", "/tokens", { name: "viewer across nodes", role: "Viewer", namespaces: "*" });
    await withinASecond(Date.now(), "the token on B", async () => (await adminB.call("GET", "/namespaces", undefined, value)).status === 200);
    await adminA.ok("DELETE", `/tokens/${id}`);
    await withinASecond(Date.now(), "the token refused on B", async () => (await adminB.call("GET", "/namespaces", undefined, value)).status === 401);
  });

  it("loads the cluster's tenancy when a node restarts", async () => {
    const password = await adminA.credential("kv", "made", "restart-1");
    await b.stop();
    b = await startBroker(nodeArgs("kv-b"), {}, { runtime: "bun" });
    adminB = new Admin(b, adminA.token);
    // Asked once, at once: the node read the bucket before it listened.
    expect(await accepted(b, "restart-1", password)).toBe(true);
    expect((await adminB.ok("GET", "/namespaces/kv/brokers/made")).preset).toBe("cloudflare");
  });
});

describe("a single node's tenancy moving into a cluster", () => {
  it("seeds an empty bucket once from the first node's SQLite tenancy, and says so; a node joining later with its own says that is not used", async () => {
    const own = mkdtempSync(join(tmpdir(), "edgemq-kv-seed-"));
    const single = await startBroker(["--data", own, "--admin-port", "0"], {}, { runtime: "node" });
    const api = new Admin(single);
    await api.ok("POST", "/namespaces", { name: "seed" });
    await api.ok("POST", "/namespaces/seed/brokers", { name: "old", authType: "TOKEN" });
    const kept = await api.credential("seed", "old", "seed-kept");
    const revoked = await api.credential("seed", "old", "seed-revoked");
    await api.ok("POST", `/namespaces/seed/brokers/old/revocations?jti=${claimsOf(revoked).jti}`);
    await single.stop();
    const other = mkdtempSync(join(tmpdir(), "edgemq-kv-other-"));
    const lone = await startBroker(["--data", other, "--admin-port", "0"], {}, { runtime: "node" });
    await lone.stop();

    const fresh = await startNats();
    const nodes: RunningBroker[] = [];
    try {
      nodes.push(await startBroker(["--data", own, ...nodeArgs("seed-a", fresh.url)], {}, { runtime: "node" }));
      expect(nodes[0]!.output()).toMatch(/cluster: the cluster's tenancy \(KV bucket EDGEMQ_TENANCY\) was empty: seeded it from this node's sqlite store \(1 namespace, 1 broker, 1 revocation, 1 API token\)/);
      nodes.push(await startBroker(nodeArgs("seed-b", fresh.url), {}, { runtime: "bun" }));
      // The other node has the seeded broker, its keys and its revocation, and the single node's Admin token works there.
      expect(await accepted(nodes[1]!, "seed-kept", kept)).toBe(true);
      expect(await accepted(nodes[1]!, "seed-revoked", revoked)).toBe(false);
      expect(await new Admin(nodes[1]!, api.token).ok("GET", "/namespaces/seed/brokers/old/revocations")).toEqual([claimsOf(revoked).jti]);
      nodes.push(await startBroker(["--data", other, ...nodeArgs("seed-c", fresh.url)], {}, { runtime: "node" }));
      expect(nodes[2]!.output()).toMatch(/cluster: this node's own sqlite tenancy \(1 API token\) is not used while clustered: the cluster's \(KV bucket EDGEMQ_TENANCY\) is/);
      expect(nodes[2]!.output()).not.toMatch(/seeded/);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
      await fresh.stop();
    }
  }, 40_000);
});

describe("a node whose NATS server dies", () => {
  it("gets the tenancy changes made meanwhile once its NATS client has moved to another server of the NATS cluster", async () => {
    const servers = await startNatsCluster(3);
    const nodes: RunningBroker[] = [];
    try {
      nodes.push(await startBroker(nodeArgs("die-a", servers[0]!.url), {}, { runtime: "node" }));
      nodes.push(await startBroker(nodeArgs("die-b", servers[2]!.url), {}, { runtime: "bun" }));
      const [apiA, apiB] = [new Admin(nodes[0]!), new Admin(nodes[1]!, new Admin(nodes[0]!).token)];
      await apiA.ok("POST", "/namespaces", { name: "die" });
      await withinASecond(Date.now(), "the namespace on B", async () => (await apiB.call("GET", "/namespaces/die")).status === 200);
      await servers[2]!.stop();
      // The bucket has three replicas: two servers still take the change, once JetStream has chosen new
      // leaders for what the dead server led; until then the API says 503 and "try again", which a user does.
      const until = Date.now() + 15_000;
      for (;;) {
        const { status, json } = await apiA.call("POST", "/namespaces/die/brokers", { name: "after", authType: "TOKEN" });
        if (status === 200) break;
        expect(status, JSON.stringify(json)).toBe(503);
        if (Date.now() > until) throw new Error(`the change was refused for 15 s after the NATS server died: ${JSON.stringify(json)}`);
        await sleep(200);
      }
      while ((await apiB.call("GET", "/namespaces/die/brokers/after")).status !== 200) {
        if (Date.now() > until) throw new Error(`node B never saw the broker made while its NATS server was down; it printed:\n${nodes[1]!.output()}`);
        await sleep(100);
      }
      const password = await apiA.credential("die", "after", "die-1");
      expect(await accepted(nodes[1]!, "die-1", password)).toBe(true);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
      await Promise.all(servers.map((s) => s.stop()));
    }
  }, 60_000);
});

describe("a tenancy change while NATS is unreachable", () => {
  it("is refused with 503 and a message naming NATS, and nothing is changed", async () => {
    const alone = await startNats();
    let node: RunningBroker | undefined;
    try {
      node = await startBroker(nodeArgs("away-kv", alone.url), {}, { runtime: "node" });
      const api = new Admin(node);
      await alone.stop();
      const answer = await api.call("POST", "/namespaces", { name: "never" });
      expect(answer.status).toBe(503);
      expect(JSON.stringify(answer.json)).toMatch(/did not take the change.*check that the NATS servers are reachable/);
      expect((await api.call("GET", "/namespaces/never")).status).toBe(404);
    } finally {
      await node?.stop();
    }
  }, 30_000);
});
