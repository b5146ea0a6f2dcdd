// The feature policy over real sockets: what the default broker advertises,
// the `cloudflare` preset row by row against Cloudflare Pub/Sub's MQTT
// compatibility table, and single features switched off in a --config file.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Packet, ProtocolVersion } from "@edgemq/core/codec";
import { collect, connect, RawClient, sleep, waitFor } from "../support/clients.ts";
import { type RunningBroker, runBrokerExpectingExit, startBroker, writeConfig } from "../support/server.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();


type Connect = Partial<Extract<Packet, { type: "connect" }>>;
type Publish = Extract<Packet, { type: "publish" }>;

async function rawConnect(port: number, clientId: string, version: ProtocolVersion = 5, extra: Connect = {}): Promise<RawClient> {
  const raw = await RawClient.open(port, version);
  const ack = await raw.connect(clientId, extra);
  expect(ack.reasonCode).toBe(0);
  return raw;
}

function sub(packetId: number, filters: string[], qos: 0 | 1 | 2 = 0, properties?: { subscriptionIdentifier?: number }): Packet {
  return { type: "subscribe", packetId, subscriptions: filters.map((topicFilter) => ({ topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 as const })), properties };
}

function pub(topic: string, payload: string, extra: Partial<Publish> = {}): Packet {
  return { type: "publish", topic, payload: enc.encode(payload), qos: 0, retain: false, dup: false, ...extra };
}

/** Expects the server to answer with DISCONNECT and this reason code, then close the socket. */
async function expectDisconnect(raw: RawClient, reasonCode: number): Promise<void> {
  const d = await raw.next("disconnect");
  expect(d.reasonCode).toBe(reasonCode);
  await raw.waitClosed();
}

const publishes = (raw: RawClient) => raw.received.filter((p): p is Publish => p.type === "publish");

describe("the default broker", () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("advertises every feature: CONNACK leaves out Maximum QoS and the Available flags, whose absence means supported", async () => {
    const raw = await RawClient.open(broker.port, 5);
    const ack = await raw.connect("adv");
    expect(ack.reasonCode).toBe(0);
    const props = ack.properties ?? {};
    for (const key of ["maximumQoS", "retainAvailable", "wildcardSubscriptionAvailable", "subscriptionIdentifiersAvailable", "sharedSubscriptionAvailable"]) {
      expect(props, key).not.toHaveProperty(key);
    }
    expect(props).toMatchObject({ receiveMaximum: 100, topicAliasMaximum: 16 });
    raw.close();
  });

  it("delivers with QoS 2, retain, wildcards, shared subscriptions, subscription identifiers and user properties", async () => {
    const pubber = await rawConnect(broker.port, "full-pub");
    pubber.send(pub("full/r", "kept", { qos: 2, packetId: 1, retain: true }));
    expect((await pubber.next("pubrec")).reasonCode).toBe(0x10);
    pubber.send({ type: "pubrel", packetId: 1, reasonCode: 0 });
    await pubber.next("pubcomp");
    const reader = await rawConnect(broker.port, "full-read");
    reader.send(sub(1, ["full/+", "$share/g/full/#"], 2, { subscriptionIdentifier: 7 }));
    expect((await reader.next("suback")).reasonCodes).toEqual([2, 2]);
    await waitFor(() => publishes(reader).length === 1, 3000, "the retained message");
    expect(publishes(reader)[0]).toMatchObject({ topic: "full/r", retain: true, qos: 2 });
    reader.send({ type: "pubrec", packetId: publishes(reader)[0]!.packetId!, reasonCode: 0 });
    pubber.send(pub("full/x", "live", { qos: 1, packetId: 2, properties: { userProperties: [["k", "v"]] } }));
    await pubber.next("puback");
    // one copy through the plain subscription (with its identifier), one through the share group
    await waitFor(() => publishes(reader).length === 3, 3000, "two live copies");
    const live = publishes(reader).slice(1);
    expect(live.map((p) => p.topic)).toEqual(["full/x", "full/x"]);
    expect(live[0]!.properties?.userProperties).toEqual([["k", "v"]]);
    expect(live.map((p) => p.properties?.subscriptionIdentifiers)).toEqual([[7], [7]]);
    pubber.send(pub("full/r", "", { retain: true }));
    pubber.close(); reader.close();
  });

  it("accepts 3.1.1 and 3.1 clients", async () => {
    (await rawConnect(broker.port, "v4", 4)).close();
    (await rawConnect(broker.port, "v3", 3)).close();
  });
});

