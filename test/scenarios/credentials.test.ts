// Broker-issued credentials over real sockets: an embedded broker (the
// tenancy API that issues them over HTTP is not built yet) with the token
// hook, real mqtt.js and mosquitto clients using the JWT as their password.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker, clientRulesHook } from "@edgemq/core";
import { issueCredential, JTI_ATTRIBUTE, type KeySet, newKeySet, signingKey, tokenAuthHook } from "@edgemq/credentials";
import { SignJWT } from "jose";
import { resolveConfig, type ServerConfig } from "@edgemq/server";
import { type Server, startServer } from "@edgemq/node";
import { collect, connect, mosquittoPub, RawClient, sleep, waitFor } from "../support/clients.ts";

const AUD = "sensors.acme";
let keys: KeySet;
const revoked = new Set<string>();
let server: Server;
let port: number;
let url: string;

beforeAll(async () => {
  keys = await newKeySet(Date.now());
  const broker = new Broker({
    now: Date.now, allowAnonymous: false, limits: { sysInterval: 0 },
    hooks: [tokenAuthHook({ audience: AUD, keys: () => keys, isRevoked: (j) => revoked.has(j), now: Date.now }), clientRulesHook()],
  });
  server = await startServer(resolveConfig(["--port", "0"], {}, () => "") as ServerConfig, broker);
  port = server.listeners[0]!.port;
  url = `mqtt://127.0.0.1:${port}`;
});
afterAll(async () => {
  await server.close();
});

const issue = (extra: Parameters<typeof issueCredential>[1] extends infer R ? Partial<R> : never = {}) =>
  issueCredential(keys, { audience: AUD, now: Date.now(), ...extra });

describe("connecting with a broker-issued credential", () => {
  it("accepts the JWT as the password, with any user name, and assigns sub to an empty client id", async () => {
    const c = await issue({ clientId: "dev-1" });
    const client = await connect(url, { clientId: "dev-1", username: "anything", password: c.token });
    client.end();
    const raw = await RawClient.open(port, 5);
    const ack = await raw.connect("", { password: new TextEncoder().encode(c.token) });
    expect(ack).toMatchObject({ reasonCode: 0, properties: { assignedClientIdentifier: "dev-1" } });
    raw.close();
  });

  it("lets mosquitto_pub connect with a credential at 3.1.1 and 5.0", async () => {
    const c = await issue({ clientId: "mosq-1" });
    for (const v of ["mqttv311", "mqttv5"]) {
      const r = await mosquittoPub(["-h", "127.0.0.1", "-p", String(port), "-V", v, "-i", "mosq-1", "-u", "x", "-P", c.token, "-t", "any/topic", "-m", "hi"]);
      expect(r.code).toBe(0);
    }
  });

  it("refuses no password, a garbage one, another broker's credential and a mismatched client id", async () => {
    const other = await issueCredential(await newKeySet(Date.now()), { clientId: "dev-2", audience: "other.acme", now: Date.now() });
    const mine = await issue({ clientId: "dev-2" });
    const cases: [string, Uint8Array | undefined, number][] = [
      ["dev-2", undefined, 0x86],
      ["dev-2", new TextEncoder().encode("hunter2"), 0x86],
      ["dev-2", new TextEncoder().encode(other.token), 0x86],
      ["not-dev-2", new TextEncoder().encode(mine.token), 0x85],
    ];
    for (const [clientId, password, code] of cases) {
      const raw = await RawClient.open(port, 5);
      expect((await raw.connect(clientId, { password })).reasonCode).toBe(code);
      await raw.waitClosed();
    }
  });

  it("answers 3.1.1 clients with the matching return codes (4 bad credentials, 2 identifier)", async () => {
    const mine = await issue({ clientId: "dev-3" });
    const raw = await RawClient.open(port, 4);
    expect((await raw.connect("dev-3", { username: "u", password: new TextEncoder().encode("nope") })).reasonCode).toBe(4);
    const raw2 = await RawClient.open(port, 4);
    expect((await raw2.connect("someone-else", { username: "u", password: new TextEncoder().encode(mine.token) })).reasonCode).toBe(2);
  });
});

