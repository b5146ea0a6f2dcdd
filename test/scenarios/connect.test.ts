// CONNECT and CONNACK over real sockets: sessions flags, client identifiers,
// protocol levels, takeover, the connect timeout, the properties that
// describe the broker, and password authentication.
import type { MqttClient } from "mqtt";
import mqtt, { type IClientOptions, type IConnackPacket } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePacket } from "@edgemq/core/codec";
import { collect, connect, mosquittoPub, mosquittoSub, RawClient, sleep, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

/** Connects mqtt.js and resolves with the client and its CONNACK. */
function connectWithAck(url: string, options: IClientOptions = {}): Promise<{ client: MqttClient; connack: IConnackPacket }> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 5, ...options });
  return new Promise((resolve, reject) => {
    client.once("connect", (connack) => resolve({ client, connack }));
    client.once("error", (e) => { client.end(true); reject(e); });
    client.once("close", () => reject(new Error("connection closed before CONNACK")));
  });
}

/** Every byte the server sends on a raw client's socket, from now on. */
function bytesOf(raw: RawClient): number[] {
  const bytes: number[] = [];
  raw.socket.on("data", (chunk: Buffer) => bytes.push(...chunk));
  return bytes;
}

/** A CONNECT with any protocol name and level, written byte by byte. */
function connectBytes(name: string, level: number, clientId = "x"): number[] {
  const body = [0, name.length, ...Buffer.from(name), level, 0x02, 0, 60, 0, clientId.length, ...Buffer.from(clientId)];
  return [0x10, body.length, ...body];
}

/** Resolves with an mqtt.js connection error's code (rejects if it connected). */
async function refusal(url: string, options: IClientOptions): Promise<number | string | undefined> {
  try {
    const c = await connect(url, options);
    c.end(true);
  } catch (e) {
    return (e as { code?: number | string }).code;
  }
  throw new Error("the connection was accepted");
}