describe("the cloudflare preset, row by row against Cloudflare Pub/Sub's compatibility table", () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker(["--preset", "cloudflare"]);
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("names the preset in its start-up line", () => {
    expect(broker.output()).toMatch(/preset cloudflare/);
  });

  it("advertises Maximum QoS 0 and no retain, wildcard, subscription identifier or shared subscription support in CONNACK", async () => {
    const raw = await RawClient.open(broker.port, 5);
    const ack = await raw.connect("cf-adv");
    expect(ack.reasonCode).toBe(0);
    expect(ack.properties).toMatchObject({
      maximumQoS: 0,
      retainAvailable: false,
      wildcardSubscriptionAvailable: false,
      subscriptionIdentifiersAvailable: false,
      sharedSubscriptionAvailable: false,
    });
    raw.close();
  });

  it("is MQTT 5.0 only: a 3.1.1 client gets CONNACK 0x01 (unacceptable protocol version), and so does 3.1", async () => {
    for (const version of [4, 3] as const) {
      const raw = await RawClient.open(broker.port, version);
      const ack = await raw.connect(`cf-v${version}`);
      expect(ack.reasonCode).toBe(0x01);
      expect(ack.sessionPresent).toBe(false);
      await raw.waitClosed();
    }
  });

  it("refuses mqtt.js at 3.1.1 and accepts it at 5.0", async () => {
    await expect(connect(broker.url, { protocolVersion: 4, clientId: "cf-mqttjs4" })).rejects.toThrow(/protocol version/i);
    const c = await connect(broker.url, { protocolVersion: 5, clientId: "cf-mqttjs5" });
    c.end();
  });

  it("answers a QoS 1 PUBLISH with DISCONNECT 0x9B (QoS not supported), and a QoS 2 one too", async () => {
    for (const qos of [1, 2] as const) {
      const raw = await rawConnect(broker.port, `cf-qos${qos}`);
      raw.send(pub("cf/q", "x", { qos, packetId: 1 }));
      await expectDisconnect(raw, 0x9b);
    }
  });

  it("answers a PUBLISH with RETAIN with DISCONNECT 0x9A (Retain not supported)", async () => {
    const raw = await rawConnect(broker.port, "cf-retain");
    raw.send(pub("cf/r", "x", { retain: true }));
    await expectDisconnect(raw, 0x9a);
  });

  it("answers + or # in SUBSCRIBE with DISCONNECT 0x90, as Cloudflare did", async () => {
    for (const filter of ["cf/+", "cf/#", "#", "+/x"]) {
      const raw = await rawConnect(broker.port, "cf-wild");
      raw.send(sub(1, [filter]));
      await expectDisconnect(raw, 0x90);
      expect(raw.received.some((p) => p.type === "suback")).toBe(false);
    }
  });

  it("answers $share/ in SUBSCRIBE with DISCONNECT 0x9E (Shared Subscriptions not supported)", async () => {
    const raw = await rawConnect(broker.port, "cf-share");
    raw.send(sub(1, ["$share/g/cf/x"]));
    await expectDisconnect(raw, 0x9e);
  });

  it("answers a Subscription Identifier with DISCONNECT 0xA1 (Subscription Identifiers not supported)", async () => {
    const raw = await rawConnect(broker.port, "cf-subid");
    raw.send(sub(1, ["cf/plain"], 0, { subscriptionIdentifier: 3 }));
    await expectDisconnect(raw, 0xa1);
  });

  it("refuses a SUBSCRIBE as a whole: a valid filter before a wildcard one is not subscribed either", async () => {
    const raw = await rawConnect(broker.port, "cf-partial", 5, { properties: { sessionExpiryInterval: 30 } });
    raw.send(sub(1, ["cf/partial", "cf/+"]));
    await expectDisconnect(raw, 0x90);
    const back = await RawClient.open(broker.port, 5);
    const ack = await back.connect("cf-partial", { cleanStart: false, properties: { sessionExpiryInterval: 0 } });
    expect(ack).toMatchObject({ reasonCode: 0, sessionPresent: true });
    const pubber = await rawConnect(broker.port, "cf-partial-pub");
    back.send(sub(2, ["cf/marker"]));
    await back.next("suback");
    // one socket, so the broker routes these in order: had cf/partial been subscribed, it would come first
    pubber.send(pub("cf/partial", "should not arrive"));
    pubber.send(pub("cf/marker", "m"));
    await waitFor(() => publishes(back).length > 0, 3000, "the marker");
    expect(publishes(back).map((p) => p.topic)).toEqual(["cf/marker"]);
    back.close(); pubber.close();
  });

  it("grants QoS 0 to a SUBSCRIBE asking for QoS 1 or 2 [MQTT-3.2.2-10]", async () => {
    const raw = await rawConnect(broker.port, "cf-grant");
    raw.send(sub(1, ["cf/g1"], 1));
    raw.send(sub(2, ["cf/g2"], 2));
    expect((await raw.next("suback")).reasonCodes).toEqual([0]);
    expect((await raw.next("suback")).reasonCodes).toEqual([0]);
    raw.close();
  });

  it("accepts a will and ignores it: nothing is published when the connection drops", async () => {
    const watcher = await rawConnect(broker.port, "cf-will-watch");
    watcher.send(sub(1, ["cf/will", "cf/after"]));
    await watcher.next("suback");
    const dying = await rawConnect(broker.port, "cf-will", 5, { will: { topic: "cf/will", payload: enc.encode("gone"), qos: 0, retain: false } });
    dying.close(); // abnormal: no DISCONNECT
    await sleep(200);
    const pubber = await rawConnect(broker.port, "cf-will-pub");
    pubber.send(pub("cf/after", "marker"));
    await waitFor(() => publishes(watcher).length > 0, 3000, "the marker");
    await sleep(100);
    expect(publishes(watcher).map((p) => p.topic)).toEqual(["cf/after"]);
    watcher.close(); pubber.close();
  });

  it("does not forward User Properties to subscribers, but keeps the payload and content type", async () => {
    const reader = await rawConnect(broker.port, "cf-up-read");
    reader.send(sub(1, ["cf/up"]));
    await reader.next("suback");
    const pubber = await rawConnect(broker.port, "cf-up-pub");
    pubber.send(pub("cf/up", "hello", { properties: { userProperties: [["trace", "1"]], contentType: "text/plain", payloadFormatIndicator: 1 } }));
    await waitFor(() => publishes(reader).length > 0, 3000, "the message");
    const got = publishes(reader)[0]!;
    expect(dec.decode(got.payload)).toBe("hello");
    expect(got.properties?.userProperties).toBeUndefined();
    expect(got.properties).toMatchObject({ contentType: "text/plain", payloadFormatIndicator: 1 });
    reader.close(); pubber.close();
  });

  it("echoes a client's own message to it (no No Local by default), at QoS 0 through mqtt.js", async () => {
    const c = await connect(broker.url, { clientId: "cf-echo" });
    const got = collect(c);
    await c.subscribeAsync("cf/echo", { qos: 0 });
    await c.publishAsync("cf/echo", "me", { qos: 0 });
    await waitFor(() => got.length > 0);
    expect(got[0]).toMatchObject({ topic: "cf/echo", payload: "me" });
    c.end();
  });
});

