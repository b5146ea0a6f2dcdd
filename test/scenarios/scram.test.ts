// SCRAM-SHA-256/512 over a real socket with mqtt.js's enhanced authentication
// (handleAuth): the configured users (--user) prove their password without
// sending it, and a wrong one is refused with CONNACK 0x87.
import type { IAuthPacket } from "mqtt-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../support/clients.ts";
import { ScramClient } from "../support/scram-client.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

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
