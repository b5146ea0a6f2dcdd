// The web dashboard in headless Chromium against a real server: sign in with
// an admin API token, watch the overview move while an mqtt.js client works,
// find the client in the list and disconnect it (the client gets 0x98), see its
// details and offline sessions, end a session and revoke a credential; a
// Viewer is offered no disconnect, and a wrong token is refused with a clear error.
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admin, claimsOf } from "../support/admin-api.ts";
import { confirmAsked, launchChromium, SHOTS, signIn, textUntil } from "../support/chromium.ts";
import { connect } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

// Screenshots of each page, kept as test artifacts (test-results/ is not committed).

let server: RunningBroker;
let admin: Admin;
let root: string;
let browser: Browser;
const clients: MqttClient[] = [];

beforeAll(async () => {
  server = await startBroker(["--admin-port", "0", "--sys-interval", "0"]);
  admin = new Admin(server);
  root = `http://127.0.0.1:${server.ports.http}/`;
  await admin.ok("POST", "/namespaces", { name: "acme" });
  await admin.ok("POST", "/namespaces/acme/brokers", { name: "sensors", authType: "TOKEN" });
  browser = await launchChromium();
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  await browser?.close();
  await server?.stop();
});

// A fresh tab (its own sessionStorage) signed in with a token; resolves once the overview shows figures.
async function signedIn(token: string): Promise<Page> {
  const tab = await signIn(browser, root, token);
  await textUntil(tab, "#card-connections", (t) => t !== "–");
  return tab;
}

// A tenant client the dashboard can list, with a credential of its own.
async function tenantClient(clientId: string): Promise<MqttClient> {
  const c = await connect(server.url, { clientId, username: "x", password: await admin.credential("acme", "sensors", clientId) });
  clients.push(c);
  return c;
}

async function clientsTab(tab: Page, search: string): Promise<void> {
  await tab.click('nav button[data-tab="clients"]');
  await tab.waitForSelector('#clients-broker option[value="acme/sensors"]', { state: "attached", timeout: 10_000 });
  await tab.fill("#clients-search", search);
}