describe("the credential's topicAcl", () => {
  it("is enforced at SUBSCRIBE, at PUBLISH and at delivery", async () => {
    const reader = await issue({ clientId: "reader", topicAcl: "sub:a/#" });
    const writer = await issue({ clientId: "writer", topicAcl: "pub:a/# pub:b/#" });
    const r = await RawClient.open(port, 5);
    expect((await r.connect("reader", { password: new TextEncoder().encode(reader.token) })).reasonCode).toBe(0);
    const filters = ["a/#", "#", "+/x", "b/#", "$share/g/#", "$share/g/b/x", "$SYS/#"];
    r.send({ type: "subscribe", packetId: 1, subscriptions: filters.map((topicFilter) => ({ topicFilter, qos: 1 as const, noLocal: false, retainAsPublished: false, retainHandling: 0 as const })) });
    expect((await r.next("suback")).reasonCodes).toEqual([1, 0x87, 0x87, 0x87, 0x87, 0x87, 0x87]);
    // mqtt.js needs a user name to send a password; any value does.
    const w = await connect(url, { clientId: "writer", username: "writer", password: writer.token });
    await w.publishAsync("a/ok", "yes", { qos: 1 });
    await w.publishAsync("b/x", "not for reader", { qos: 1 });
    const denied = await new Promise<number | undefined>((resolve) => {
      w.publish("c/x", "no right", { qos: 1 }, (err, packet) => resolve((packet as { reasonCode?: number } | undefined)?.reasonCode ?? (err as { code?: number } | undefined)?.code));
    });
    expect(denied).toBe(0x87);
    await r.next("publish");
    await sleep(200);
    expect(r.received.filter((p) => p.type === "publish")).toHaveLength(0); // only a/ok arrived, taken above
    r.close(); w.end();
  });
});

describe("the credential's lifetime", () => {
  it("disconnects a session with 0xA0 when its credential expires", async () => {
    const c = await issue({ clientId: "short-lived", expiration: 2 });
    const raw = await RawClient.open(port, 5);
    expect((await raw.connect("short-lived", { password: new TextEncoder().encode(c.token) })).reasonCode).toBe(0);
    const started = Date.now();
    const d = await raw.next("disconnect", 5000);
    expect(d.reasonCode).toBe(0xa0);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("drops the live session within a second of revoking its jti, and refuses it afterwards with 0x87", async () => {
    const c = await issue({ clientId: "to-revoke" });
    const raw = await RawClient.open(port, 5);
    expect((await raw.connect("to-revoke", { password: new TextEncoder().encode(c.token) })).reasonCode).toBe(0);
    revoked.add(c.jti);
    const started = Date.now();
    server.broker.disconnectClients((client) => client.attributes[JTI_ATTRIBUTE] === c.jti, 0x98, "the credential was revoked");
    expect((await raw.next("disconnect", 1000)).reasonCode).toBe(0x98);
    expect(Date.now() - started).toBeLessThan(1000);
    const again = await RawClient.open(port, 5);
    expect((await again.connect("to-revoke", { password: new TextEncoder().encode(c.token) })).reasonCode).toBe(0x87);
  });
});

describe("the clock-skew rule", () => {
  // A credential signed with this broker's key, its iat and exp as given (seconds from now).
  const signed = async (clientId: string, iatFromNow: number, expFromNow?: number) => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ topicAcl: "#" }).setProtectedHeader({ alg: "EdDSA", kid: keys.current.kid })
      .setSubject(clientId).setJti(`jti-${clientId}`).setIssuer("edgemq").setAudience(AUD).setIssuedAt(now + iatFromNow);
    if (expFromNow !== undefined) jwt.setExpirationTime(now + expFromNow);
    return new TextEncoder().encode(await jwt.sign(await signingKey(keys)));
  };
  const connack = async (clientId: string, password: Uint8Array) => {
    const raw = await RawClient.open(port, 5);
    const ack = await raw.connect(clientId, { password });
    raw.close();
    return ack.reasonCode;
  };

  it("refuses with 0x86 a credential issued more than 30 s in the future, and accepts one 20 s ahead", async () => {
    expect(await connack("ahead-60", await signed("ahead-60", 60))).toBe(0x86);
    expect(await connack("ahead-20", await signed("ahead-20", 20))).toBe(0);
  });

  it("refuses at CONNECT with 0x86 a credential that expired a few seconds ago, instead of accepting it and then sending 0xA0", async () => {
    const raw = await RawClient.open(port, 5);
    const ack = await raw.connect("just-expired", { password: await signed("just-expired", -60, -5) });
    expect(ack.reasonCode).toBe(0x86);
    await raw.waitClosed();
  });
});
