// The dashboard's retained messages page in headless Chromium against a real
// server: messages retained by mosquitto_pub and mqtt.js with issued credentials
// are browsed by filter, shown as text, pretty JSON and hex, and cleared (one
// topic, then a filter); a Viewer browses without clear buttons. The "Try it"
// client connects over the broker's WebSocket listener with an issued
// credential, publishes to mqtt.js and mosquitto_sub subscribers and receives
// from mqtt.js.
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admin } from "../support/admin-api.ts";
import { confirmAsked, countUntil, launchChromium, SHOTS, signIn, textUntil } from "../support/chromium.ts";
import { collect, connect, mosquittoPub, mosquittoSub, sleep, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker, TRANSPORT } from "../support/server.ts";

let server: RunningBroker;
let admin: Admin;
let root: string;
let browser: Browser;
const clients: MqttClient[] = [];

beforeAll(async () => {
  // A WebSocket listener for the Try it client (the ws transport run has one already).
  server = await startBroker(["--admin-port", "0", "--sys-interval", "0", ...(TRANSPORT === "ws" ? [] : ["--ws-port", "0"])]);
  admin = new Admin(server);
  root = `http://127.0.0.1:${server.ports.http}/`;
  await admin.ok("POST", "/namespaces", { name: "works" });
  await admin.ok("POST", "/namespaces/works/brokers", { name: "plant" });
  browser = await launchChromium();
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  await browser?.close();
  await server?.stop();
});

// A fresh tab signed in with a token, on a page of the nav.
function onPage(token: string, page: string): Promise<Page> {
  return signIn(browser, root, token, page);
}

async function browse(tab: Page, filter: string): Promise<void> {
  await tab.waitForSelector('#retained-broker option[value="works/plant"]', { state: "attached", timeout: 10_000 });
  await tab.fill("#retained-filter", filter);
  await tab.click("#retained-browse button[type=submit]");
}

