// The dashboard from the keyboard alone, in headless Chromium against a real
// server: after the page loads, every step is a key press (Tab, Shift+Tab,
// arrows, Enter, Escape, typed text) sent through Chromium's input, none a
// click. Sign in, reach a client through the nav and the broker chooser, open
// its details and close them with Escape, disconnect it; browse retained
// messages, view one, and clear them through the dialog that asks first.
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admin } from "../support/admin-api.ts";
import { countUntil, focusIs, launchChromium, SHOTS, tabTo, textUntil } from "../support/chromium.ts";
import { connect, sleep } from "../support/clients.ts";
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

// A fresh tab, signed in by typing the token and pressing Enter; resolves with the focus on the nav.
async function signInByKeyboard(): Promise<Page> {
  const tab = await (await browser.newContext()).newPage();
  await tab.goto(`http://127.0.0.1:${server.ports.http}/`);
  await tabTo(tab, "#token");
  await tab.keyboard.type(admin.token);
  await tab.keyboard.press("Enter");
  await tab.waitForSelector("#app", { state: "visible", timeout: 10_000 });
  expect(await focusIs(tab, 'nav button[data-tab="overview"]')).toBe(true);
  return tab;
}

// Goes to a page of the nav with Tab and Enter.
async function navTo(tab: Page, page: string): Promise<void> {
  await tabTo(tab, `nav button[data-tab="${page}"]`);
  // Where the keyboard is can be seen: an outline on the focused control.
  expect(await tab.evaluate("getComputedStyle(document.activeElement).outlineStyle")).toBe("solid");
  await tab.keyboard.press("Enter");
  await tab.waitForSelector(`#${page}`, { state: "visible", timeout: 10_000 });
}

// Chooses the default broker in a broker chooser with the arrow keys.
async function chooseDefault(tab: Page, select: string): Promise<void> {
  await tab.waitForSelector(`${select} option[value="default"]`, { state: "attached", timeout: 10_000 });
  await tabTo(tab, select);
  const value = () => tab.$eval(select, (s) => (s as unknown as { value: string }).value);
  for (let i = 0; i < 10 && (await value()) !== "default"; i++) await tab.keyboard.press("ArrowDown");
  expect(await value()).toBe("default");
}

describe("the dashboard from the keyboard alone", () => {
  it("signs in, opens a client's details and closes them with Escape, and disconnects the client", async () => {
    const plain = await connect(server.url, { clientId: "kbd-plain-1", reconnectPeriod: 0 });
    clients.push(plain);
    await plain.subscribeAsync("kbd/#", { qos: 1 });
    const tab = await signInByKeyboard();
    await navTo(tab, "clients");
    await chooseDefault(tab, "#clients-broker");
    await tabTo(tab, "#clients-search");
    await tab.keyboard.type("kbd-");
    const row = 'tr[data-client-id="kbd-plain-1"]';
    await tab.waitForSelector(row, { timeout: 10_000 });

    await tabTo(tab, `${row} button.details`);
    // The list refreshes every 2 s: the focus stays on the same button of the same row.
    await sleep(2500);
    expect(await focusIs(tab, `${row} button.details`)).toBe(true);
    await tab.keyboard.press("Enter");
    await tab.waitForSelector("#client-detail", { state: "visible", timeout: 10_000 });
    // The panel takes the focus: its first control.
    expect(await focusIs(tab, "#client-end-session")).toBe(true);
    await tab.screenshot({ path: join(SHOTS, "keyboard-client-detail.png"), fullPage: true });
    await tab.keyboard.press("Escape");
    await tab.waitForSelector("#client-detail", { state: "hidden", timeout: 10_000 });
    expect(await focusIs(tab, `${row} button.details`)).toBe(true);

    await tab.keyboard.press("Tab");
    expect(await focusIs(tab, `${row} button.disconnect`)).toBe(true);
    const disconnected = new Promise<number | undefined>((resolve) => plain.once("disconnect", (p) => resolve(p.reasonCode)));
    await tab.keyboard.press("Enter");
    expect(await disconnected).toBe(0x98);
    await tab.waitForSelector(row, { state: "detached", timeout: 10_000 });
    // Its row is gone: the focus is on the table, so Tab goes on from there rather than from the top of the page.
    expect(await focusIs(tab, "#clients-table")).toBe(true);
    await tab.context().close();
  }, 60_000);

  it("browses and views retained messages, and clears them through a dialog that starts on Cancel and closes on Escape", async () => {
    const plain = await connect(server.url, { clientId: "kbd-plain-2" });
    clients.push(plain);
    await plain.publishAsync("kbd/a", "first", { qos: 1, retain: true });
    await plain.publishAsync("kbd/b", "second", { qos: 1, retain: true });
    const tab = await signInByKeyboard();
    await navTo(tab, "retained");
    await chooseDefault(tab, "#retained-broker");
    await tabTo(tab, "#retained-filter");
    await tab.keyboard.press("ControlOrMeta+A");
    await tab.keyboard.type("kbd/#");
    await tab.keyboard.press("Enter");
    await countUntil(tab, "#retained-table tbody tr", 2);

    await tabTo(tab, '#retained-table tr[data-topic="kbd/a"] button.view');
    await tab.keyboard.press("Enter");
    expect(await textUntil(tab, "#retained-payload", (t) => t !== "")).toBe("first");
    expect(await focusIs(tab, "#retained-format")).toBe(true);
    await tab.keyboard.press("Escape");
    await tab.waitForSelector("#retained-view", { state: "hidden", timeout: 10_000 });
    expect(await focusIs(tab, '#retained-table tr[data-topic="kbd/a"] button.view')).toBe(true);

    await tabTo(tab, "#retained-clear", { back: true });
    await tab.keyboard.press("Enter");
    await tab.waitForSelector("dialog#ask[open]", { timeout: 10_000 });
    expect(await tab.textContent("#ask-text")).toBe("Clear every retained message matching kbd/#?");
    expect(await focusIs(tab, "#ask-cancel")).toBe(true);
    await tab.screenshot({ path: join(SHOTS, "keyboard-ask.png") });
    await tab.keyboard.press("Escape");
    await tab.waitForSelector("dialog#ask", { state: "hidden", timeout: 10_000 });
    expect(await admin.ok("GET", `/default/retained?topic=${encodeURIComponent("kbd/#")}`)).toHaveLength(2);
    expect(await focusIs(tab, "#retained-clear")).toBe(true);

    await tab.keyboard.press("Enter");
    await tab.waitForSelector("dialog#ask[open]", { timeout: 10_000 });
    await tab.keyboard.press("Tab");
    expect(await focusIs(tab, "#ask-yes")).toBe(true);
    await tab.keyboard.press("Enter");
    await tab.waitForSelector("dialog#ask", { state: "hidden", timeout: 10_000 });
    // Under a loaded CI machine the clear and the list drawn again can take a while.
    await textUntil(tab, "#retained-done", (t) => t === "Cleared 2 retained messages (kbd/#).", 20_000).catch(async (e: Error) => {
      // What the page said instead, if the clear failed there.
      const state = { open: await tab.$eval("#ask", (d) => (d as unknown as { open: boolean }).open), focus: await tab.evaluate("document.activeElement?.id") };
      throw new Error(`${e.message}; the page's error line: ${JSON.stringify(await tab.textContent("#app-error"))}; the dialog ${state.open ? "is open" : "is closed"}, focus on #${state.focus}`);
    });
    expect(await admin.ok("GET", `/default/retained?topic=${encodeURIComponent("kbd/#")}`)).toEqual([]);
    await tab.context().close();
  }, 60_000);
});
