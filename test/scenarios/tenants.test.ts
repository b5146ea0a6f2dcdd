// Tenants as a new user meets them: edgemq started as a process with the
// admin API, namespaces and brokers created over HTTP, credentials issued,
// then real MQTT clients (mqtt.js, mosquitto_pub/sub, a raw client) reaching
// their broker by credential, WebSocket Host, TLS SNI or a bound listener.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Certificates, makeCertificates } from "../support/certs.ts";
import { collect, connect, mosquittoPub, mosquittoSub, RawClient, sleep, waitFor } from "../support/clients.ts";
import { ACCOUNT, Admin } from "../support/admin-api.ts";
import { type RunningBroker, RUNTIME, runBrokerExpectingExit, startBroker, writeConfig } from "../support/server.ts";

const encoder = new TextEncoder();

const jtiOf = (token: string): string => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).jti;

async function refusal(url: string, options: Parameters<typeof connect>[1]): Promise<number | undefined> {
  try {
    const c = await connect(url, { reconnectPeriod: 0, connectTimeout: 3000, ...options });
    c.end(true);
    return 0;
  } catch (e) {
    return (e as { code?: number }).code;
  }
}

let certs: Certificates;
let server: RunningBroker;
let admin: Admin;
let url: string;
// Deno's TLS cannot request client certificates: no --tls-ca there, and no MTLS brokers.
const CERTS_SUPPORTED = RUNTIME !== "deno";

