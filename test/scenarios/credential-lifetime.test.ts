// A credential's lifetime as the admin API issues it and a tenant broker honours
// it: the server started as a process, credentials over HTTP, a raw client.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, sleep } from "../support/clients.ts";
import { Admin, claimsOf } from "../support/admin-api.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let server: RunningBroker;
let admin: Admin;

beforeAll(async () => {
  server = await startBroker(["--admin-port", "0", "--sys-interval", "0"]);
  admin = new Admin(server);
  await admin.ok("POST", "/namespaces", { name: "life" });
  await admin.ok("POST", "/namespaces/life/brokers", { name: "daily", expiration: 86_400 });
  await admin.ok("POST", "/namespaces/life/brokers", { name: "forever" });
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

describe("a credential's expiration", () => {
  it("keeps the broker's expiration when a request asks for none (-1): a request can shorten it, never lengthen it", async () => {
    const claims = claimsOf(await admin.credential("life", "daily", "no-exp-asked", "#", -1));
    expect(claims.exp).toBeTypeOf("number");
    expect((claims.exp as number) - (claims.iat as number)).toBe(86_400);
    const shorter = claimsOf(await admin.credential("life", "daily", "short-asked", "#", 60));
    expect((shorter.exp as number) - (shorter.iat as number)).toBe(60);
  });

  it("issues a credential without exp for -1 on a broker without an expiration", async () => {
    expect(claimsOf(await admin.credential("life", "forever", "never", "#", -1)).exp).toBeUndefined();
  });

  it("refuses at CONNECT with 0x86 a credential that expired a moment ago, instead of CONNACK 0 then DISCONNECT 0xA0", async () => {
    const token = await admin.credential("life", "daily", "brief", "#", 1);
    await sleep(2100);
    const raw = await RawClient.open(server.port, 5);
    const ack = await raw.connect("brief", { password: new TextEncoder().encode(token) });
    expect(ack.reasonCode).toBe(0x86);
    expect(raw.received.some((p) => p.type === "disconnect")).toBe(false);
    await raw.waitClosed();
  });
});