describe("the dashboard's message pages in headless Chromium", () => {
  beforeAll(async () => {
    const token = await admin.credential("works", "plant", "dash-retainer-1");
    const pub = await mosquittoPub(["-h", "127.0.0.1", "-p", String(server.port), "-V", "mqttv5", "-i", "dash-retainer-1", "-u", "x", "-P", token,
      "-t", "line1/state", "-r", "-q", "1", "-m", '{"on":true,"speed":3}']);
    expect(pub, pub.output).toMatchObject({ code: 0 });
    const device = await connect(server.url, { clientId: "dash-retainer-2", username: "x", password: await admin.credential("works", "plant", "dash-retainer-2") });
    clients.push(device);
    await device.publishAsync("line1/raw", Buffer.from([0x00, 0x01, 0x02, 0xff]), { qos: 1, retain: true });
    await device.publishAsync("line2/state", "idle", { qos: 1, retain: true });
  });

  it("shows a Viewer the matching messages and payloads, without a clear button", async () => {
    const tab = await onPage(await admin.apiToken("Viewer", ["works"]), "retained");
    await browse(tab, "line1/#");
    await countUntil(tab, "#retained-table tbody tr", 2);
    expect(await tab.$$eval("#retained-table tbody td:first-child", (tds) => tds.map((td) => td.textContent))).toEqual(["line1/raw", "line1/state"]);
    expect(await tab.$$("#retained-clear, button.clear")).toHaveLength(0);
    await tab.click('#retained-table tr[data-topic="line1/state"] button.view');
    expect(await textUntil(tab, "#retained-payload", (t) => t !== "")).toBe('{"on":true,"speed":3}');
    await tab.context().close();
  }, 60_000);

  it("browses by filter, shows a payload as text, JSON and hex, and clears one topic, then a filter", async () => {
    const tab = await onPage(admin.token, "retained");
    await browse(tab, "#");
    await countUntil(tab, "#retained-table tbody tr", 3);

    await tab.click('#retained-table tr[data-topic="line1/state"] button.view');
    await tab.selectOption("#retained-format", "json");
    expect(await textUntil(tab, "#retained-payload", (t) => t.includes("\n"))).toBe('{\n  "on": true,\n  "speed": 3\n}');
    await tab.screenshot({ path: join(SHOTS, "retained.png"), fullPage: true });
    await tab.click('#retained-table tr[data-topic="line1/raw"] button.view');
    // Not UTF-8, so neither JSON nor text: the page says so and points to hex.
    expect(await textUntil(tab, "#retained-payload", (t) => t.includes("not UTF-8"))).toBe("(the payload is not UTF-8 text: show it as hex)");
    await tab.selectOption("#retained-format", "text");
    expect(await tab.textContent("#retained-payload")).toBe("(the payload is not UTF-8 text: show it as hex)");
    await tab.selectOption("#retained-format", "hex");
    expect(await textUntil(tab, "#retained-payload", (t) => t.startsWith("0000"))).toBe("00000000  00 01 02 ff");

    await tab.click('#retained-table tr[data-topic="line1/raw"] button.clear');
    await tab.waitForSelector('#retained-table tr[data-topic="line1/raw"]', { state: "detached", timeout: 10_000 });
    expect(await textUntil(tab, "#retained-done", (t) => t !== "")).toBe("Cleared 1 retained message (line1/raw).");
    expect(await tab.isVisible("#retained-view")).toBe(false);

    await tab.fill("#retained-filter", "line1/#");
    await tab.click("#retained-clear");
    await confirmAsked(tab);
    expect(await textUntil(tab, "#retained-done", (t) => t.includes("line1/#"))).toBe("Cleared 1 retained message (line1/#).");
    await countUntil(tab, "#retained-table tbody tr", 0);
    // What the page cleared is gone from the broker; what the filter did not match stays.
    expect((await admin.ok("GET", "/namespaces/works/brokers/plant/retained?topic=%23")).map((m: { topic: string }) => m.topic)).toEqual(["line2/state"]);
    await tab.context().close();
  }, 60_000);

  it("connects the Try it client over WebSocket with an issued credential, publishes to mqtt.js and mosquitto_sub subscribers and receives from mqtt.js", async () => {
    const listener = await connect(server.url, { clientId: "dash-listener-1", username: "x", password: await admin.credential("works", "plant", "dash-listener-1") });
    clients.push(listener);
    await listener.subscribeAsync("tryit/#", { qos: 1 });
    const heard = collect(listener);
    // And mosquitto_sub, as a user without Node would check it; subscribed once the broker lists its subscription.
    const sub = mosquittoSub(["-h", "127.0.0.1", "-p", String(server.port), "-V", "mqttv5", "-i", "dash-mosquitto-1", "-u", "x",
      "-P", await admin.credential("works", "plant", "dash-mosquitto-1"), "-t", "tryit/#", "-v"]);
    for (let i = 0; i < 100 && (await admin.ok("GET", "/namespaces/works/brokers/plant/subscriptions?client_id=dash-mosquitto-1")).length === 0; i++) await sleep(100);
    const tab = await onPage(admin.token, "try-it");
    expect(await tab.$$('script[src="/dashboard/mqtt.min.js"]')).toHaveLength(0); // loaded only when used
    await tab.fill("#tryit-url", `ws://127.0.0.1:${server.ports.ws}/mqtt`);
    await tab.fill("#tryit-client-id", "dash-tryit-1");
    await tab.fill("#tryit-password", await admin.credential("works", "plant", "dash-tryit-1"));
    await tab.click("#tryit-connect button[type=submit]");
    await textUntil(tab, "#tryit-status", (t) => t.startsWith("Connected"), 15_000);
    expect((await admin.ok("GET", "/namespaces/works/brokers/plant/clients?client_id=dash-tryit-1"))[0]).toMatchObject({ transport: expect.stringMatching(/^ws/) });

    await tab.fill("#tryit-filter", "tryit/+/down");
    await tab.click("#tryit-subscribe button[type=submit]");
    expect(await textUntil(tab, "#tryit-status", (t) => t.startsWith("Subscribed"))).toBe("Subscribed to tryit/+/down (QoS 1).");
    await tab.fill("#tryit-topic", "tryit/page/up");
    await tab.fill("#tryit-payload", "hello from the page");
    await tab.click("#tryit-publish button[type=submit]");
    await waitFor(() => heard.some((m) => m.topic === "tryit/page/up"), 10_000, "the page's message at the mqtt.js subscriber");
    expect(heard.find((m) => m.topic === "tryit/page/up")!.payload).toBe("hello from the page");
    await waitFor(() => sub.lines().includes("tryit/page/up hello from the page"), 10_000, "the page's message at mosquitto_sub");
    await sub.stop();

    await listener.publishAsync("tryit/page/down", "hello to the page", { qos: 1 });
    await tab.waitForSelector('#tryit-messages tr[data-topic="tryit/page/down"]', { timeout: 10_000 });
    expect(await tab.$$eval('#tryit-messages tr[data-topic="tryit/page/down"] td', (tds) => tds.slice(1).map((td) => td.textContent))).toEqual(["tryit/page/down", "1", "hello to the page"]);
    await tab.screenshot({ path: join(SHOTS, "try-it.png"), fullPage: true });
    await tab.click("#tryit-disconnect");
    await textUntil(tab, "#tryit-status", (t) => t === "Not connected.");
    await tab.context().close();
  }, 60_000);
});