describe("CONNECT and CONNACK", () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("reports Session Present 0 on a clean start and 1 when a 5.0 client resumes a persistent session", async () => {
    const a = await RawClient.open(broker.port, 5);
    const first = await a.connect("sp-v5", { cleanStart: true, properties: { sessionExpiryInterval: 60 } });
    expect(first).toMatchObject({ reasonCode: 0, sessionPresent: false });
    a.send({ type: "disconnect", reasonCode: 0 });
    await a.waitClosed();

    const b = await RawClient.open(broker.port, 5);
    expect(await b.connect("sp-v5", { cleanStart: false, properties: { sessionExpiryInterval: 60 } })).toMatchObject({ reasonCode: 0, sessionPresent: true });
    b.send({ type: "disconnect", reasonCode: 0 });
    await b.waitClosed();

    // Clean Start 1 discards the stored session [MQTT-3.1.2-4].
    const c = await RawClient.open(broker.port, 5);
    expect(await c.connect("sp-v5", { cleanStart: true, properties: { sessionExpiryInterval: 60 } })).toMatchObject({ reasonCode: 0, sessionPresent: false });
    c.send({ type: "disconnect", reasonCode: 0 });
    await c.waitClosed();

    // The same with mqtt.js: clean false resumes what the last connection left.
    const { client, connack } = await connectWithAck(broker.url, { clientId: "sp-v5", clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(connack.sessionPresent).toBe(true);
    await client.endAsync();
  });

  it("reports Session Present at 3.1.1 for clean session 0 only when a session was kept", async () => {
    const a = await RawClient.open(broker.port, 4);
    expect(await a.connect("sp-v4", { cleanStart: false })).toMatchObject({ reasonCode: 0, sessionPresent: false });
    a.send({ type: "disconnect", reasonCode: 0 });
    await a.waitClosed();

    const { client, connack } = await connectWithAck(broker.url, { protocolVersion: 4, clientId: "sp-v4", clean: false });
    expect(connack.sessionPresent).toBe(true);
    await client.endAsync();

    // Clean session 1 discards it and starts a session that ends with the connection.
    const b = await RawClient.open(broker.port, 4);
    expect(await b.connect("sp-v4", { cleanStart: true })).toMatchObject({ reasonCode: 0, sessionPresent: false });
    b.send({ type: "disconnect", reasonCode: 0 });
    await b.waitClosed();
    const c = await RawClient.open(broker.port, 4);
    expect(await c.connect("sp-v4", { cleanStart: false })).toMatchObject({ reasonCode: 0, sessionPresent: false });
    c.close();
  });

  it("assigns a client identifier to a 5.0 client that sends an empty one, and the identifier names its session", async () => {
    const raw = await RawClient.open(broker.port, 5);
    const ack = await raw.connect("", { properties: { sessionExpiryInterval: 60 } });
    expect(ack.reasonCode).toBe(0);
    const assigned = ack.properties?.assignedClientIdentifier;
    expect(assigned).toMatch(/^edgemq-[0-9a-f-]{36}$/);
    raw.send({ type: "disconnect", reasonCode: 0 });
    await raw.waitClosed();

    // The assigned identifier is a real one: the session it named is still there.
    const again = await RawClient.open(broker.port, 5);
    const resumed = await again.connect(assigned!, { cleanStart: false, properties: { sessionExpiryInterval: 60 } });
    expect(resumed).toMatchObject({ reasonCode: 0, sessionPresent: true });
    expect(resumed.properties?.assignedClientIdentifier).toBeUndefined();
    again.close();

    // mqtt.js with an empty client id gets one too, and two such clients get different ones.
    const one = await connectWithAck(broker.url, { clientId: "" });
    const two = await connectWithAck(broker.url, { clientId: "" });
    expect(one.connack.properties?.assignedClientIdentifier).toMatch(/^edgemq-/);
    expect(two.connack.properties?.assignedClientIdentifier).toMatch(/^edgemq-/);
    expect(one.connack.properties?.assignedClientIdentifier).not.toBe(two.connack.properties?.assignedClientIdentifier);
    one.client.end(); two.client.end();
  });

  it("accepts an empty client identifier at 3.1.1 with clean session 1 and refuses it with return code 0x02 with clean session 0", async () => {
    const ok = await RawClient.open(broker.port, 4);
    expect(await ok.connect("", { cleanStart: true })).toMatchObject({ reasonCode: 0, sessionPresent: false });
    // The connection works: a PINGREQ is answered.
    ok.send({ type: "pingreq" });
    await ok.next("pingresp");
    ok.close();

    const refused = await RawClient.open(broker.port, 4);
    expect(await refused.connect("", { cleanStart: false })).toMatchObject({ reasonCode: 0x02, sessionPresent: false });
    await refused.waitClosed();

    // The same through mqtt.js.
    const { client, connack } = await connectWithAck(broker.url, { protocolVersion: 4, clientId: "", clean: true });
    expect(connack.returnCode).toBe(0);
    client.end(); // (mqtt.js itself refuses to send an empty id with clean session 0)
  });

  it("accepts an MQTT 3.1 (MQIsdp) client from mosquitto_pub, mqtt.js and a raw socket", async () => {
    const raw = await RawClient.open(broker.port, 3);
    expect(await raw.connect("v31-raw")).toMatchObject({ reasonCode: 0, sessionPresent: false });
    raw.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "v31/#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    expect((await raw.next("suback")).reasonCodes).toEqual([1]);

    const v31 = await connect(broker.url, { protocolVersion: 3, protocolId: "MQIsdp", clientId: "v31-js" });
    await v31.publishAsync("v31/js", "from mqtt.js", { qos: 1 });
    const pub = await mosquittoPub(["-h", "127.0.0.1", "-p", String(broker.port), "-V", "mqttv31", "-t", "v31/cli", "-m", "from mosquitto_pub", "-q", "1"]);
    expect(pub.code).toBe(0);
    await waitFor(() => raw.received.filter((p) => p.type === "publish").length === 2, 3000, "two messages at the 3.1 client");
    const got = raw.received.filter((p) => p.type === "publish").map((p) => [p.topic, Buffer.from(p.payload).toString()]);
    expect(got).toEqual([["v31/js", "from mqtt.js"], ["v31/cli", "from mosquitto_pub"]]);
    v31.end();
    raw.close();
  });

  it("answers an unsupported protocol level with a CONNACK refusing it (0x01) and closes", async () => {
    for (const [name, level] of [["MQTT", 6], ["MQTT", 3], ["MQIsdp", 4], ["MQTT", 0]] as const) {
      const raw = await RawClient.open(broker.port, 4);
      const bytes = bytesOf(raw);
      raw.sendBytes(connectBytes(name, level));
      await raw.waitClosed();
      // The client's level is not one we speak, so the 3.1.1 form that every client can read [MQTT-3.1.2-2].
      expect(bytes, `${name} level ${level}`).toEqual([0x20, 0x02, 0x00, 0x01]);
    }
  });

  it("answers an unknown protocol name with the same refusal and closes", async () => {
    const raw = await RawClient.open(broker.port, 4);
    const bytes = bytesOf(raw);
    raw.sendBytes(connectBytes("MQTX", 4));
    await raw.waitClosed();
    expect(bytes).toEqual([0x20, 0x02, 0x00, 0x01]);
  });

  it("takes over a 5.0 session: the old connection gets DISCONNECT 0x8E and is closed, the new one has the session", async () => {
    const old = await RawClient.open(broker.port, 5);
    await old.connect("takeover-5", { properties: { sessionExpiryInterval: 60 } });
    old.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "takeover/5", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await old.next("suback");

    const taker = await RawClient.open(broker.port, 5);
    const ack = await taker.connect("takeover-5", { cleanStart: false, properties: { sessionExpiryInterval: 60 } });
    expect(ack).toMatchObject({ reasonCode: 0, sessionPresent: true });
    const d = await old.next("disconnect");
    expect(d.reasonCode).toBe(0x8e); // [MQTT-3.1.4-3]
    await old.waitClosed();

    // The subscription came with the session.
    const pub = await mosquittoPub(["-h", "127.0.0.1", "-p", String(broker.port), "-V", "mqttv5", "-t", "takeover/5", "-m", "to the new one", "-q", "1"]);
    expect(pub.code).toBe(0);
    const msg = await taker.next("publish");
    expect(Buffer.from(msg.payload).toString()).toBe("to the new one");
    taker.close();
  });

  it("takes over with mqtt.js clients: the first is told 0x8E, and at 3.1.1 the old socket is just closed", async () => {
    const first = await connect(broker.url, { clientId: "takeover-js" });
    let reason: number | undefined;
    first.on("disconnect", (p) => (reason = p.reasonCode));
    const second = await connect(broker.url, { clientId: "takeover-js" });
    await waitFor(() => reason !== undefined && !first.connected, 3000, "the first client to be disconnected");
    expect(reason).toBe(0x8e);
    expect(second.connected).toBe(true);
    second.end();

    const old4 = await RawClient.open(broker.port, 4);
    await old4.connect("takeover-4");
    const new4 = await RawClient.open(broker.port, 4);
    expect((await new4.connect("takeover-4")).reasonCode).toBe(0);
    await old4.waitClosed();
    expect(old4.received).toEqual([]);
    new4.send({ type: "pingreq" });
    await new4.next("pingresp");
    new4.close();
  });

  it("answers a second CONNECT on one connection with DISCONNECT 0x82 and closes (5.0) or just closes (3.1.1)", async () => {
    const raw = await RawClient.open(broker.port, 5);
    await raw.connect("twice-5");
    raw.send({ type: "connect", protocolName: "MQTT", protocolVersion: 5, cleanStart: true, keepAlive: 60, clientId: "twice-5" });
    expect((await raw.next("disconnect")).reasonCode).toBe(0x82); // [MQTT-3.1.0-2]
    await raw.waitClosed();
    expect(raw.received).toEqual([]); // no second CONNACK

    const raw4 = await RawClient.open(broker.port, 4);
    await raw4.connect("twice-4");
    raw4.send({ type: "connect", protocolName: "MQTT", protocolVersion: 4, cleanStart: true, keepAlive: 60, clientId: "twice-4" });
    await raw4.waitClosed();
    expect(raw4.received).toEqual([]);
  });

  it("closes a connection whose first packet is not CONNECT, without answering it", async () => {
    const firsts: number[][] = [
      [0xc0, 0x00], // PINGREQ
      [0x30, 0x05, 0x00, 0x01, 0x61, 0x68, 0x69], // PUBLISH a "hi"
      [0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00], // SUBSCRIBE a (3.1.1 form)
      [0xe0, 0x00], // DISCONNECT
    ];
    for (const first of firsts) {
      const raw = await RawClient.open(broker.port, 5);
      const bytes = bytesOf(raw);
      raw.sendBytes(first);
      await raw.waitClosed(); // [MQTT-3.1.0-1]
      expect(bytes, `after 0x${first[0]!.toString(16)}`).toEqual([]);
    }
  });

  it("processes packets that arrive in the same write as the CONNECT, in order, after the CONNACK", async () => {
    for (const version of [5, 4] as const) {
      const raw = await RawClient.open(broker.port, version);
      const topic = `pipelined/${version}`;
      const parts = [
        encodePacket({ type: "connect", protocolName: "MQTT", protocolVersion: version, cleanStart: true, keepAlive: 60, clientId: `pipelined-${version}` }, version),
        encodePacket({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: topic, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] }, version),
        encodePacket({ type: "publish", topic, payload: new TextEncoder().encode("to myself"), qos: 1, retain: false, dup: false, packetId: 2 }, version),
        encodePacket({ type: "pingreq" }, version),
      ];
      raw.sendBytes(Buffer.concat(parts));
      await waitFor(() => raw.received.length >= 5, 3000, "five packets back");
      const types = raw.received.map((p) => p.type);
      expect(types[0]).toBe("connack");
      expect(types.slice(1).sort()).toEqual(["pingresp", "puback", "publish", "suback"]);
      expect(types.indexOf("suback")).toBeLessThan(types.indexOf("puback"));
      raw.close();
    }
  });

  it("describes itself in the 5.0 CONNACK: Receive Maximum, Maximum Packet Size, Topic Alias Maximum, and every feature available", async () => {
    const raw = await RawClient.open(broker.port, 5);
    const ack = await raw.connect("props");
    expect(ack.properties).toEqual({ receiveMaximum: 100, maximumPacketSize: 1048576, topicAliasMaximum: 16 });
    // Absent means the spec's default: Maximum QoS 2, Retain, Wildcard, Subscription Identifier and Shared Subscription available.
    raw.close();

    const { client, connack } = await connectWithAck(broker.url, { clientId: "props-js" });
    expect(connack.properties).toMatchObject({ receiveMaximum: 100, maximumPacketSize: 1048576, topicAliasMaximum: 16 });
    for (const absent of ["maximumQoS", "retainAvailable", "wildcardSubscriptionAvailable", "subscriptionIdentifiersAvailable", "sharedSubscriptionAvailable", "serverKeepAlive", "assignedClientIdentifier"]) {
      expect(connack.properties, absent).not.toHaveProperty(absent);
    }
    client.end();
  });

  it("refuses an authentication method it does not offer with CONNACK 0x8C and closes", async () => {
    const raw = await RawClient.open(broker.port, 5);
    const ack = await raw.connect("auth-method", { properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: new Uint8Array([1, 2, 3]) } });
    expect(ack.reasonCode).toBe(0x8c);
    await raw.waitClosed();
    expect(await refusal(broker.url, { clientId: "auth-method-js", properties: { authenticationMethod: "KERBEROS" } })).toBe(0x8c);
  });
});

