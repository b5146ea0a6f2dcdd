// Headless Chromium (Debian's /usr/bin/chromium, or CHROMIUM_PATH) driven by
// playwright-core, for the tests that need a real browser.
import { chromium, type Browser, type Page } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

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
