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

describe("the JWT authentication method", () => {
  const enc = new TextEncoder();
  const jwt = (token: string) => ({ authenticationMethod: "JWT", authenticationData: enc.encode(token) });
  // Sends AUTH 0x19 (Re-authenticate) with a credential and returns the answer.
  const reauthenticate = async (raw: RawClient, token: string) => {
    raw.send({ type: "auth", reasonCode: 0x19, properties: jwt(token) });
    await sleep(300);
    return raw.received.splice(0);
  };

  it("connects with the credential in Authentication Data, and a fresh one by AUTH 0x19 keeps the connection past the first one's exp", async () => {
    const raw = await RawClient.open(server.port, 5);
    const ack = await raw.connect("renewed", { properties: jwt(await admin.credential("life", "daily", "renewed", "#", 2)) });
    expect(ack).toMatchObject({ reasonCode: 0, properties: { authenticationMethod: "JWT" } });
    // The control: the same credential without renewal is cut with 0xA0 when it expires.
    const control = await RawClient.open(server.port, 5);
    expect((await control.connect("unrenewed", { properties: jwt(await admin.credential("life", "daily", "unrenewed", "#", 2)) })).reasonCode).toBe(0);
    expect(await reauthenticate(raw, await admin.credential("life", "daily", "renewed", "#", 60))).toMatchObject([{ type: "auth", reasonCode: 0 }]);
    await sleep(3200);
    expect(await control.next("disconnect")).toMatchObject({ reasonCode: 0xa0 });
    expect(raw.closed).toBe(false);
    raw.send({ type: "pingreq" });
    expect(await raw.next("pingresp")).toMatchObject({ type: "pingresp" });
    raw.close();
  }, 20_000);

  it("disconnects a client that re-authenticates with another client's credential (0x87), and one whose fresh credential is revoked (0x98)", async () => {
    const a = await RawClient.open(server.port, 5);
    expect((await a.connect("holder-a", { properties: jwt(await admin.credential("life", "daily", "holder-a")) })).reasonCode).toBe(0);
    expect(await reauthenticate(a, await admin.credential("life", "daily", "holder-z"))).toMatchObject([{ type: "disconnect", reasonCode: 0x87 }]);
    const b = await RawClient.open(server.port, 5);
    expect((await b.connect("holder-b", { properties: jwt(await admin.credential("life", "daily", "holder-b")) })).reasonCode).toBe(0);
    const fresh = await admin.credential("life", "daily", "holder-b");
    expect(await reauthenticate(b, fresh)).toMatchObject([{ type: "auth", reasonCode: 0 }]);
    await admin.ok("POST", `/namespaces/life/brokers/daily/revocations?jti=${claimsOf(fresh).jti}`);
    expect(await b.next("disconnect")).toMatchObject({ reasonCode: 0x98 });
  });

  it("refuses a CONNECT whose JWT method carries no valid credential with 0x86", async () => {
    const raw = await RawClient.open(server.port, 5);
    const token = await admin.credential("life", "daily", "tampered");
    const ack = await raw.connect("tampered", { properties: jwt(`${token.slice(0, -4)}AAAA`) });
    expect(ack.reasonCode).toBe(0x86);
  });
});

describe("credentials a broker can use", () => {
  it("are generated with client ids within the broker's max_client_id_length (23 under the cloudflare preset), and connect", async () => {
    await admin.ok("POST", "/namespaces/life/brokers", { name: "strict", preset: "cloudflare" });
    const issued = await admin.ok("GET", "/namespaces/life/brokers/strict/credentials?type=TOKEN&number=3");
    const ids = Object.keys(issued);
    expect(ids).toHaveLength(3);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(23);
    const raw = await RawClient.open(server.port, 5);
    expect((await raw.connect("", { password: new TextEncoder().encode(issued[ids[0]!] as string) })).reasonCode).toBe(0);
    raw.close();
  });

  it("refuse a client id longer than the broker allows with a 400 naming the limit, instead of a credential that could never connect", async () => {
    const refused = await admin.call("GET", `/namespaces/life/brokers/strict/credentials?type=TOKEN&clientid=${"x".repeat(24)}`);
    expect(refused.status).toBe(400);
    expect(refused.json.errors[0]!.message).toMatch(/longer than broker "strict" allows \(max_client_id_length 23\)/);
  });
});
