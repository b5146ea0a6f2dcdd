// SCRAM-SHA-256/512 over a real socket with mqtt.js's enhanced authentication
// (handleAuth): the configured users (--user) prove their password without
// sending it, and a wrong one is refused with CONNACK 0x87.
import type { IAuthPacket } from "mqtt-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, RawClient } from "../support/clients.ts";
import { ScramClient } from "../support/scram-client.ts";
import { ACCOUNT, Admin } from "../support/admin-api.ts";
import { type RunningBroker, startBroker, writeConfig } from "../support/server.ts";

describe("SCRAM for the configured users", () => {
  let server: RunningBroker;
  beforeAll(async () => {
    server = await startBroker(["--user", "alice:wonderland", "--sys-interval", "0"]);
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });

  for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
    it(`lets alice in with ${mechanism}, and the server proves it knew her password`, async () => {
      const mqtt = await import("mqtt");
      const scram = new ScramClient(mechanism, "alice", "wonderland");
      const client = mqtt.connect(server.url, {
        clientId: `alice-${mechanism}`, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000,
        properties: { authenticationMethod: mechanism, authenticationData: Buffer.from(scram.first()) },
      });
      client.handleAuth = (packet: IAuthPacket, done: (err?: Error, p?: IAuthPacket) => void) => {
        scram.final(packet.properties!.authenticationData!).then(
          (final) => done(undefined, { cmd: "auth", reasonCode: 0x18, properties: { authenticationMethod: mechanism, authenticationData: Buffer.from(final) } }),
          (e) => done(e),
        );
      };
      const connack = await new Promise<{ reasonCode?: number; properties?: { authenticationData?: Buffer } }>((resolve, reject) => {
        client.once("connect", (p) => resolve(p));
        client.once("error", reject);
      });
      expect(connack.reasonCode).toBe(0);
      expect(await scram.verify(connack.properties?.authenticationData)).toBe(true);
      // A working session: it publishes to itself.
      await client.subscribeAsync("scram/#", { qos: 1 });
      const got = new Promise<string>((r) => client.once("message", (_t, payload) => r(payload.toString())));
      await client.publishAsync("scram/hello", "hi", { qos: 1 });
      expect(await got).toBe("hi");
      await client.endAsync();
    });
  }

  it("closes an exchange the client leaves unanswered once the connect timeout passes", async () => {
    const slow = await startBroker(["--user", "alice:wonderland", "--sys-interval", "0", "--connect-timeout", "1"]);
    try {
      const raw = await RawClient.open(slow.port, 5);
      const scram = new ScramClient("SCRAM-SHA-256", "alice", "wonderland");
      raw.send({ type: "connect", protocolName: "MQTT", protocolVersion: 5, cleanStart: true, keepAlive: 60, clientId: "stalled", properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: scram.first() } });
      expect(await raw.next("auth")).toMatchObject({ reasonCode: 0x18 });
      const started = Date.now();
      await raw.waitClosed(5000);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(raw.received.some((p) => p.type === "connack" && p.reasonCode === 0)).toBe(false);
    } finally {
      await slow.stop();
    }
  }, 20_000);

  it("refuses a wrong password with CONNACK 0x87, and still takes the plain password", async () => {
    const mqtt = await import("mqtt");
    const scram = new ScramClient("SCRAM-SHA-256", "alice", "looking-glass");
    const client = mqtt.connect(server.url, {
      clientId: "alice-wrong", protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000,
      properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: Buffer.from(scram.first()) },
    });
    client.handleAuth = (packet: IAuthPacket, done: (err?: Error, p?: IAuthPacket) => void) => {
      void scram.final(packet.properties!.authenticationData!).then((final) =>
        done(undefined, { cmd: "auth", reasonCode: 0x18, properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: Buffer.from(final) } }));
    };
    const error = await new Promise<Error & { code?: number }>((resolve) => client.once("error", (e) => resolve(e as Error & { code?: number })));
    expect(error.code).toBe(0x87);
    client.end(true);
    const plain = await connect(server.url, { clientId: "alice-plain", username: "alice", password: "wonderland" });
    await plain.endAsync();
  });
});