describe("single features switched off in a --config file", () => {
  let noRetain: RunningBroker;
  let spec: RunningBroker;
  beforeAll(async () => {
    [noRetain, spec] = await Promise.all([
      startBroker(["--config", writeConfig({ features: { retainAvailable: false } })]),
      startBroker(["--config", writeConfig({ features: { maximumQoS: 1, wildcardSubscriptionAvailable: false, sharedSubscriptionAvailable: false, subscriptionIdentifiersAvailable: false } })]),
    ]);
  });
  afterAll(async () => {
    await Promise.all([noRetain.stop(), spec.stop()]);
  });

  it("advertises only the switched-off feature in CONNACK", async () => {
    const raw = await RawClient.open(noRetain.port, 5);
    const ack = await raw.connect("nr-adv");
    expect(ack.properties?.retainAvailable).toBe(false);
    for (const key of ["maximumQoS", "wildcardSubscriptionAvailable", "subscriptionIdentifiersAvailable", "sharedSubscriptionAvailable"]) {
      expect(ack.properties, key).not.toHaveProperty(key);
    }
    raw.close();
  });

  it("answers a PUBLISH with RETAIN with DISCONNECT 0x9A and keeps nothing [MQTT-3.2.2-14]", async () => {
    const raw = await rawConnect(noRetain.port, "nr-pub");
    raw.send(pub("nr/t", "x", { retain: true, qos: 1, packetId: 1 }));
    await expectDisconnect(raw, 0x9a);
    expect(raw.received.some((p) => p.type === "puback")).toBe(false);
    const reader = await rawConnect(noRetain.port, "nr-read");
    reader.send(sub(1, ["nr/#"]));
    await reader.next("suback");
    await sleep(150);
    expect(publishes(reader)).toEqual([]);
    reader.close();
  });

  it("refuses a will with RETAIN with CONNACK 0x9A (Retain not supported) [MQTT-3.2.2-13]", async () => {
    const raw = await RawClient.open(noRetain.port, 5);
    const ack = await raw.connect("nr-will", { will: { topic: "nr/will", payload: enc.encode("w"), qos: 0, retain: true } });
    expect(ack.reasonCode).toBe(0x9a);
    await raw.waitClosed();
    // a will without RETAIN is fine, and is published
    const watcher = await rawConnect(noRetain.port, "nr-will-watch");
    watcher.send(sub(1, ["nr/will"]));
    await watcher.next("suback");
    const ok = await rawConnect(noRetain.port, "nr-will-ok", 5, { will: { topic: "nr/will", payload: enc.encode("w"), qos: 0, retain: false } });
    ok.close();
    await waitFor(() => publishes(watcher).length > 0, 3000, "the will");
    expect(publishes(watcher)[0]).toMatchObject({ topic: "nr/will", retain: false });
    watcher.close();
  });

  it("closes a 3.1.1 connection that publishes with RETAIN (3.1.1 has no DISCONNECT from the server)", async () => {
    const raw = await rawConnect(noRetain.port, "nr-v4", 4);
    raw.send(pub("nr/t", "x", { retain: true }));
    await raw.waitClosed();
    expect(raw.received).toEqual([]);
  });

  it("answers with the spec's reason codes when the preset is full: 0x9B above Maximum QoS 1, 0xA2 for wildcards, 0x9E for $share/, 0xA1 for identifiers", async () => {
    const raw = await RawClient.open(spec.port, 5);
    const ack = await raw.connect("spec-adv");
    expect(ack.properties).toMatchObject({ maximumQoS: 1, wildcardSubscriptionAvailable: false, sharedSubscriptionAvailable: false, subscriptionIdentifiersAvailable: false });
    expect(ack.properties).not.toHaveProperty("retainAvailable");
    raw.send(sub(1, ["spec/x"], 2));
    expect((await raw.next("suback")).reasonCodes).toEqual([1]);
    raw.send(pub("spec/x", "q1", { qos: 1, packetId: 2 }));
    expect((await raw.next("puback")).reasonCode).toBe(0);
    raw.send(pub("spec/x", "q2", { qos: 2, packetId: 3 }));
    await expectDisconnect(raw, 0x9b);
    const cases: [Packet, number][] = [
      [sub(1, ["spec/+"]), 0xa2],
      [sub(1, ["spec/#"]), 0xa2],
      [sub(1, ["$share/g/spec/x"]), 0x9e],
      [sub(1, ["spec/x"], 0, { subscriptionIdentifier: 1 }), 0xa1],
    ];
    for (const [packet, code] of cases) {
      const c = await rawConnect(spec.port, "spec-case");
      c.send(packet);
      await expectDisconnect(c, code);
    }
  });

  it("refuses a will above Maximum QoS with CONNACK 0x9B [MQTT-3.2.2-12]", async () => {
    const raw = await RawClient.open(spec.port, 5);
    const ack = await raw.connect("spec-will", { will: { topic: "spec/will", payload: enc.encode("w"), qos: 2, retain: false } });
    expect(ack.reasonCode).toBe(0x9b);
    await raw.waitClosed();
  });

  it("lets a config file turn the cloudflare preset's features back on one by one", async () => {
    const b = await startBroker(["--config", writeConfig({ preset: "cloudflare", features: { retainAvailable: true, protocolVersions: [4, 5] } })]);
    try {
      const raw = await RawClient.open(b.port, 5);
      const ack = await raw.connect("mix");
      expect(ack.properties).not.toHaveProperty("retainAvailable");
      expect(ack.properties).toMatchObject({ maximumQoS: 0, wildcardSubscriptionAvailable: false });
      raw.send(pub("mix/r", "kept", { retain: true }));
      raw.send(sub(1, ["mix/r"]));
      await waitFor(() => publishes(raw).length > 0, 3000, "the retained message");
      expect(publishes(raw)[0]).toMatchObject({ topic: "mix/r", retain: true });
      raw.close();
      (await rawConnect(b.port, "mix-v4", 4)).close();
    } finally {
      await b.stop();
    }
  });

  it("refuses an unknown or mistyped feature with a message naming it", async () => {
    const unknown = await runBrokerExpectingExit(["--port", "0", "--config", writeConfig({ features: { retainAvaliable: false } })]);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toMatch(/features\.retainAvaliable is not a setting: did you mean "retainAvailable"\?/);
    expect(unknown.output).toMatch(/retainAvailable/);
    const badQos = await runBrokerExpectingExit(["--port", "0", "--config", writeConfig({ features: { maximumQoS: 3 } })]);
    expect(badQos.code).toBe(2);
    expect(badQos.output).toMatch(/maximumQoS/);
    const badBool = await runBrokerExpectingExit(["--port", "0", "--config", writeConfig({ features: { retainAvailable: "no" } })]);
    expect(badBool.code).toBe(2);
    expect(badBool.output).toMatch(/retainAvailable.*true or false/);
  });
});