describe("CONNACK properties follow the limits the broker was started with", () => {
  it("advertises --receive-maximum and --max-packet-size", async () => {
    const b = await startBroker(["--receive-maximum", "7", "--max-packet-size", "5000"]);
    try {
      const { client, connack } = await connectWithAck(b.url, { clientId: "limits" });
      expect(connack.properties).toMatchObject({ receiveMaximum: 7, maximumPacketSize: 5000, topicAliasMaximum: 16 });
      client.end();
    } finally {
      await b.stop();
    }
  });
});

describe("CONNACK properties follow the feature preset", () => {
  it("says Maximum QoS 0 and that retain, wildcards, subscription identifiers and shared subscriptions are unavailable under --preset cloudflare", async () => {
    const b = await startBroker(["--preset", "cloudflare"]);
    try {
      const raw = await RawClient.open(b.port, 5);
      const ack = await raw.connect("cf");
      expect(ack.reasonCode).toBe(0);
      expect(ack.properties).toMatchObject({
        maximumQoS: 0, retainAvailable: false, wildcardSubscriptionAvailable: false,
        subscriptionIdentifiersAvailable: false, sharedSubscriptionAvailable: false,
      });
      raw.close();
      const { client, connack } = await connectWithAck(b.url, { clientId: "cf-js" });
      expect(connack.properties).toMatchObject({ maximumQoS: 0, retainAvailable: false });
      client.end();
      // 3.1.1 is not offered there: refused with 0x01 [MQTT-3.1.2-2] (3.1.1).
      const v4 = await RawClient.open(b.port, 4);
      expect((await v4.connect("cf-4")).reasonCode).toBe(0x01);
      await v4.waitClosed();
      const pub = await mosquittoPub(["-h", "127.0.0.1", "-p", String(b.port), "-V", "mqttv311", "-t", "cf", "-m", "x"]);
      expect(pub.code).not.toBe(0);
    } finally {
      await b.stop();
    }
  });
});