describe("the dashboard in headless Chromium", () => {
  it("refuses a wrong token with a clear 401 message and keeps the sign-in form", async () => {
    const tab = await (await browser.newContext()).newPage();
    await tab.goto(root);
    await tab.fill("#token", "emq_not-a-token-of-this-server");
    await tab.click("#sign-in button[type=submit]");
    await tab.waitForSelector("#sign-in-error", { state: "visible", timeout: 10_000 });
    expect(await tab.textContent("#sign-in-error")).toContain("does not know this token (401)");
    expect(await tab.isVisible("#app")).toBe(false);
    expect(await tab.evaluate("sessionStorage.length")).toBe(0);
    await tab.screenshot({ path: join(SHOTS, "sign-in-refused.png") });
    await tab.context().close();
  });

  it("tells a user refused for too many failed tokens (429) how long to wait", async () => {
    // Ten failures from this address, then the page's: failures past ten in 10 s are answered 429.
    for (let i = 0; i < 10; i++) await (await fetch(`${root}stats`, { headers: { authorization: "Bearer emq_wrong" } })).arrayBuffer();
    const tab = await (await browser.newContext()).newPage();
    await tab.goto(root);
    await tab.fill("#token", "emq_still-wrong");
    await tab.click("#sign-in button[type=submit]");
    const said = await textUntil(tab, "#sign-in-error", (t) => t !== "");
    expect(said).toMatch(/^Too many failed token checks from this address \(429\): wait \d+ s, then sign in with a valid token\.$/);
    await tab.context().close();
  });

  it("loads its first view from the server alone, in well under 300 kB", async () => {
    const tab = await (await browser.newContext()).newPage();
    const requests: string[] = [];
    let bytes = 0;
    tab.on("request", (r) => requests.push(r.url()));
    tab.on("response", async (r) => (bytes += (await r.body().catch(() => Buffer.alloc(0))).length));
    await tab.goto(root, { waitUntil: "networkidle" });
    expect(requests.length).toBeGreaterThan(3);
    expect(requests.filter((url) => !url.startsWith(root))).toEqual([]);
    expect(bytes).toBeLessThan(300 * 1024);
    await tab.context().close();
  });

  it("shows the overview move when a client connects and publishes, lists it, and disconnects it with 0x98", async () => {
    const tab = await signedIn(admin.token);
    expect(await tab.textContent("#who")).toBe("Admin · all namespaces");
    expect(await tab.evaluate('sessionStorage.getItem("edgemq.token")')).toBe(admin.token);
    const before = Number(await tab.textContent("#card-connections"));
    const device = await tenantClient("dash-device-1");
    await textUntil(tab, "#card-connections", (t) => Number(t) === before + 1);
    for (let i = 0; i < 20; i++) await device.publishAsync("sensors/dash/temp", `${20 + i}`, { qos: 1 });
    await textUntil(tab, "#card-messages-in", (t) => Number(t) >= 20);
    await tab.screenshot({ path: join(SHOTS, "overview.png"), fullPage: true });

    await clientsTab(tab, "dash-device");
    const row = 'tr[data-client-id="dash-device-1"]';
    await tab.waitForSelector(row, { timeout: 10_000 });
    const cells = await tab.$$eval(`${row} td`, (tds) => tds.map((td) => td.textContent));
    expect(cells.slice(0, 4)).toEqual(["dash-device-1", "x", expect.stringMatching(/^127\.0\.0\.1:\d+$/), "5.0"]);
    await tab.screenshot({ path: join(SHOTS, "clients.png"), fullPage: true });
    const disconnected = new Promise<number | undefined>((resolve) => device.once("disconnect", (packet) => resolve(packet.reasonCode)));
    await tab.click(`${row} button.disconnect`);
    expect(await disconnected).toBe(0x98);
    await tab.waitForSelector(row, { state: "detached", timeout: 10_000 });
    await tab.context().close();
  });

  it("shows a client's subscriptions, ends its session, and revokes its credential (0x98 each time)", async () => {
    const password = await admin.credential("acme", "sensors", "dash-detail-1");
    const device = await connect(server.url, { clientId: "dash-detail-1", username: "x", password, clean: false, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 0 });
    clients.push(device);
    await device.subscribeAsync({ "sensors/+/temp": { qos: 1 }, "cmd/dash-detail-1": { qos: 0 } });
    const tab = await signedIn(admin.token);
    await clientsTab(tab, "dash-detail");
    await tab.click('tr[data-client-id="dash-detail-1"] button.details');
    await tab.waitForSelector('#client-subscriptions tr[data-filter="sensors/+/temp"]', { timeout: 10_000 });
    expect(await tab.$$eval("#client-subscriptions tbody tr td:first-child", (tds) => tds.map((td) => td.textContent))).toEqual(["cmd/dash-detail-1", "sensors/+/temp"]);
    expect(await tab.textContent("#client-detail-facts")).toContain(String(claimsOf(password).jti));
    await tab.screenshot({ path: join(SHOTS, "client-detail.png"), fullPage: true });

    let ended = new Promise<number | undefined>((resolve) => device.once("disconnect", (p) => resolve(p.reasonCode)));
    await tab.click("#client-end-session");
    await confirmAsked(tab);
    expect(await ended).toBe(0x98);
    await textUntil(tab, "#client-detail-done", (t) => t.includes("is ended"));
    expect(await admin.ok("GET", "/namespaces/acme/brokers/sensors/sessions?client_id=dash-detail-1")).toEqual([]);

    // Connected again with the same credential, then revoked from the page: disconnected, and refused after.
    const again = await connect(server.url, { clientId: "dash-detail-1", username: "x", password, reconnectPeriod: 0 });
    clients.push(again);
    await tab.fill("#clients-search", "dash-detail-1");
    await tab.click('tr[data-client-id="dash-detail-1"] button.details');
    ended = new Promise<number | undefined>((resolve) => again.once("disconnect", (p) => resolve(p.reasonCode)));
    await tab.click("#client-revoke");
    await confirmAsked(tab);
    expect(await ended).toBe(0x98);
    await textUntil(tab, "#client-detail-done", (t) => t.includes("is revoked"));
    expect(await admin.ok("GET", "/namespaces/acme/brokers/sensors/revocations")).toContain(claimsOf(password).jti);
    await tab.context().close();
  }, 60_000);

  it("lists a broker's offline sessions with what they keep, and ends one", async () => {
    for (const id of ["dash-offline-1", "dash-offline-2"]) {
      const c = await connect(server.url, { clientId: id, username: "x", password: await admin.credential("acme", "sensors", id), clean: false, properties: { sessionExpiryInterval: 3600 } });
      await c.subscribeAsync(`alerts/${id}/#`, { qos: 1 });
      await c.endAsync();
    }
    const tab = await signedIn(admin.token);
    await clientsTab(tab, "dash-offline");
    const row = '#sessions-table tr[data-client-id="dash-offline-1"]';
    await tab.waitForSelector(row, { timeout: 10_000 });
    expect((await tab.$$eval(`${row} td`, (tds) => tds.map((td) => td.textContent))).slice(0, 3)).toEqual(["dash-offline-1", "alerts/dash-offline-1/#", "0 (0 bytes)"]);
    await tab.screenshot({ path: join(SHOTS, "sessions.png"), fullPage: true });
    await tab.click(`${row} button.end-session`);
    await tab.waitForSelector(row, { state: "detached", timeout: 10_000 });
    expect(await admin.ok("GET", "/namespaces/acme/brokers/sensors/sessions?client_id=dash-offline-1")).toEqual([]);
    expect(await tab.$$('#sessions-table tr[data-client-id="dash-offline-2"]')).toHaveLength(1);
    await tab.context().close();
  }, 60_000);

  it("offers a Viewer no disconnect button, and shows it only its namespaces' brokers", async () => {
    await tenantClient("dash-viewed-1");
    const tab = await signedIn(await admin.apiToken("Viewer", ["acme"]));
    expect(await tab.textContent("#who")).toBe("Viewer · acme");
    // The default broker belongs to no tenant: a scoped token does not see it.
    expect(await tab.$$eval("#scope option", (os) => os.map((o) => o.textContent))).toEqual(["all brokers this token sees", "sensors.acme"]);
    await clientsTab(tab, "dash-viewed");
    await tab.waitForSelector('tr[data-client-id="dash-viewed-1"]', { timeout: 10_000 });
    expect(await tab.$$("button.disconnect")).toHaveLength(0);
    await tab.fill("#clients-search", "dash-");
    await tab.waitForSelector('#sessions-table tr[data-client-id="dash-offline-2"]', { timeout: 10_000 });
    expect(await tab.$$("button.end-session")).toHaveLength(0);
    await tab.fill("#clients-search", "dash-viewed");
    await tab.click('tr[data-client-id="dash-viewed-1"] button.details');
    await tab.waitForSelector("#client-detail", { state: "visible", timeout: 10_000 });
    expect(await tab.$$("#client-end-session, #client-revoke")).toHaveLength(0);
    await tab.screenshot({ path: join(SHOTS, "clients-viewer.png"), fullPage: true });
    await tab.context().close();
  });
});
