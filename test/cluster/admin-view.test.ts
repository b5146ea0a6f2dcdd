// The admin API and the CLI across nodes (issue 12): either node's API lists
// the clients and sessions of the whole cluster, each with the node it is on,
// and disconnects a client or ends a session on the node that holds it.
// Two nodes on two runtimes, one real nats-server, real mqtt.js clients. The
// NATS server takes messages of at most 4 KiB, so that a node's answer with a
// dozen clients has to travel in parts.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { Admin, documentedAnswer } from "../support/admin-api.ts";
import { runCli } from "../support/cli.ts";
import { connect, waitFor } from "../support/clients.ts";
import { type RunningNats, startNats } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

const NODES = ["av-a", "av-b"];
const B = "/namespaces/acme/brokers/sensors";

let nats: RunningNats;
let nodes: RunningBroker[];
let admins: Admin[];
beforeAll(async () => {
  const config = join(mkdtempSync(join(tmpdir(), "edgemq-nats-conf-")), "nats.conf");
  writeFileSync(config, "max_payload: 4096\n");
  nats = await startNats(["-c", config]);
  // One after the other: the second finds the first's generated Admin token in the cluster's tenancy and makes none.
  nodes = [];
  for (const [i, id] of NODES.entries()) {
    nodes.push(await startBroker(["--cluster", nats.url, "--node-id", id, "--admin-port", "0", "--sys-interval", "0"], {}, { runtime: i === 0 ? "node" : "deno" }));
  }
  const token = new Admin(nodes[0]!).token;
  admins = nodes.map((n) => new Admin(n, token));
  // The tenancy is the cluster's: made once, on the first node, and seen on the others.
  await admins[0]!.ok("POST", "/namespaces", { name: "acme" });
  await admins[0]!.ok("POST", "/namespaces/acme/brokers", { name: "sensors", authType: "TOKEN" });
  for (const admin of admins.slice(1)) {
    const until = Date.now() + 2000;
    while ((await admin.call("GET", "/namespaces/acme/brokers/sensors")).status !== 200) {
      if (Date.now() > until) throw new Error("the broker made on the first node did not reach the others within 2 s");
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}, 60_000);
afterAll(async () => {
  await Promise.all((nodes ?? []).map((n) => n.stop()));
  await nats?.stop();
});

// A client of acme/sensors on node `i`, with a credential that node issued.
async function client(i: number, clientId: string, options: Record<string, unknown> = {}): Promise<MqttClient> {
  const password = await admins[i]!.credential("acme", "sensors", clientId);
  return connect(nodes[i]!.url, { clientId, username: "x", password, protocolVersion: 5, ...options });
}

const pairs = (items: { client_id: string; node: string }[]) => items.map((c) => [c.client_id, c.node]);

describe("the admin API across nodes", () => {
  let here: MqttClient, there: MqttClient;
  beforeAll(async () => {
    here = await client(0, "av-1");
    await here.subscribeAsync(["sensors/+", "other/#"], { qos: 0 });
    there = await client(1, "av-2");
    // An offline session kept on node B.
    const kept = await client(1, "av-3", { clean: false, properties: { sessionExpiryInterval: 300 } });
    await kept.subscribeAsync("sensors/#", { qos: 1 });
    await kept.endAsync();
  }, 30_000);
  afterAll(async () => {
    await Promise.all([here?.endAsync(), there?.endAsync()]);
  });

  it("lists the clients of every node on either node, each with its node, as the OpenAPI document describes them", async () => {
    for (const admin of admins) {
      const answer = await admin.call("GET", `${B}/clients`);
      expect(answer.status).toBe(200);
      expect(pairs(answer.json.result)).toEqual([["av-1", "av-a"], ["av-2", "av-b"]]);
      expect(answer.json.result_info).toMatchObject({ count: 2, total_count: 2 });
      const doc = await (await fetch(`http://127.0.0.1:${nodes[0]!.ports.http}/openapi.json`)).json() as Record<string, any>;
      const schema = documentedAnswer(doc, "GET", "/client/v4/accounts/{account_id}/pubsub/namespaces/{namespace}/brokers/{broker}/clients", 200);
      expect(schema.safeParse(answer.json).success).toBe(true);
    }
  });

  it("pages and filters after gathering every node's items", async () => {
    const second = await admins[0]!.call("GET", `${B}/clients?per_page=1&page=2`);
    expect(pairs(second.json.result)).toEqual([["av-2", "av-b"]]);
    expect(second.json.result_info).toEqual({ page: 2, per_page: 1, count: 1, total_count: 2, total_pages: 2 });
    expect(pairs(await admins[0]!.ok("GET", `${B}/clients?client_id=av-2`))).toEqual([["av-2", "av-b"]]);
  });

  it("lists every node's sessions, connected and offline, and subscriptions, with their node", async () => {
    for (const admin of admins) {
      const sessions = await admin.ok("GET", `${B}/sessions`);
      expect(sessions.map((s: any) => [s.client_id, s.node, s.connected])).toEqual([["av-1", "av-a", true], ["av-2", "av-b", true], ["av-3", "av-b", false]]);
      expect(sessions[2].topic_filters).toEqual(["sensors/#"]);
      expect(pairs(await admin.ok("GET", `${B}/sessions?connected=false`))).toEqual([["av-3", "av-b"]]);
      const subs = await admin.ok("GET", `${B}/subscriptions?topic=sensors/room-1`);
      expect(subs.map((s: any) => [s.client_id, s.topic_filter, s.node])).toEqual([["av-1", "sensors/+", "av-a"], ["av-3", "sensors/#", "av-b"]]);
    }
  });

  it("shows a NODE column in the CLI's clients, sessions and subscriptions tables", async () => {
    const env = { EDGEMQ_API_URL: `http://127.0.0.1:${nodes[0]!.ports.http}`, EDGEMQ_API_TOKEN: admins[0]!.token };
    const clients = await runCli(["broker", "clients", "sensors", "--namespace", "acme"], env);
    expect(clients.stderr).toBe("");
    const lines = clients.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^CLIENT ID\s+NODE\s+USERNAME/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([["av-1", "av-a"], ["av-2", "av-b"]]);
    const sessions = await runCli(["broker", "sessions", "sensors", "--namespace", "acme"], env);
    expect(sessions.stdout).toMatch(/^CLIENT ID\s+NODE\s+CONNECTED/);
    expect(sessions.stdout).toMatch(/\nav-3\s+av-b\s+no\s/);
    const subs = await runCli(["broker", "subscriptions", "sensors", "--namespace", "acme"], env);
    expect(subs.stdout).toMatch(/^CLIENT ID\s+NODE\s+TOPIC FILTER/);
    expect(subs.stdout).toMatch(/\nav-3\s+av-b\s+sensors\/#\s/);
  });

  it("disconnects a client and ends a session that another node holds, and says 404 for one no node has", async () => {
    let reason: number | undefined;
    there.on("disconnect", (packet) => (reason = packet.reasonCode));
    const result = await admins[0]!.ok("DELETE", `${B}/clients/av-2`);
    expect(result).toEqual({ client_id: "av-2", reason_code: 0x98, session: "kept" });
    await waitFor(() => reason === 0x98, 3000, "DISCONNECT 0x98 at av-2 on node B");
    expect(await admins[0]!.ok("DELETE", `${B}/sessions/av-3`)).toEqual({ client_id: "av-3", was_connected: false, session: "discarded" });
    expect(pairs(await admins[1]!.ok("GET", `${B}/sessions?connected=false`))).toEqual([]);
    const missing = await admins[0]!.call("DELETE", `${B}/clients/av-nobody`);
    expect(missing.status).toBe(404);
    expect(missing.json.errors[0]!.message).toBe('no client "av-nobody" is connected to broker "sensors"');
    expect((await admins[1]!.call("DELETE", `${B}/sessions/av-nobody`)).status).toBe(404);
  });

  it("gathers a node's answer that is larger than one NATS message, in parts", async () => {
    const many = await Promise.all(Array.from({ length: 12 }, (_, i) => client(1, `av-many-${String(i).padStart(2, "0")}`)));
    try {
      const listed = await admins[0]!.ok("GET", `${B}/clients`);
      const fromB = listed.filter((c: any) => c.client_id.startsWith("av-many-"));
      expect(fromB.map((c: any) => c.client_id)).toEqual(many.map((_, i) => `av-many-${String(i).padStart(2, "0")}`));
      expect(fromB.every((c: any) => c.node === "av-b")).toBe(true);
      expect(JSON.stringify(fromB).length).toBeGreaterThan(4096);
    } finally {
      await Promise.all(many.map((c) => c.endAsync()));
    }
  });
});
