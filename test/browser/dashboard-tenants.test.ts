// The dashboard's tenants page in headless Chromium against a real server:
// create a namespace and a broker from the page, edit the broker (the API's
// problems listed next to the form), issue a credential, copy it with the
// page's button and connect with it,
// rotate keys, revoke and unrevoke the credential, delete what was made; a
// scoped Viewer sees only its namespace and is offered no control that writes.
// The overview shows each on-publish hook's health and the store's state.
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admin, claimsOf } from "../support/admin-api.ts";
import { confirmAsked, countUntil, launchChromium, SHOTS, signIn, textUntil } from "../support/chromium.ts";
import { connect } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let server: RunningBroker;
let admin: Admin;
let root: string;
let browser: Browser;

beforeAll(async () => {
  server = await startBroker(["--admin-port", "0", "--sys-interval", "0", "--hook-allow", "127.0.0.1"]);
  admin = new Admin(server);
  root = `http://127.0.0.1:${server.ports.http}/`;
  browser = await launchChromium();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

// A fresh tab signed in with a token, on the tenants page.
function tenantsTab(token: string, permissions: string[] = []): Promise<Page> {
  return signIn(browser, root, token, "tenants", { permissions });
}

const texts = (tab: Page, selector: string) => tab.$$eval(selector, (els) => els.map((e) => e.textContent));

describe("the dashboard's tenants page in headless Chromium", () => {
  it("creates a namespace and a broker, edits it, issues a credential that connects, rotates keys, revokes and unrevokes, and deletes them", async () => {
    const tab = await tenantsTab(admin.token, ["clipboard-read", "clipboard-write"]);
    await tab.fill("#namespace-name", "Dash-Tenant");
    await tab.fill("#namespace-description", "made in the browser");
    await tab.click("#namespace-create button[type=submit]");
    await tab.waitForSelector('#namespaces-table tr[data-namespace="dash-tenant"]', { timeout: 10_000 });
    await textUntil(tab, "#brokers-of", (t) => t === "dash-tenant");
    expect((await admin.ok("GET", "/namespaces/dash-tenant")).description).toBe("made in the browser");

    await tab.fill("#broker-name", "devices");
    await tab.click("#broker-create button[type=submit]");
    await tab.waitForSelector('#brokers-table tr[data-broker="devices"]', { timeout: 10_000 });
    await textUntil(tab, "#broker-title", (t) => t === "devices.dash-tenant");
    // The title is filled before the keys are fetched: wait for them (a loaded machine showed the gap).
    await countUntil(tab, "#keys-list li", 1);

    // Two problems at once: the API names both, and the page lists both next to the form.
    await tab.fill("#edit-expiration", "0");
    await tab.click("#broker-fields details summary");
    await tab.fill("#limit-max_message_size", "0");
    await tab.click("#broker-edit button[type=submit]");
    await tab.waitForSelector("#broker-edit-errors", { state: "visible", timeout: 10_000 });
    const problems = await texts(tab, "#broker-edit-errors li");
    expect(problems).toHaveLength(2);
    expect(problems.join("\n")).toMatch(/expiration/);
    expect(problems.join("\n")).toMatch(/max_message_size/);
    await tab.screenshot({ path: join(SHOTS, "tenants-edit-refused.png"), fullPage: true });

    await tab.fill("#edit-expiration", "3600");
    await tab.fill("#limit-max_message_size", "65536");
    await tab.fill("#edit-description", "edited in the browser");
    await tab.fill("#edit-hook", "http://127.0.0.1:9/hook");
    await tab.check("#edit-fail-open");
    await tab.click("#broker-edit button[type=submit]");
    await tab.waitForSelector("#broker-edit-errors", { state: "hidden", timeout: 10_000 }).catch(async (e) => {
      throw new Error(`${e.message}: ${await tab.textContent("#broker-edit-errors")}`);
    });
    const edited = await admin.ok("GET", "/namespaces/dash-tenant/brokers/devices");
    expect(edited).toMatchObject({ description: "edited in the browser", expiration: 3600, on_publish: { url: "http://127.0.0.1:9/hook", fail_open: true } });
    expect(edited.limits.max_message_size).toBe(65536);
    // An emptied hook URL removes the hook; the other fields, unchanged, are not sent and stay.
    await tab.fill("#edit-hook", "");
    await tab.click("#broker-edit button[type=submit]");
    // The saved broker, shown again, has no hook: its fail-open box is cleared with it.
    await countUntil(tab, "#edit-fail-open:checked", 0);
    const unhooked = await admin.ok("GET", "/namespaces/dash-tenant/brokers/devices");
    expect(unhooked).toMatchObject({ description: "edited in the browser", expiration: 3600 });
    expect(unhooked).not.toHaveProperty("on_publish");

    // The token is shown once, in the page; it connects.
    await tab.fill("#issue-client-ids", "dash-cred-1");
    await tab.fill("#issue-acl", "dash/#");
    await tab.click("#credential-issue button[type=submit]");
    const token = await textUntil(tab, '#issued-table tr[data-client-id="dash-cred-1"] code', (t) => t.startsWith("ey"));
    expect(claimsOf(token)).toMatchObject({ sub: "dash-cred-1" });
    await tab.click('#issued-table tr[data-client-id="dash-cred-1"] button.copy');
    await textUntil(tab, '#issued-table tr[data-client-id="dash-cred-1"] button.copy', (t) => t === "Copied");
    expect(await tab.evaluate("navigator.clipboard.readText()")).toBe(token);
    await tab.screenshot({ path: join(SHOTS, "tenants-broker.png"), fullPage: true });
    await tab.setViewportSize({ width: 390, height: 844 });
    await tab.screenshot({ path: join(SHOTS, "tenants-broker-phone.png"), fullPage: true });
    await tab.setViewportSize({ width: 1280, height: 720 });
    const device = await connect(server.url, { clientId: "dash-cred-1", username: "x", password: token, reconnectPeriod: 0 });

    await tab.click("#keys-rotate");
    await confirmAsked(tab);
    await countUntil(tab, "#keys-list li", 2);

    // Revoking its jti disconnects the live client (0x98); unrevoking takes the row away.
    const jti = String(claimsOf(token).jti);
    const disconnected = new Promise<number | undefined>((resolve) => device.once("disconnect", (p) => resolve(p.reasonCode)));
    await tab.fill("#revoke-jti", jti);
    await tab.click("#revoke button[type=submit]");
    await tab.waitForSelector(`#revocations-table tr[data-jti="${jti}"]`, { timeout: 10_000 });
    expect(await disconnected).toBe(0x98);
    expect(await admin.ok("GET", "/namespaces/dash-tenant/brokers/devices/revocations")).toEqual([jti]);
    await tab.click(`#revocations-table tr[data-jti="${jti}"] button.unrevoke`);
    await tab.waitForSelector(`#revocations-table tr[data-jti="${jti}"]`, { state: "detached", timeout: 10_000 });
    expect(await admin.ok("GET", "/namespaces/dash-tenant/brokers/devices/revocations")).toEqual([]);
    device.end(true);

    await tab.click('#brokers-table tr[data-broker="devices"] button.delete');
    await confirmAsked(tab);
    await tab.waitForSelector('#brokers-table tr[data-broker="devices"]', { state: "detached", timeout: 10_000 });
    expect(await tab.isVisible("#broker-panel")).toBe(false);
    await tab.click('#namespaces-table tr[data-namespace="dash-tenant"] button.delete');
    await confirmAsked(tab);
    await tab.waitForSelector('#namespaces-table tr[data-namespace="dash-tenant"]', { state: "detached", timeout: 10_000 });
    expect((await admin.call("GET", "/namespaces/dash-tenant")).status).toBe(404);
    await tab.context().close();
  }, 60_000);

  it("shows a scoped Viewer only its namespace, and no control that changes anything", async () => {
    await admin.ok("POST", "/namespaces", { name: "seen" });
    await admin.ok("POST", "/namespaces", { name: "unseen" });
    await admin.ok("POST", "/namespaces/seen/brokers", { name: "plant" });
    const tab = await tenantsTab(await admin.apiToken("Viewer", ["seen"]));
    await tab.waitForSelector('#namespaces-table tr[data-namespace="seen"]', { timeout: 10_000 });
    expect(await texts(tab, "#namespaces-table tbody td:first-child")).toEqual(["seen"]);
    await tab.click('#namespaces-table tr[data-namespace="seen"] button.open');
    await tab.click('#brokers-table tr[data-broker="plant"] button.open');
    await textUntil(tab, "#broker-title", (t) => t === "plant.seen");
    for (const control of ["#namespace-create", "#broker-create", "#broker-edit button[type=submit]", "#keys-rotate", "#credential-issue", "#revoke", "button.delete", "button.unrevoke"]) {
      expect(await tab.$$(control), control).toHaveLength(0);
    }
    expect(await tab.isDisabled("#edit-description")).toBe(true);
    await countUntil(tab, "#keys-list li", 1);
    await tab.screenshot({ path: join(SHOTS, "tenants-viewer.png"), fullPage: true });
    await tab.context().close();
  }, 60_000);

  it("shows on the overview each on-publish hook's calls and failures, and that the store is memory only", async () => {
    // A port nothing listens on: every hook call fails, and fail-open delivers the batch anyway.
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    await admin.ok("POST", "/namespaces", { name: "hooked" });
    await admin.ok("POST", "/namespaces/hooked/brokers", { name: "line", on_publish: { url: `http://127.0.0.1:${closed}/hook`, fail_open: true } });
    const device = await connect(server.url, { clientId: "dash-hooked-1", username: "x", password: await admin.credential("hooked", "line", "dash-hooked-1") });
    for (let i = 0; i < 3; i++) await device.publishAsync("line/temp", String(i), { qos: 1 });
    device.end(true);

    const tab = await (await browser.newContext()).newPage();
    await tab.goto(root);
    await tab.fill("#token", admin.token);
    await tab.click("#sign-in button[type=submit]");
    const row = '#hooks tr[data-broker="line.hooked"]';
    await tab.waitForSelector(row, { timeout: 10_000 });
    const cells = async () => (await tab.$$eval(`${row} td`, (tds) => tds.map((td) => td.textContent ?? "")));
    for (let i = 0; i < 100 && Number((await cells())[6]) < 1; i++) await tab.waitForTimeout(100);
    const [broker, calls, , , dropped, failed, failedOpen, mean] = await cells();
    expect(broker).toBe("line.hooked");
    expect(Number(calls)).toBeGreaterThanOrEqual(1);
    // Failed open: counted as such, not as failed (which drops the batch).
    expect(failed).toBe("0");
    expect(Number(failedOpen)).toBe(Number(calls));
    expect(dropped).toBe("0");
    expect(mean).toMatch(/^\d+\.\d ms$/);
    expect(await textUntil(tab, "#store", (t) => t !== "")).toMatch(/^Store: memory \(not durable\): sessions and retained messages do not outlive a restart/);
    await tab.screenshot({ path: join(SHOTS, "overview-hooks.png"), fullPage: true });
    await tab.context().close();
  }, 60_000);
});
