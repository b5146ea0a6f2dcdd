// The operator's ceilings over tenant limits, as a tenant and an operator meet
// them: the server started as a process, limits changed over the admin API with
// a User token, and a client's CONNACK telling the limit that applies.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient } from "../support/clients.ts";
import { Admin } from "../support/admin-api.ts";
import { type RunningBroker, runBrokerExpectingExit, startBroker, writeConfig } from "../support/server.ts";

const MIB = 1024 * 1024;
const HUGE = 268_435_455; // the most MQTT can express, about 256 MiB

describe("the default ceilings", () => {
  let server: RunningBroker;
  let admin: Admin;
  let user: string;
  beforeAll(async () => {
    server = await startBroker(["--admin-port", "0", "--sys-interval", "0"]);
    admin = new Admin(server);
    await admin.ok("POST", "/namespaces", { name: "roof" });
    user = await admin.apiToken("User", ["roof"]);
    await admin.ok("POST", "/namespaces/roof/brokers", { name: "tenant" }, user);
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("refuses a User token's max_message_size of 256 MiB with a 400 naming the limit and the 16 MiB ceiling", async () => {
    const refused = await admin.call("PATCH", "/namespaces/roof/brokers/tenant", { limits: { max_message_size: HUGE } }, user);
    expect(refused.status).toBe(400);
    expect(refused.json.success).toBe(false);
    expect(refused.json.errors[0]!.message).toMatch(/limits\.max_message_size 268435455 is above this server's ceiling for it, 16777216/);
    expect(refused.json.errors[0]!.message).toMatch(/--tenant-ceiling max_message_size=/);
    const created = await admin.call("POST", "/namespaces/roof/brokers", { name: "greedy", limits: { max_topic_levels: 5000 } }, user);
    expect(created.status).toBe(400);
    expect(created.json.errors[0]!.message).toMatch(/limits\.max_topic_levels 5000 is above this server's ceiling for it, 1024/);
    const limits = (await admin.ok("GET", "/namespaces/roof/brokers/tenant", undefined, user)).limits;
    expect(limits.max_message_size).toBe(MIB);
  });

  it("lets a tenant lower a limit, or set it to the ceiling itself", async () => {
    const lowered = await admin.ok("PATCH", "/namespaces/roof/brokers/tenant", { limits: { max_message_size: 16 * MIB, max_topic_levels: 64 } }, user);
    expect(lowered.limits).toMatchObject({ max_message_size: 16 * MIB, max_topic_levels: 64 });
  });

  it("counts the refusals on /metrics by limit", async () => {
    const res = await fetch(`http://127.0.0.1:${server.ports.http}/metrics`, { headers: { authorization: `Bearer ${admin.token}` } });
    const text = await res.text();
    expect(text).toMatch(/edgemq_tenant_ceiling_refusals_total\{limit="max_message_size"\} 1/);
    expect(text).toMatch(/edgemq_tenant_ceiling_refusals_total\{limit="max_topic_levels"\} 1/);
  });
});

describe("ceilings the operator sets", () => {
  it("let a User token raise max_message_size to 256 MiB once the operator raised its ceiling, and clamp it after the ceiling is lowered again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgemq-ceilings-"));
    const token = "ceiling-test-admin-token-0123456789";
    const raised = await startBroker(["--admin-port", "0", "--sys-interval", "0", "--data", dir, "--admin-token", token, "--tenant-ceiling", `max_message_size=${HUGE}`]);
    try {
      const admin = new Admin(raised, token);
      await admin.ok("POST", "/namespaces", { name: "roof" });
      const user = await admin.apiToken("User", ["roof"]);
      await admin.ok("POST", "/namespaces/roof/brokers", { name: "big" }, user);
      const big = await admin.ok("PATCH", "/namespaces/roof/brokers/big", { limits: { max_message_size: HUGE } }, user);
      expect(big.limits.max_message_size).toBe(HUGE);
    } finally {
      await raised.stop();
    }
    // The same data under the default ceiling: the stored value is clamped when the broker is built.
    const lowered = await startBroker(["--admin-port", "0", "--sys-interval", "0", "--data", dir, "--admin-token", token]);
    try {
      const admin = new Admin(lowered, token);
      expect((await admin.ok("GET", "/namespaces/roof/brokers/big")).limits.max_message_size).toBe(16 * MIB);
      const raw = await RawClient.open(lowered.port, 5);
      const ack = await raw.connect("clamped", { password: new TextEncoder().encode(await admin.credential("roof", "big", "clamped")) });
      expect(ack.reasonCode).toBe(0);
      expect(ack.properties?.maximumPacketSize).toBe(16 * MIB);
      raw.close();
    } finally {
      await lowered.stop();
    }
  }, 30_000);

  it("refuse a start whose config file sets a limit above a ceiling, with exit code 2 and the fix", async () => {
    const config = writeConfig({ limits: { maximumPacketSize: 64 * MIB } });
    const { code, output } = await runBrokerExpectingExit(["--port", "0", "--config", config]);
    expect(code).toBe(2);
    expect(output).toMatch(/maximumPacketSize \(67108864: .*\) is above the tenant ceiling for max_message_size, 16777216/);
    expect(output).toMatch(/--tenant-ceiling max_message_size=67108864/);
  });

  it("refuse an unknown limit in --tenant-ceiling, naming the limits", async () => {
    const { code, output } = await runBrokerExpectingExit(["--port", "0", "--tenant-ceiling", "max_bananas=3"]);
    expect(code).toBe(2);
    expect(output).toMatch(/no limit "max_bananas" to put a ceiling on; the limits are max_message_size/);
  });
});
