// The dashboard of a clustered node (--cluster): GET /stats names the node,
// its NATS server and the nodes seen, to a token that sees the whole server,
// and the overview shows them in headless Chromium.
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admin } from "../support/admin-api.ts";
import { launchChromium, SHOTS, textUntil } from "../support/chromium.ts";
import { connect } from "../support/clients.ts";
import { type RunningNats, startNats } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let nats: RunningNats;
let first: RunningBroker;
let second: RunningBroker;
let browser: Browser;

beforeAll(async () => {
  nats = await startNats();
  first = await startBroker(["--cluster", nats.url, "--node-id", "dash-a", "--admin-port", "0", "--sys-interval", "0"]);
  // Started second, so its start-up roll call finds the first.
  second = await startBroker(["--cluster", nats.url, "--node-id", "dash-b", "--admin-port", "0", "--sys-interval", "0"]);
  browser = await launchChromium();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([first?.stop(), second?.stop()]);
  await nats?.stop();
});

async function stats(node: RunningBroker, token: string): Promise<{ cluster: unknown }> {
  const res = await fetch(`http://127.0.0.1:${node.ports.http}/stats`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return await res.json() as { cluster: unknown };
}

describe("a clustered node's dashboard", () => {
  it("answers /stats with the node id, its NATS server and the nodes seen, and null to a namespace-scoped token", async () => {
    // The cluster's tenancy is shared: the first node's generated Admin token is the second's too.
    const admin = new Admin(second, new Admin(first).token);
    expect((await stats(second, admin.token)).cluster).toEqual({ node_id: "dash-b", connected: true, nats_server: `127.0.0.1:${nats.port}`, nodes_seen: 2 });
    // The first node started alone; it counts the second once it hears its presence (every 2 s).
    const until = Date.now() + 5000;
    while (((await stats(first, admin.token)).cluster as { nodes_seen: number }).nodes_seen !== 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect((await stats(first, admin.token)).cluster).toMatchObject({ node_id: "dash-a", connected: true, nodes_seen: 2 });
    expect((await stats(second, await admin.apiToken("Admin", ["acme"]))).cluster).toBeNull();
  });

  it("shows the cluster on the overview", async () => {
    const tab = await (await browser.newContext()).newPage();
    await tab.goto(`http://127.0.0.1:${second.ports.http}/`);
    await tab.fill("#token", new Admin(first).token);
    await tab.press("#token", "Enter");
    const line = await textUntil(tab, "#cluster", (t) => t !== "");
    expect(line).toBe(`Cluster: node dash-b, connected to NATS at 127.0.0.1:${nats.port}; 2 nodes seen.`);
    await tab.screenshot({ path: join(SHOTS, "overview-cluster.png"), fullPage: true });
    await tab.context().close();
  });

  it("lists a tenant's clients of every node on the clients page, each with the node it is on and its keep alive", async () => {
    const admin = new Admin(first);
    await admin.ok("POST", "/namespaces", { name: "dashc" });
    await admin.ok("POST", "/namespaces/dashc/brokers", { name: "plant", authType: "TOKEN" });
    const password = await admin.credential("dashc", "plant", "dash-on-a");
    const device = await connect(first.url, { clientId: "dash-on-a", username: "x", password, keepalive: 45, reconnectPeriod: 0 });
    try {
      const tab = await (await browser.newContext()).newPage();
      await tab.goto(`http://127.0.0.1:${second.ports.http}/`);
      await tab.fill("#token", admin.token);
      await tab.press("#token", "Enter");
      await tab.waitForSelector("#app", { state: "visible", timeout: 10_000 });
      await tab.click('nav button[data-tab="clients"]');
      await tab.waitForSelector('#clients-broker option[value="dashc/plant"]', { state: "attached", timeout: 10_000 });
      await tab.selectOption("#clients-broker", "dashc/plant");
      const row = 'tr[data-client-id="dash-on-a"]';
      await tab.waitForSelector(row, { timeout: 10_000 });
      const cells = await tab.$$eval(`${row} td`, (tds) => tds.map((td) => td.textContent));
      expect(cells[0]).toBe("dash-on-a");
      expect(cells).toContain("45 s");
      expect(cells).toContain("dash-a");
      expect(await tab.isVisible("#clients-table th.node")).toBe(true);
      await tab.screenshot({ path: join(SHOTS, "clients-cluster.png"), fullPage: true });
      await tab.context().close();
    } finally {
      device.end(true);
    }
  }, 60_000);
});
