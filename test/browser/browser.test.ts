// A real browser: headless Chromium (Debian's, driven by playwright-core)
// loads a page served on localhost that uses the mqtt browser bundle to talk
// to edgemq over WebSocket, and shows what it received.
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../support/chromium.ts";
import { collect, connect, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

const ROOT = join(import.meta.dirname, "../..");

function page(wsUrl: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>edgemq in a browser</title><script src="/mqtt.min.js"></script></head>
<body><p id="status">connecting</p><p id="out"></p>
<script>
  const client = mqtt.connect(${JSON.stringify(wsUrl)}, { protocolVersion: 5, clientId: "browser-1", reconnectPeriod: 0 });
  client.on("connect", () => {
    document.getElementById("status").textContent = "connected";
    client.subscribe("browser/echo", { qos: 1 }, () => client.publish("browser/echo", "hello from the browser", { qos: 1 }));
  });
  client.on("message", (topic, payload) => {
    document.getElementById("out").textContent = topic + ": " + payload.toString();
  });
  client.on("error", (e) => { document.getElementById("status").textContent = "error: " + e.message; });
</script></body></html>`;
}

describe("edgemq from a web page in headless Chromium", () => {
  let broker: RunningBroker;
  let server: http.Server;
  let origin: string;
  let browser: Browser;

  beforeAll(async () => {
    broker = await startBroker(["--ws-port", "0"]);
    const bundle = readFileSync(join(ROOT, "node_modules/mqtt/dist/mqtt.min.js"));
    const html = page(`ws://127.0.0.1:${broker.ports.ws}/mqtt`);
    server = http.createServer((req, res) => {
      if (req.url === "/mqtt.min.js") res.writeHead(200, { "content-type": "text/javascript" }).end(bundle);
      else res.writeHead(200, { "content-type": "text/html" }).end(html);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
    await broker?.stop();
  });

  it("connects over WebSocket, subscribes, publishes, and shows the message it got back", async () => {
    const watcher = await connect(broker.url, { clientId: "browser-watcher" });
    const seen = collect(watcher);
    await watcher.subscribeAsync("browser/echo", { qos: 1 });
    const tab = await browser.newPage();
    await tab.goto(origin);
    // Evaluated in the page (a string, since this file is type-checked without the DOM).
    await tab.waitForFunction('document.getElementById("out").textContent !== ""', undefined, { timeout: 10_000 });
    expect(await tab.textContent("#status")).toBe("connected");
    expect(await tab.textContent("#out")).toBe("browser/echo: hello from the browser");
    // A client on another transport saw the browser's message too.
    await waitFor(() => seen.length === 1);
    expect(seen[0]!.payload).toBe("hello from the browser");
    watcher.end();
    await tab.close();
  });
});
