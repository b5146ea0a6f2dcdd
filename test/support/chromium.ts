// Headless Chromium (Debian's /usr/bin/chromium, or CHROMIUM_PATH) driven by
// playwright-core, for the tests that need a real browser.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContextOptions, type Page } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Where the dashboard tests keep their screenshots (test artifacts, not committed); made on first use. */
export const SHOTS = join(import.meta.dirname, "../../test-results/dashboard");
mkdirSync(SHOTS, { recursive: true });

/**
 * A fresh tab of `browser` on the dashboard at `root` (`http://127.0.0.1:<admin port>/`), signed in
 * with `token`, and on the nav's `page` when one is given.
 */
export async function signIn(browser: Browser, root: string, token: string, page?: string, context: BrowserContextOptions = {}): Promise<Page> {
  const tab = await (await browser.newContext(context)).newPage();
  await tab.goto(root);
  await tab.fill("#token", token);
  await tab.click("#sign-in button[type=submit]");
  await tab.waitForSelector("#app", { state: "visible", timeout: 10_000 });
  if (page === undefined) return tab;
  await tab.click(`nav button[data-tab="${page}"]`);
  await tab.waitForSelector(`#${page}`, { state: "visible", timeout: 10_000 });
  return tab;
}

/** Starts headless Chromium kept off the network this machine does not have. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/**
 * Waits (bounded) until the text of the element `selector` passes `ok`; resolves to it. Polled
 * from the test, since a page whose CSP forbids eval refuses playwright's string predicates.
 */
export async function textUntil(tab: Page, selector: string, ok: (text: string) => boolean, ms = 10_000): Promise<string> {
  const until = Date.now() + ms;
  let text = "";
  for (;;) {
    text = (await tab.textContent(selector)) ?? "";
    if (ok(text)) return text;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${selector}; it says ${JSON.stringify(text)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits (bounded) until `selector` matches exactly `count` elements, polled from the test as textUntil is. */
export async function countUntil(tab: Page, selector: string, count: number, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const n = (await tab.$$(selector)).length;
    if (n === count) return;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${count} of ${selector}; there are ${n}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Chooses the action in the dashboard's dialog that asks before an action (#ask), once it is open. */
export async function confirmAsked(tab: Page): Promise<void> {
  await tab.waitForSelector("dialog#ask[open]", { timeout: 10_000 });
  await tab.click("#ask-yes");
}

/** Whether the focused element matches `selector`. */
export function focusIs(tab: Page, selector: string): Promise<boolean> {
  // A string, run as the page's own code would be (this file has no DOM types).
  return tab.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`);
}

/** Presses Tab (Shift+Tab if `back`) until the focused element matches `selector`, at most `max` times; throws if it never does. */
export async function tabTo(tab: Page, selector: string, options: { back?: boolean; max?: number } = {}): Promise<void> {
  for (let i = 0; i < (options.max ?? 40); i++) {
    if (await focusIs(tab, selector)) return;
    await tab.keyboard.press(options.back ? "Shift+Tab" : "Tab");
  }
  if (!(await focusIs(tab, selector))) {
    const at = await tab.evaluate(`document.activeElement?.outerHTML.slice(0, 120) ?? "nothing"`);
    throw new Error(`Tab never reached ${selector}; the focus is on ${at}`);
  }
}
