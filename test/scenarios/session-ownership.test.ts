// Sessions as a resource and as property, over real sockets: --max-sessions
// bounds how many a broker holds, and a session belongs to the identity that
// holds it, so another user cannot take it over or wipe it by its client id.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProtocolVersion, PublishPacket } from "@edgemq/core/codec";
import { RawClient, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

const encoder = new TextEncoder();
const publishes = (raw: RawClient) => raw.received.filter((p): p is PublishPacket => p.type === "publish");

/** Connects a raw client; `lasting` asks for a session that outlives the connection. */
async function open(broker: RunningBroker, clientId: string, o: { version?: ProtocolVersion; user?: string; lasting?: boolean; cleanStart?: boolean } = {}) {
  const version = o.version ?? 5;
  const raw = await RawClient.open(broker.port, version);
  const connack = await raw.connect(clientId, {
    cleanStart: o.cleanStart ?? !o.lasting,
    ...(o.user !== undefined ? { username: o.user, password: encoder.encode("pw") } : {}),
    ...(version === 5 && o.lasting ? { properties: { sessionExpiryInterval: 3600 } } : {}),
  });
  return { raw, connack };
}

describe("--max-sessions", () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker(["--max-sessions", "3", "--sys-interval", "0"]);
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("refuses a fourth lasting session with CONNACK 0x97 (3.1.1: 3) and still lets an existing one resume", async () => {
    for (const id of ["keep-1", "keep-2", "keep-3"]) {
      const { raw, connack } = await open(broker, id, { lasting: true });
      expect(connack.reasonCode, id).toBe(0);
      raw.close();
    }
    const fourth = await open(broker, "keep-4", { lasting: true });
    expect(fourth.connack.reasonCode).toBe(0x97);
    await fourth.raw.waitClosed();
    const fourthV4 = await open(broker, "keep-4", { version: 4, lasting: true });
    expect(fourthV4.connack.reasonCode).toBe(3);
    // Resuming a session, or starting it afresh with Clean Start, starts none more.
    const resumed = await open(broker, "keep-2", { lasting: true });
    expect(resumed.connack).toMatchObject({ reasonCode: 0, sessionPresent: true });
    resumed.raw.close();
    const fresh = await open(broker, "keep-3", { lasting: true, cleanStart: true });
    expect(fresh.connack).toMatchObject({ reasonCode: 0, sessionPresent: false });
    fresh.raw.close();
  });
});

describe("a session belongs to the user that holds it", () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker(["--user", "alice:pw", "--user", "bob:pw", "--sys-interval", "0"]);
  });
  afterAll(async () => {
    await broker.stop();
  });

  /** Bob's lasting session under `clientId`, subscribed to its inbox, offline with 10 QoS 1 messages queued. */
  async function bobOfflineWithTen(clientId: string): Promise<void> {
    const bob = await open(broker, clientId, { user: "bob", lasting: true });
    expect(bob.connack.reasonCode).toBe(0);
    bob.raw.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: `${clientId}/inbox`, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    expect((await bob.raw.next("suback")).reasonCodes).toEqual([1]);
    bob.raw.close();
    await waitFor(() => bob.raw.closed);
    const pub = await open(broker, `${clientId}-publisher`, { user: "bob" });
    for (let i = 1; i <= 10; i++) {
      pub.raw.send({ type: "publish", topic: `${clientId}/inbox`, qos: 1, packetId: i, retain: false, dup: false, payload: encoder.encode(`m${i}`) });
      await pub.raw.next("puback");
    }
    pub.raw.close();
  }

  /** Bob comes back: his session is there with all 10 messages. */
  async function bobGetsTen(clientId: string): Promise<void> {
    const bob = await open(broker, clientId, { user: "bob", lasting: true });
    expect(bob.connack).toMatchObject({ reasonCode: 0, sessionPresent: true });
    await waitFor(() => publishes(bob.raw).length >= 10, 5000, "10 messages");
    expect(publishes(bob.raw).map((p) => new TextDecoder().decode(p.payload))).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 1}`));
    bob.raw.close();
  }

  it("refuses alice with bob's client id (Clean Start 0 and 1, 5.0 and 3.1.1) with 0x87 / 5, and bob then gets 10 of 10", async () => {
    await bobOfflineWithTen("bob-phone");
    const resume = await open(broker, "bob-phone", { user: "alice", lasting: true });
    expect(resume.connack.reasonCode).toBe(0x87);
    const wipe = await open(broker, "bob-phone", { user: "alice", lasting: true, cleanStart: true });
    expect(wipe.connack.reasonCode).toBe(0x87);
    const v4 = await open(broker, "bob-phone", { user: "alice", version: 4, lasting: true });
    expect(v4.connack.reasonCode).toBe(5);
    const v4Clean = await open(broker, "bob-phone", { user: "alice", version: 4, cleanStart: true });
    expect(v4Clean.connack.reasonCode).toBe(5);
    await bobGetsTen("bob-phone");
  });

  it("refuses alice while bob is connected, and leaves bob's connection alone", async () => {
    const bob = await open(broker, "bob-laptop", { user: "bob" });
    expect(bob.connack.reasonCode).toBe(0);
    const alice = await open(broker, "bob-laptop", { user: "alice" });
    expect(alice.connack.reasonCode).toBe(0x87);
    bob.raw.send({ type: "pingreq" });
    await bob.raw.next("pingresp");
    expect(bob.raw.closed).toBe(false);
    bob.raw.close();
  });
});

describe("--session-takeover any", () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker(["--user", "alice:pw", "--user", "bob:pw", "--session-takeover", "any", "--sys-interval", "0"]);
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("lets another user take a session over, as Mosquitto does", async () => {
    const bob = await open(broker, "shared-id", { user: "bob", lasting: true });
    expect(bob.connack.reasonCode).toBe(0);
    bob.raw.close();
    await waitFor(() => bob.raw.closed);
    const alice = await open(broker, "shared-id", { user: "alice", lasting: true });
    expect(alice.connack).toMatchObject({ reasonCode: 0, sessionPresent: true });
    alice.raw.close();
  });
});
