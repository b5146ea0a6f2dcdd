// Tenant brokers across nodes: each broker's messages travel under its own
// NATS subjects, so a tenant's messages reach that tenant on the other node
// and nobody else. The namespace and brokers are created once, on node 0's
// admin API (tenancy is the cluster's: tenancy-kv.test.ts), and each client
// holds a credential of the node it connects to.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { Admin } from "../support/admin-api.ts";
import { collect, connect, sleep, waitFor } from "../support/clients.ts";
import { type RunningNats, startNats } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let nats: RunningNats;
let nodes: RunningBroker[];
let admins: Admin[];
beforeAll(async () => {
  nats = await startNats();
  // One after the other: node 1 finds the Admin token node 0 generated in the cluster's tenancy, and generates none.
  nodes = [];
  for (const id of ["t-a", "t-b"]) nodes.push(await startBroker(["--cluster", nats.url, "--node-id", id, "--admin-port", "0", "--sys-interval", "0"]));
  const token = new Admin(nodes[0]!).token;
  admins = nodes.map((n) => new Admin(n, token));
  await admins[0]!.ok("POST", "/namespaces", { name: "acme" });
  await admins[0]!.ok("POST", "/namespaces/acme/brokers", { name: "sensors", authType: "TOKEN" });
  await admins[0]!.ok("POST", "/namespaces/acme/brokers", { name: "billing", authType: "TOKEN" });
  // Node 1 has them moments later.
  for (let i = 0; i < 50 && (await admins[1]!.call("GET", "/namespaces/acme/brokers/billing")).status !== 200; i++) await sleep(20);
}, 30_000);
afterAll(async () => {
  await Promise.all((nodes ?? []).map((n) => n.stop()));
  await nats?.stop();
});

// A client of a tenant broker on node `i`, with a credential that node issued.
async function tenantClient(i: number, broker: string, clientId: string): Promise<MqttClient> {
  const password = await admins[i]!.credential("acme", broker, clientId);
  return connect(nodes[i]!.url, { clientId, username: "x", password });
}

describe("tenant brokers across nodes", () => {
  it("carries a tenant's message to the same tenant broker on another node, and to no other broker there", async () => {
    const tenantSub = await tenantClient(0, "sensors", "ts-sub");
    const otherSub = await tenantClient(0, "billing", "tb-sub");
    const defaultSub = await connect(nodes[0]!.url, { clientId: "td-sub" });
    const got = collect(tenantSub), gotOther = collect(otherSub), gotDefault = collect(defaultSub);
    for (const c of [tenantSub, otherSub, defaultSub]) await c.subscribeAsync("sensors/#", { qos: 1 });
    const pub = await tenantClient(1, "sensors", "ts-pub");
    const anonPub = await connect(nodes[1]!.url, { clientId: "td-pub" });
    // Probes until both brokers' interest is in place on NATS.
    for (let i = 0; i < 300 && (got.length === 0 || gotDefault.length === 0); i++) {
      await pub.publishAsync("sensors/probe", "probe", { qos: 0 });
      await anonPub.publishAsync("sensors/probe", "probe", { qos: 0 });
      await sleep(20);
    }
    await sleep(100);
    for (const g of [got, gotOther, gotDefault]) g.length = 0;
    await pub.publishAsync("sensors/t1", "21.5", { qos: 1 });
    await anonPub.publishAsync("sensors/t1", "from the default broker", { qos: 1 });
    await waitFor(() => got.length >= 1 && gotDefault.length >= 1, 3000, "one message on each broker");
    await sleep(200);
    expect(got.map((m) => m.payload)).toEqual(["21.5"]);
    expect(gotDefault.map((m) => m.payload)).toEqual(["from the default broker"]);
    expect(gotOther).toEqual([]);
    await Promise.all([tenantSub, otherSub, defaultSub, pub, anonPub].map((c) => c.endAsync()));
  });

  it("keeps a tenant broker's retained message for that broker on the other node, and the admin API's clear on one node clears it on both", async () => {
    const pub = await tenantClient(1, "sensors", "tr-pub");
    await pub.publishAsync("cfg/t", "tenant-retained", { qos: 1, retain: true });
    await pub.endAsync();
    // Listed through node 0's admin API once node 0 has followed the stream; never on the other brokers.
    const listed = async (i: number, broker: string) =>
      ((await admins[i]!.ok("GET", `/namespaces/acme/brokers/${broker}/retained`)) as { topic: string }[]).map((m) => m.topic);
    for (let i = 0; i < 50 && (await listed(0, "sensors")).length === 0; i++) await sleep(50);
    expect(await listed(0, "sensors")).toEqual(["cfg/t"]);
    expect(await listed(0, "billing")).toEqual([]);
    const sub = await tenantClient(0, "sensors", "tr-sub");
    const got = collect(sub);
    await sub.subscribeAsync("cfg/#", { qos: 1 });
    await waitFor(() => got.length === 1, 3000, "the retained message on node 0");
    expect(got.map((m) => [m.payload, m.packet.retain])).toEqual([["tenant-retained", true]]);
    await sub.endAsync();
    expect(await admins[0]!.ok("DELETE", "/namespaces/acme/brokers/sensors/retained?topic=cfg/%23")).toEqual({ deleted: 1 });
    for (let i = 0; i < 50 && (await listed(1, "sensors")).length > 0; i++) await sleep(50);
    expect(await listed(1, "sensors")).toEqual([]);
  });
});
