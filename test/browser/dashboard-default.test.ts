// The default broker (the connections no tenant broker claims) in the
// dashboard, in headless Chromium against a real server: an Admin token for
// every namespace finds it in the broker choosers, lists a plain mqtt.js client
// with its subscriptions and disconnects it (0x98), browses and clears its
// retained messages; other tokens are not offered it.
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admin } from "../support/admin-api.ts";
import { countUntil, launchChromium, SHOTS, signIn, textUntil } from "../support/chromium.ts";
import { connect } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let server: RunningBroker;
let admin: Admin;
let browser: Browser;
const clients: MqttClient[] = [];

beforeAll(async () => {
  server = await startBroker(["--admin-port", "0", "--sys-interval", "0"]);
  admin = new Admin(server);
  await admin.ok("POST", "/namespaces", { name: "acme" });
  await admin.ok("POST", "/namespaces/acme/brokers", { name: "sensors", authType: "TOKEN" });
  browser = await launchChromium();
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  await browser?.close();
  await server?.stop();
});

// A fresh tab signed in with a token, on a page of the nav.
function onPage(token: string, page: string): Promise<Page> {
  return signIn(browser, `http://127.0.0.1:${server.ports.http}/`, token, page);
}

const optionsOf = (tab: Page, select: string) => tab.$$eval(`${select} option`, (os) => os.map((o) => o.getAttribute("value")));

describe("the default broker in the dashboard", () => {
  it("lists a client without a tenant credential, shows its subscriptions, and disconnects it with 0x98", async () => {
    const plain = await connect(server.url, { clientId: "dash-plain-1", reconnectPeriod: 0 });
    clients.push(plain);
    await plain.subscribeAsync("plain/dash/#", { qos: 1 });
    const tab = await onPage(admin.token, "clients");
    await tab.waitForSelector('#clients-broker option[value="default"]', { state: "attached", timeout: 10_000 });
    expect(await optionsOf(tab, "#clients-broker")).toEqual(["acme/sensors", "default"]);
    await tab.selectOption("#clients-broker", "default");
    const row = 'tr[data-client-id="dash-plain-1"]';
    await tab.waitForSelector(row, { timeout: 10_000 });
    await tab.click(`${row} button.details`);
    await tab.waitForSelector('#client-subscriptions tr[data-filter="plain/dash/#"]', { timeout: 10_000 });
    // No credential, so nothing to revoke.
    expect(await tab.isVisible("#client-revoke")).toBe(false);
    await tab.screenshot({ path: join(SHOTS, "clients-default.png"), fullPage: true });
    const disconnected = new Promise<number | undefined>((resolve) => plain.once("disconnect", (p) => resolve(p.reasonCode)));
    await tab.click(`${row} button.disconnect`);
    expect(await disconnected).toBe(0x98);
    await tab.waitForSelector(row, { state: "detached", timeout: 10_000 });
    expect(await admin.ok("GET", "/default/clients?client_id=dash-plain-1")).toEqual([]);
    await tab.context().close();
  }, 60_000);

  it("browses and clears the default broker's retained messages", async () => {
    const plain = await connect(server.url, { clientId: "dash-plain-2" });
    clients.push(plain);
    await plain.publishAsync("plain/state/a", "on", { qos: 1, retain: true });
    await plain.publishAsync("plain/state/b", "off", { qos: 1, retain: true });
    const tab = await onPage(admin.token, "retained");
    await tab.waitForSelector('#retained-broker option[value="default"]', { state: "attached", timeout: 10_000 });
    await tab.selectOption("#retained-broker", "default");
    await tab.fill("#retained-filter", "plain/state/#");
    await tab.click("#retained-browse button[type=submit]");
    await countUntil(tab, "#retained-table tbody tr", 2);
    await tab.click('#retained-table tr[data-topic="plain/state/a"] button.view');
    expect(await textUntil(tab, "#retained-payload", (t) => t !== "")).toBe("on");
    await tab.click('#retained-table tr[data-topic="plain/state/a"] button.clear');
    await textUntil(tab, "#retained-done", (t) => t.startsWith("Cleared 1 retained message"));
    await countUntil(tab, "#retained-table tbody tr", 1);
    expect((await admin.ok("GET", `/default/retained?topic=${encodeURIComponent("plain/state/#")}`)).map((m: { topic: string }) => m.topic)).toEqual(["plain/state/b"]);
    await tab.context().close();
  }, 60_000);

  it("offers the default broker to no User and no Admin scoped to namespaces", async () => {
    for (const token of [await admin.apiToken("User"), await admin.apiToken("Admin", ["acme"])]) {
      const tab = await onPage(token, "clients");
      await tab.waitForSelector('#clients-broker option[value="acme/sensors"]', { state: "attached", timeout: 10_000 });
      expect(await optionsOf(tab, "#clients-broker")).toEqual(["acme/sensors"]);
      await tab.click('nav button[data-tab="retained"]');
      await tab.waitForSelector('#retained-broker option[value="acme/sensors"]', { state: "attached", timeout: 10_000 });
      expect(await optionsOf(tab, "#retained-broker")).toEqual(["acme/sensors"]);
      await tab.context().close();
    }
  }, 60_000);
});