// A SCRAM login with mqtt.js; resolves to the CONNACK's reason code (or the refusal's) and whether the server proved itself.
async function scramLogin(url: string, mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512", user: string, password: string, clientId: string): Promise<{ code: number; proved: boolean }> {
  const mqtt = await import("mqtt");
  const scram = new ScramClient(mechanism, user, password);
  const client = mqtt.connect(url, {
    clientId, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000,
    properties: { authenticationMethod: mechanism, authenticationData: Buffer.from(scram.first()) },
  });
  client.handleAuth = (packet: IAuthPacket, done: (err?: Error, p?: IAuthPacket) => void) => {
    void scram.final(packet.properties!.authenticationData!).then((final) =>
      done(undefined, { cmd: "auth", reasonCode: 0x18, properties: { authenticationMethod: mechanism, authenticationData: Buffer.from(final) } }));
  };
  return new Promise((resolve) => {
    client.once("connect", (p) => {
      void scram.verify(p.properties?.authenticationData).then((proved) => {
        client.end(true);
        resolve({ code: p.reasonCode ?? 0, proved });
      });
    });
    client.once("error", (e) => {
      client.end(true);
      resolve({ code: (e as Error & { code?: number }).code ?? -1, proved: false });
    });
  });
}

describe("SCRAM users of a tenant broker", () => {
  it("are added, listed and removed through the admin API (never showing a key), and log in on the broker's listener", async () => {
    const token = "scram-test-admin-token-0123456789";
    const config = writeConfig({ listeners: [{ port: 0 }, { port: 0, broker: "sensors.acme" }], admin: { listeners: [{ port: 0 }], token } });
    const s = await startBroker(["--config", config], {}, { autoPort: false });
    try {
      const bound = `mqtt://127.0.0.1:${Number([...s.output().matchAll(/tcp:\/\/127\.0\.0\.1:(\d+)/g)][1]![1])}`;
      const api = Object.assign(Object.create(Admin.prototype), { base: `http://127.0.0.1:${s.ports.http}/client/v4/accounts/${ACCOUNT}/pubsub`, token }) as Admin;
      await api.ok("POST", "/namespaces", { name: "acme" });
      await api.ok("POST", "/namespaces/acme/brokers", { name: "sensors" });
      const added = await api.ok("POST", "/namespaces/acme/brokers/sensors/scram-users", { username: "meter-7", password: "correct horse battery" });
      expect(added).toMatchObject({ username: "meter-7", iterations: 4096, mechanisms: ["SCRAM-SHA-256", "SCRAM-SHA-512"] });
      const listed = await api.call("GET", "/namespaces/acme/brokers/sensors/scram-users");
      expect(listed.json.result).toEqual([added]);
      expect(JSON.stringify(listed.json)).not.toMatch(/stored_key|server_key|salt/);
      // Every problem of the body at once.
      const bad = await api.call("POST", "/namespaces/acme/brokers/sensors/scram-users", { username: "", password: "short", iterations: 10 });
      expect(bad.status).toBe(400);
      expect(bad.json.errors.length).toBe(3);
      // A Viewer may look, not add.
      const viewer = await api.apiToken("Viewer");
      expect((await api.call("POST", "/namespaces/acme/brokers/sensors/scram-users", { username: "x", password: "long enough pw" }, viewer)).status).toBe(403);

      expect(await scramLogin(bound, "SCRAM-SHA-512", "meter-7", "correct horse battery", "meter-7")).toEqual({ code: 0, proved: true });
      expect((await scramLogin(bound, "SCRAM-SHA-256", "meter-7", "wrong horse battery", "meter-7")).code).toBe(0x87);
      await api.ok("DELETE", "/namespaces/acme/brokers/sensors/scram-users/meter-7");
      expect((await scramLogin(bound, "SCRAM-SHA-256", "meter-7", "correct horse battery", "meter-7")).code).toBe(0x87);
      expect((await api.call("DELETE", "/namespaces/acme/brokers/sensors/scram-users/meter-7")).status).toBe(404);
    } finally {
      await s.stop();
    }
  }, 30_000);
});