beforeAll(async () => {
  certs = makeCertificates();
  server = await startBroker([
    "--admin-port", "0", "--ws-port", "0",
    "--tls-port", "0", "--tls-cert", certs.serverCert, "--tls-key", certs.serverKey,
    ...(CERTS_SUPPORTED ? ["--tls-ca", certs.caCert] : []),
    "--sys-interval", "0",
  ]);
  admin = new Admin(server);
  url = server.url;
  await admin.ok("POST", "/namespaces", { name: "acme" });
  await admin.ok("POST", "/namespaces/acme/brokers", { name: "sensors", authType: "TOKEN" });
  await admin.ok("POST", "/namespaces/acme/brokers", { name: "billing", auth_type: "TOKEN" });
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

describe("the admin API on a running server", () => {
  it("prints a generated Admin token at start and answers 401 in Cloudflare's envelope without it", async () => {
    const none = await admin.call("GET", "/namespaces", undefined, null);
    expect(none.status).toBe(401);
    expect(none.json.success).toBe(false);
    expect(none.json.errors[0]!.message).toMatch(/token/i);
    const listed = await admin.ok("GET", "/namespaces");
    expect(listed.map((n: { name: string }) => n.name)).toEqual(["acme"]);
  });

  it("refuses a credential used as an API token", async () => {
    const cred = await admin.credential("acme", "sensors", "api-abuser");
    const { status } = await admin.call("GET", "/namespaces", undefined, cred);
    expect(status).toBe(401);
  });

  it("names each broker's MQTT endpoint after its domain name and the TLS listener", async () => {
    const b = await admin.ok("GET", "/namespaces/acme/brokers/sensors");
    expect(b.endpoint).toBe(`mqtts://sensors.acme.localhost:${server.ports.tls}`);
  });
});

describe("a client reaching its tenant broker by its credential", () => {
  it("keeps messages inside the tenant broker: neither the default broker nor another tenant sees them", async () => {
    const subCred = await admin.credential("acme", "sensors", "dev-sub");
    const pubCred = await admin.credential("acme", "sensors", "dev-pub");
    const otherCred = await admin.credential("acme", "billing", "bill-sub");
    const tenantSub = await connect(url, { clientId: "dev-sub", username: "x", password: subCred });
    const defaultSub = await connect(url, { clientId: "anon-sub" });
    const otherSub = await connect(url, { clientId: "bill-sub", username: "x", password: otherCred });
    const got = collect(tenantSub), gotDefault = collect(defaultSub), gotOther = collect(otherSub);
    for (const c of [tenantSub, defaultSub, otherSub]) await c.subscribeAsync("sensors/#", { qos: 1 });
    const pub = await connect(url, { clientId: "dev-pub", username: "x", password: pubCred });
    await pub.publishAsync("sensors/t1", "21.5", { qos: 1 });
    const anonPub = await connect(url, { clientId: "anon-pub" });
    await anonPub.publishAsync("sensors/t1", "from the default broker", { qos: 1 });
    await waitFor(() => got.length >= 1 && gotDefault.length >= 1);
    await sleep(200);
    expect(got.map((m) => m.payload)).toEqual(["21.5"]);
    expect(gotDefault.map((m) => m.payload)).toEqual(["from the default broker"]);
    expect(gotOther).toEqual([]);
    for (const c of [tenantSub, defaultSub, otherSub, pub, anonPub]) c.end(true);
  });

  it("lets mosquitto_sub and mosquitto_pub use credentials at 3.1.1 and 5.0", async () => {
    const subCred = await admin.credential("acme", "sensors", "mosq-sub");
    const pubCred = await admin.credential("acme", "sensors", "mosq-pub");
    const port = String(server.port);
    const sub = mosquittoSub(["-h", "127.0.0.1", "-p", port, "-V", "mqttv5", "-i", "mosq-sub", "-u", "any", "-P", subCred, "-t", "m/#", "-q", "1", "-C", "2"]);
    await sleep(500);
    for (const v of ["mqttv311", "mqttv5"]) {
      const r = await mosquittoPub(["-h", "127.0.0.1", "-p", port, "-V", v, "-i", "mosq-pub", "-u", "any", "-P", pubCred, "-t", "m/x", "-m", `hello ${v}`, "-q", "1"]);
      expect(r.code, r.output).toBe(0);
    }
    expect(await sub.exited).toBe(0);
    expect(sub.lines()).toEqual(["hello mqttv311", "hello mqttv5"]);
  });

  it("enforces the credential's topicAcl at SUBSCRIBE and PUBLISH", async () => {
    const cred = await admin.credential("acme", "sensors", "dev-acl", "pub:sensors/%c/# sub:cmd/%c/#");
    const raw = await RawClient.open(server.port, 5);
    expect((await raw.connect("dev-acl", { username: "x", password: encoder.encode(cred) })).reasonCode).toBe(0);
    const filters = ["cmd/dev-acl/#", "#", "$share/g/#", "+/dev-acl/#", "sensors/dev-acl/#"];
    raw.send({ type: "subscribe", packetId: 1, subscriptions: filters.map((topicFilter) => ({ topicFilter, qos: 1 as const, noLocal: false, retainAsPublished: false, retainHandling: 0 as const })) });
    expect((await raw.next("suback")).reasonCodes).toEqual([1, 0x87, 0x87, 0x87, 0x87]);
    raw.close();
    const c = await connect(url, { clientId: "dev-acl", username: "x", password: cred, protocolVersion: 5 });
    const ack = await new Promise<number | undefined>((resolve) => {
      c.publish("billing/secret", "x", { qos: 1 }, (_e, packet) => resolve((packet as { reasonCode?: number } | undefined)?.reasonCode));
    });
    expect(ack).toBe(0x87);
    await c.publishAsync("sensors/dev-acl/temp", "ok", { qos: 1 });
    c.end(true);
  });

  it("disconnects a live session within a second when its credential is revoked, and refuses it after", async () => {
    const cred = await admin.credential("acme", "sensors", "dev-revoked");
    const c = await connect(url, { clientId: "dev-revoked", username: "x", password: cred, protocolVersion: 5, reconnectPeriod: 0 });
    let reason: number | undefined;
    c.on("disconnect", (p) => (reason = p.reasonCode));
    const started = Date.now();
    await admin.ok("POST", `/namespaces/acme/brokers/sensors/revocations?jti=${jtiOf(cred)}`);
    await waitFor(() => reason !== undefined, 1000, "DISCONNECT after revocation");
    expect(Date.now() - started).toBeLessThan(1000);
    expect(reason).toBe(0x98);
    expect(await refusal(url, { clientId: "dev-revoked", username: "x", password: cred, protocolVersion: 5 })).toBe(0x87);
    const listed = await admin.ok("GET", "/namespaces/acme/brokers/sensors/revocations");
    expect(listed).toContain(jtiOf(cred));
  });

  it("refuses, with 0x86, a credential for a broker this server does not host, and disconnects clients of a deleted broker", async () => {
    await admin.ok("POST", "/namespaces/acme/brokers", { name: "doomed" });
    const cred = await admin.credential("acme", "doomed", "dev-doomed");
    const c = await connect(url, { clientId: "dev-doomed", username: "x", password: cred, protocolVersion: 5, reconnectPeriod: 0 });
    let reason: number | undefined;
    c.on("disconnect", (p) => (reason = p.reasonCode));
    await admin.ok("DELETE", "/namespaces/acme/brokers/doomed");
    await waitFor(() => reason !== undefined, 2000, "DISCONNECT after the broker was deleted");
    expect(reason).toBe(0x98);
    expect(await refusal(url, { clientId: "dev-doomed", username: "x", password: cred, protocolVersion: 5 })).toBe(0x86);
    const raw = await RawClient.open(server.port, 4);
    const ack = await raw.connect("dev-doomed", { username: "x", password: encoder.encode(cred) });
    expect(ack.reasonCode).toBe(4); // 3.1.1: bad user name or password
    await raw.waitClosed();
  });
});

describe("a broker's live state through the admin API", () => {
  const B = "/namespaces/acme/brokers/sensors";

  it("lists connected clients and sessions, and disconnects one with 0x98", async () => {
    const cred = await admin.credential("acme", "sensors", "live-1");
    const c = await connect(url, { clientId: "live-1", username: "x", password: cred, protocolVersion: 5, reconnectPeriod: 0 });
    await c.subscribeAsync("live/#", { qos: 1 });
    let reason: number | undefined;
    c.on("disconnect", (p) => (reason = p.reasonCode));
    const clients = await admin.ok("GET", `${B}/clients?client_id=live-1`);
    expect(clients).toHaveLength(1);
    expect(clients[0]).toMatchObject({ client_id: "live-1", jti: jtiOf(cred) });
    const subs = await admin.ok("GET", `${B}/subscriptions?client_id=live-1`);
    expect(subs.map((x: { topic_filter: string }) => x.topic_filter)).toEqual(["live/#"]);
    await admin.ok("DELETE", `${B}/clients/live-1`);
    await waitFor(() => reason !== undefined, 2000, "DISCONNECT from the admin API");
    expect(reason).toBe(0x98);
    expect(await admin.ok("GET", `${B}/clients?client_id=live-1`)).toEqual([]);
    expect((await admin.call("DELETE", `${B}/clients/live-1`)).status).toBe(404);
  });

  it("publishes over HTTP to MQTT subscribers, and reads and deletes retained messages", async () => {
    const cred = await admin.credential("acme", "sensors", "live-2");
    const c = await connect(url, { clientId: "live-2", username: "x", password: cred });
    const got = collect(c);
    await c.subscribeAsync("rooms/#", { qos: 1 });
    const sent = await admin.ok("POST", `${B}/publish`, { topic: "rooms/1/temp", payload: "21.5", qos: 1, retain: true });
    expect(sent.matched).toBe(1);
    await waitFor(() => got.length === 1);
    expect(got[0]).toMatchObject({ topic: "rooms/1/temp", payload: "21.5" });
    const retained = await admin.ok("GET", `${B}/retained?topic=${encodeURIComponent("rooms/#")}`);
    expect(retained.map((r: { topic: string; payload_utf8: string }) => [r.topic, r.payload_utf8])).toEqual([["rooms/1/temp", "21.5"]]);
    const bad = await admin.call("POST", `${B}/publish`, { topic: "rooms/+", payload: "x" });
    expect(bad.status).toBe(400);
    expect(bad.json.errors[0]!.message).toMatch(/topic/);
    await admin.ok("DELETE", `${B}/retained?topic=${encodeURIComponent("rooms/#")}`);
    expect(await admin.ok("GET", `${B}/retained?topic=${encodeURIComponent("rooms/#")}`)).toEqual([]);
    c.end(true);
  });

  it("serves its OpenAPI document without a token", async () => {
    const res = await fetch(`http://127.0.0.1:${server.ports.http}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = await res.json() as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\.1/);
    expect(Object.keys(doc.paths).length).toBeGreaterThan(15);
  });
});

describe("a client reaching its tenant broker by name", () => {
  it("routes a WebSocket connection by its Host header, so another broker's credential is refused", async () => {
    const wsUrl = `ws://127.0.0.1:${server.ports.ws}/mqtt`;
    const sensors = await admin.credential("acme", "sensors", "ws-dev");
    const billing = await admin.credential("acme", "billing", "ws-dev");
    const host = { wsOptions: { headers: { host: "sensors.acme.localhost" } } };
    const c = await connect(wsUrl, { clientId: "ws-dev", username: "x", password: sensors, ...host });
    c.end(true);
    expect(await refusal(wsUrl, { clientId: "ws-dev", username: "x", password: billing, protocolVersion: 5, ...host })).toBe(0x86);
    const unknown = { wsOptions: { headers: { host: "nothing.acme.localhost" } } };
    expect(await refusal(wsUrl, { clientId: "ws-dev", username: "x", password: sensors, protocolVersion: 5, ...unknown })).toBe(0x88);
  });

  it(RUNTIME === "deno"
    ? "on Deno, where TLS hides the SNI name, routes a TLS connection by its credential instead"
    : "routes a TLS connection by its SNI name, so another broker's credential is refused", async () => {
    const tlsUrl = `mqtts://127.0.0.1:${server.ports.tls}`;
    const sensors = await admin.credential("acme", "sensors", "tls-dev");
    const billing = await admin.credential("acme", "billing", "tls-dev");
    const sni = { servername: "sensors.acme.localhost", rejectUnauthorized: false };
    const c = await connect(tlsUrl, { clientId: "tls-dev", username: "x", password: sensors, ...sni });
    c.end(true);
    expect(await refusal(tlsUrl, { clientId: "tls-dev", username: "x", password: billing, protocolVersion: 5, ...sni })).toBe(RUNTIME === "deno" ? 0 : 0x86);
  });
});

describe("tenants in a data directory", () => {
  it("keeps namespaces, brokers, keys, revocations and API tokens across a restart, and prints the Admin token only the first time", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgemq-tenants-"));
    const first = await startBroker(["--admin-port", "0", "--data", dir]);
    let api = new Admin(first);
    await api.ok("POST", "/namespaces", { name: "durable" });
    await api.ok("POST", "/namespaces/durable/brokers", { name: "keeper", authType: "TOKEN" });
    const kept = await api.credential("durable", "keeper", "kept-1");
    const revoked = await api.credential("durable", "keeper", "gone-1");
    await api.ok("POST", `/namespaces/durable/brokers/keeper/revocations?jti=${jtiOf(revoked)}`);
    const keys = await api.ok("GET", "/namespaces/durable/brokers/keeper/publickeys");
    expect(await first.stop("SIGKILL")).toBe(null);

    const second = await startBroker(["--admin-port", "0", "--data", dir]);
    try {
      expect(second.output()).not.toMatch(/admin API token/);
      api = Object.assign(Object.create(Admin.prototype), { base: `http://127.0.0.1:${second.ports.http}/client/v4/accounts/${ACCOUNT}/pubsub`, token: api.token }) as Admin;
      expect((await api.ok("GET", "/namespaces")).map((n: { name: string }) => n.name)).toEqual(["durable"]);
      expect(await api.ok("GET", "/namespaces/durable/brokers/keeper/publickeys")).toEqual(keys);
      expect(await api.ok("GET", "/namespaces/durable/brokers/keeper/revocations")).toEqual([jtiOf(revoked)]);
      const c = await connect(second.url, { clientId: "kept-1", username: "x", password: kept });
      c.end(true);
      expect(await refusal(second.url, { clientId: "gone-1", username: "x", password: revoked, protocolVersion: 5 })).toBe(0x87);
    } finally {
      await second.stop();
    }
  });
});

describe("a listener bound to one tenant broker", () => {
  it("sends every connection to its broker, and answers 0x88 while that broker does not exist", async () => {
    const config = writeConfig({ listeners: [{ port: 0 }, { port: 0, broker: "gateway.acme" }], admin: { listeners: [{ port: 0 }], token: "configured-admin-token-1234" } });
    const s = await startBroker(["--config", config], {}, { autoPort: false });
    try {
      const bound = Number([...s.output().matchAll(/tcp:\/\/127\.0\.0\.1:(\d+)/g)][1]![1]);
      const api = Object.assign(Object.create(Admin.prototype), { base: `http://127.0.0.1:${s.ports.http}/client/v4/accounts/${ACCOUNT}/pubsub`, token: "configured-admin-token-1234" }) as Admin;
      expect(s.output()).not.toMatch(/admin API token/); // a configured token is neither printed nor written
      expect(await refusal(`mqtt://127.0.0.1:${bound}`, { clientId: "early", protocolVersion: 5 })).toBe(0x88);
      await api.ok("POST", "/namespaces", { name: "acme" });
      await api.ok("POST", "/namespaces/acme/brokers", { name: "gateway" });
      await api.ok("POST", "/namespaces/acme/brokers", { name: "other" });
      const mine = await api.credential("acme", "gateway", "gw-1");
      const theirs = await api.credential("acme", "other", "gw-1");
      const c = await connect(`mqtt://127.0.0.1:${bound}`, { clientId: "gw-1", username: "x", password: mine });
      c.end(true);
      expect(await refusal(`mqtt://127.0.0.1:${bound}`, { clientId: "gw-1", username: "x", password: theirs, protocolVersion: 5 })).toBe(0x86);
      expect(await refusal(`mqtt://127.0.0.1:${bound}`, { clientId: "anon", protocolVersion: 5 })).toBe(0x86);
    } finally {
      await s.stop();
    }
  });

  it("refuses a listener whose broker is not written <broker>.<namespace>", async () => {
    const config = writeConfig({ listeners: [{ port: 0, broker: "just-a-name" }] });
    const { code, output } = await runBrokerExpectingExit(["--config", config]);
    expect(code).toBe(2);
    expect(output).toContain(`listeners[0].broker must name one tenant broker as "<broker>.<namespace>"`);
  });
});

if (!CERTS_SUPPORTED) {
  describe("client certificates on Deno", () => {
    it("refuses to create an MTLS broker, saying why", async () => {
      const { status, json } = await admin.call("POST", "/namespaces/acme/brokers", { name: "certs", authType: "MTLS" });
      expect(status).toBe(400);
      expect(json.errors[0]!.message).toContain("auth type MTLS is not enabled on this server");
    });

    it("refuses --tls-ca at start, because Deno's TLS API cannot request client certificates", async () => {
      const { code, output } = await runBrokerExpectingExit(["--port", "0", "--tls-port", "0", "--tls-cert", certs.serverCert, "--tls-key", certs.serverKey, "--tls-ca", certs.caCert]);
      expect(code).toBe(2);
      expect(output).toContain("Deno's TLS API cannot request client certificates, so --tls-ca");
    });
  });
} else {
  describe("brokers whose clients authenticate by certificate", () => {
    let tlsUrl: string;
    const tls = (sni: string, withCert = true) => ({
      servername: sni, ca: readFileSync(certs.caCert), rejectUnauthorized: false, protocolVersion: 5 as const,
      ...(withCert ? { cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) } : {}),
    });
    beforeAll(async () => {
      tlsUrl = `mqtts://127.0.0.1:${server.ports.tls}`;
      await admin.ok("POST", "/namespaces/acme/brokers", { name: "certs", authType: "MTLS" });
      await admin.ok("POST", "/namespaces/acme/brokers", { name: "both", authType: "MTLS_AND_TOKEN" });
    });

    it("MTLS: takes the certificate's subject as the client id, and refuses another id or no certificate", async () => {
      const c = await connect(tlsUrl, { clientId: "", ...tls("certs.acme.localhost") });
      const got = collect(c);
      await c.subscribeAsync("mtls/#", { qos: 1 });
      await c.publishAsync("mtls/x", "by certificate", { qos: 1 });
      await waitFor(() => got.length === 1);
      c.end(true);
      const raw = await connect(tlsUrl, { clientId: "device-1", ...tls("certs.acme.localhost") });
      raw.end(true);
      expect(await refusal(tlsUrl, { clientId: "someone-else", ...tls("certs.acme.localhost") })).toBe(0x85);
      expect(await refusal(tlsUrl, { clientId: "device-1", ...tls("certs.acme.localhost", false) })).toBe(0x87);
      const issued = await admin.call("GET", "/namespaces/acme/brokers/certs/credentials?type=TOKEN&number=1");
      expect(issued.status).toBe(400); // an MTLS broker issues no tokens
    });

    it("MTLS_AND_TOKEN: needs both the certificate and a credential for the same client id", async () => {
      const same = await admin.credential("acme", "both", "device-1");
      const other = await admin.credential("acme", "both", "device-9");
      const c = await connect(tlsUrl, { clientId: "device-1", username: "x", password: same, ...tls("both.acme.localhost") });
      c.end(true);
      expect(await refusal(tlsUrl, { clientId: "device-1", ...tls("both.acme.localhost") })).toBe(0x86);
      expect(await refusal(tlsUrl, { clientId: "", username: "x", password: other, ...tls("both.acme.localhost") })).toBe(0x87);
      expect(await refusal(tlsUrl, { clientId: "device-1", username: "x", password: same, ...tls("both.acme.localhost", false) })).toBe(0x87);
    });
  });
}
