// Makes the README's dashboard screenshot (docs/images/dashboard-overview.png):
// a real server, an mqtt.js publisher whose rate rises and falls for 40 s and two
// subscribers, and the overview in headless Chromium. Run: node scripts/dashboard-screenshot.ts
import { join } from "node:path";
import { Admin } from "../test/support/admin-api.ts";
import { launchChromium, textUntil } from "../test/support/chromium.ts";
import { connect } from "../test/support/clients.ts";
import { startBroker } from "../test/support/server.ts";

const OUT = join(import.meta.dirname, "../docs/images/dashboard-overview.png");
const server = await startBroker(["--admin-port", "0", "--sys-interval", "0"]);
const browser = await launchChromium();
try {
  const admin = new Admin(server);
  await admin.ok("POST", "/namespaces", { name: "acme" });
  await admin.ok("POST", "/namespaces/acme/brokers", { name: "sensors" });
  const client = async (id: string) => connect(server.url, { clientId: id, username: "x", password: await admin.credential("acme", "sensors", id) });
  // Two subscribers: out is twice in, so the charts show both lines.
  const subscriber = await client("dashboard-display");
  await subscriber.subscribeAsync("plant/#", { qos: 1 });
  const archiver = await client("archiver");
  await archiver.subscribeAsync("plant/line-1/+", { qos: 0 });
  const publisher = await client("line-1-sensor");
  await publisher.publishAsync("plant/line-1/config", JSON.stringify({ interval_ms: 100 }), { qos: 1, retain: true });

  const tab = await (await browser.newContext({ viewport: { width: 1100, height: 760 } })).newPage();
  await tab.goto(`http://127.0.0.1:${server.ports.http}/`);
  await tab.fill("#token", admin.token);
  await tab.click("#sign-in button[type=submit]");
  await textUntil(tab, "#card-connections", (t) => t !== "–");

  // 40 s of a rate that rises and falls (about 5 to 45 messages a second), so the charts have a shape.
  const start = Date.now();
  while (Date.now() - start < 40_000) {
    const perTick = Math.round(2.5 + 2 * Math.sin((Date.now() - start) / 6000));
    for (let i = 0; i < perTick; i++) await publisher.publishAsync("plant/line-1/temp", (20 + Math.random()).toFixed(2), { qos: 1 });
    await new Promise((r) => setTimeout(r, 100));
  }
  await tab.screenshot({ path: OUT });
  console.log(`wrote ${OUT}`);
  subscriber.end(true);
  archiver.end(true);
  publisher.end(true);
} finally {
  await browser.close();
  await server.stop();
}