describe("a socket that never sends CONNECT", () => {
  it("is closed after --connect-timeout 1, not before", async () => {
    const b = await startBroker(["--connect-timeout", "1"]);
    try {
      const silent = await RawClient.open(b.port, 5);
      // A socket that sent half a CONNECT is no better.
      const partial = await RawClient.open(b.port, 5);
      partial.sendBytes([0x10, 0x20, 0x00, 0x04]);
      const opened = Date.now();
      await sleep(800);
      expect(silent.closed).toBe(false);
      expect(partial.closed).toBe(false);
      await silent.waitClosed(2000);
      await partial.waitClosed(1000);
      expect(Date.now() - opened).toBeLessThan(2500);
      expect(silent.received).toEqual([]);
      // A client that does connect in time is not affected.
      const c = await RawClient.open(b.port, 5);
      expect((await c.connect("in-time")).reasonCode).toBe(0);
      await sleep(1500);
      expect(c.closed).toBe(false);
      c.close();
    } finally {
      await b.stop();
    }
  });
});

describe("password authentication with --user", () => {
  let b: RunningBroker;
  beforeAll(async () => {
    b = await startBroker(["--user", "alice:s3cret"]);
  });
  afterAll(async () => {
    await b.stop();
  });

  it("accepts the right password at 5.0 and 3.1.1, from mqtt.js and mosquitto_pub", async () => {
    for (const protocolVersion of [5, 4] as const) {
      const c = await connect(b.url, { protocolVersion, clientId: `alice-${protocolVersion}`, username: "alice", password: "s3cret" });
      c.end();
    }
    const sub = await connect(b.url, { clientId: "alice-sub", username: "alice", password: "s3cret" });
    const got = collect(sub);
    await sub.subscribeAsync("auth/ok", { qos: 1 });
    for (const v of ["mqttv5", "mqttv311"]) {
      const r = await mosquittoPub(["-h", "127.0.0.1", "-p", String(b.port), "-V", v, "-u", "alice", "-P", "s3cret", "-t", "auth/ok", "-m", v, "-q", "1"]);
      expect(r.code, r.output).toBe(0);
    }
    await waitFor(() => got.length === 2);
    expect(got.map((m) => m.payload)).toEqual(["mqttv5", "mqttv311"]);
    sub.end();
  });

  it("refuses a wrong password with 0x86 at 5.0 and 0x04 at 3.1.1", async () => {
    expect(await refusal(b.url, { protocolVersion: 5, username: "alice", password: "wrong" })).toBe(0x86);
    expect(await refusal(b.url, { protocolVersion: 4, username: "alice", password: "wrong" })).toBe(4);
    expect(await refusal(b.url, { protocolVersion: 5, username: "mallory", password: "s3cret" })).toBe(0x86);
    const raw = await RawClient.open(b.port, 5);
    expect((await raw.connect("wrong", { username: "alice", password: new TextEncoder().encode("wrong") })).reasonCode).toBe(0x86);
    await raw.waitClosed();
    const r = await mosquittoPub(["-h", "127.0.0.1", "-p", String(b.port), "-V", "mqttv311", "-u", "alice", "-P", "nope", "-t", "auth/no", "-m", "x"]);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/bad user name or password/i);
  });

  it("refuses a client with no credentials with 0x87 at 5.0 and 0x05 at 3.1.1", async () => {
    expect(await refusal(b.url, { protocolVersion: 5, clientId: "anon5" })).toBe(0x87);
    expect(await refusal(b.url, { protocolVersion: 4, clientId: "anon4" })).toBe(5);
    const raw = await RawClient.open(b.port, 4);
    expect((await raw.connect("anon-raw")).reasonCode).toBe(5);
    await raw.waitClosed();
    const r = await mosquittoPub(["-h", "127.0.0.1", "-p", String(b.port), "-V", "mqttv5", "-t", "auth/no", "-m", "x"]);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/not authori[sz]ed/i);
  });

  it("delivers nothing from refused publishers to a subscriber", async () => {
    const sub = mosquittoSub(["-h", "127.0.0.1", "-p", String(b.port), "-u", "alice", "-P", "s3cret", "-t", "auth/leak", "-C", "1", "-W", "5"]);
    const good = connect(b.url, { clientId: "good-pub", username: "alice", password: "s3cret" });
    await mosquittoPub(["-h", "127.0.0.1", "-p", String(b.port), "-u", "alice", "-P", "bad", "-t", "auth/leak", "-m", "leak"]);
    await mosquittoPub(["-h", "127.0.0.1", "-p", String(b.port), "-t", "auth/leak", "-m", "leak"]);
    // The first message mosquitto_sub prints must be the accepted one: retry until it lands.
    const g = await good;
    await waitFor(() => sub.lines().length > 0 || (void g.publish("auth/leak", "accepted"), false), 4000, "mosquitto_sub to print").catch(() => {});
    await sub.exited;
    expect(sub.lines()).toEqual(["accepted"]);
    g.end();
  });
});
