// Message properties (request/response, content type, user properties,
// payload format, expiry) and $SYS, over real sockets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PublishPacket } from "@edgemq/core/codec";
import { collect, connect, mosquittoPub, mosquittoSub, RawClient, sleep, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

const enc = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const publishes = (raw: RawClient) => raw.received.filter((p): p is PublishPacket => p.type === "publish");

let broker: RunningBroker;
beforeAll(async () => {
  broker = await startBroker(["--sys-interval", "1"]);
});
afterAll(async () => {
  await broker.stop();
});

async function rawSub(version: 4 | 5, clientId: string, filter: string, extra: Parameters<RawClient["connect"]>[1] = {}): Promise<RawClient> {
  const r = await RawClient.open(broker.port, version);
  expect((await r.connect(clientId, extra)).reasonCode).toBe(0);
  r.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: filter, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
  await r.next("suback");
  return r;
}

describe("properties forwarded with a message", () => {
  const properties = {
    responseTopic: "props/reply/42",
    correlationData: Uint8Array.from([0, 1, 2, 0xff]),
    payloadFormatIndicator: 1,
    contentType: "application/json; charset=utf-8",
    userProperties: [["k", "1"], ["a", "x"], ["k", "2"], ["k", "1"], ["", ""]] as [string, string][],
  };

  it("forwards Response Topic, Correlation Data, Payload Format Indicator, Content Type and User Properties unchanged to a 5.0 subscriber", async () => {
    const sub = await rawSub(5, "props-sub5", "props/req");
    const pub = await RawClient.open(broker.port, 5);
    await pub.connect("props-pub");
    pub.send({ type: "publish", topic: "props/req", payload: enc.encode('{"q":1}'), qos: 1, retain: false, dup: false, packetId: 1, properties });
    expect(await pub.next("puback")).toMatchObject({ packetId: 1, reasonCode: 0 });
    const got = await sub.next("publish");
    expect(text(got.payload)).toBe('{"q":1}');
    // Exactly these properties: order and duplicates of user properties kept, nothing added.
    expect(got.properties).toEqual(properties);
    sub.close(); pub.close();
  });

  it("sends the same message to a 3.1.1 subscriber without properties", async () => {
    const sub = await rawSub(4, "props-sub4", "props/req4");
    const js4 = await connect(broker.url, { protocolVersion: 4, clientId: "props-js4" });
    const got4 = collect(js4);
    await js4.subscribeAsync("props/req4", { qos: 1 });
    const pub = await RawClient.open(broker.port, 5);
    await pub.connect("props-pub4");
    pub.send({ type: "publish", topic: "props/req4", payload: enc.encode("plain"), qos: 1, retain: false, dup: false, packetId: 1, properties });
    await pub.next("puback");
    const got = await sub.next("publish");
    expect(got).toMatchObject({ topic: "props/req4", qos: 1 });
    expect(text(got.payload)).toBe("plain");
    expect(got.properties).toBeUndefined();
    await waitFor(() => got4.length === 1);
    expect(got4[0]!.payload).toBe("plain");
    expect(got4[0]!.packet.properties).toBeUndefined();
    sub.close(); pub.close(); js4.end();
  });

  it("carries a request and its response between mqtt.js clients", async () => {
    const responder = await connect(broker.url, { clientId: "props-responder" });
    responder.on("message", (_topic, payload, packet) => {
      const p = packet.properties!;
      void responder.publishAsync(p.responseTopic!, `answer to ${payload}`, { qos: 1, properties: { correlationData: p.correlationData, userProperties: p.userProperties } });
    });
    await responder.subscribeAsync("props/service", { qos: 1 });
    const requester = await connect(broker.url, { clientId: "props-requester" });
    const replies = collect(requester);
    await requester.subscribeAsync("props/replies/requester", { qos: 1 });
    await requester.publishAsync("props/service", "question", {
      qos: 1,
      properties: { responseTopic: "props/replies/requester", correlationData: Buffer.from("corr-7"), contentType: "text/plain", userProperties: { trace: ["a", "b"], who: "me" } },
    });
    await waitFor(() => replies.length === 1);
    expect(replies[0]!.payload).toBe("answer to question");
    expect(Buffer.from(replies[0]!.packet.properties!.correlationData!).toString()).toBe("corr-7");
    expect(replies[0]!.packet.properties!.userProperties).toEqual({ trace: ["a", "b"], who: "me" });
    responder.end(); requester.end();
  });

  it("forwards mosquitto_pub's properties to mosquitto_sub", async () => {
    const sub = mosquittoSub(["-h", "127.0.0.1", "-p", String(broker.port), "-V", "mqttv5", "-t", "props/mosq", "-C", "1", "-W", "5", "-F", "%p|%P|%C|%R|%D|%F"]);
    const args = ["-h", "127.0.0.1", "-p", String(broker.port), "-V", "mqttv5", "-t", "props/mosq", "-m", "hi",
      "-D", "publish", "user-property", "k", "1", "-D", "publish", "user-property", "k", "2", "-D", "publish", "user-property", "a", "x",
      "-D", "publish", "content-type", "text/plain", "-D", "publish", "response-topic", "re/ply", "-D", "publish", "correlation-data", "abc",
      "-D", "publish", "payload-format-indicator", "1"];
    // mosquitto_sub has no "subscribed" signal on stdout: publish until it has printed.
    await waitFor(() => sub.lines().length > 0 || (void mosquittoPub(args), false), 5000, "mosquitto_sub to print").catch(() => {});
    await sub.exited;
    expect(sub.lines()).toEqual(["hi|k:1 k:2 a:x|text/plain|re/ply|abc|1"]);
  });
});

describe("Payload Format Indicator", () => {
  it("answers a PFI=1 PUBLISH whose payload is not UTF-8 with 0x99 and delivers nothing", async () => {
    const sub = await rawSub(5, "pfi-sub", "pfi/+");
    const pub = await RawClient.open(broker.port, 5);
    await pub.connect("pfi-pub");
    const bad = Uint8Array.from([0x68, 0xc3, 0x28, 0xff]);
    pub.send({ type: "publish", topic: "pfi/bad", payload: bad, qos: 1, retain: false, dup: false, packetId: 1, properties: { payloadFormatIndicator: 1 } });
    expect(await pub.next("puback")).toMatchObject({ packetId: 1, reasonCode: 0x99 });
    pub.send({ type: "publish", topic: "pfi/bad", payload: bad, qos: 2, retain: false, dup: false, packetId: 2, properties: { payloadFormatIndicator: 1 } });
    expect(await pub.next("pubrec")).toMatchObject({ packetId: 2, reasonCode: 0x99 });
    // After a failed PUBREC the same packet id starts a new message.
    pub.send({ type: "publish", topic: "pfi/good", payload: enc.encode("héllo"), qos: 2, retain: false, dup: false, packetId: 2, properties: { payloadFormatIndicator: 1 } });
    expect(await pub.next("pubrec")).toMatchObject({ packetId: 2, reasonCode: 0 });
    pub.send({ type: "pubrel", packetId: 2, reasonCode: 0 });
    expect(await pub.next("pubcomp")).toMatchObject({ packetId: 2, reasonCode: 0 });
    // The same bytes without PFI are just bytes.
    pub.send({ type: "publish", topic: "pfi/binary", payload: bad, qos: 1, retain: false, dup: false, packetId: 3 });
    expect(await pub.next("puback")).toMatchObject({ packetId: 3, reasonCode: 0 });
    await waitFor(() => publishes(sub).length === 2);
    await sleep(150);
    const got = publishes(sub);
    expect(got.map((p) => p.topic)).toEqual(["pfi/good", "pfi/binary"]);
    expect(got[0]!.properties?.payloadFormatIndicator).toBe(1);
    expect(text(got[0]!.payload)).toBe("héllo");
    expect([...got[1]!.payload]).toEqual([...bad]);
    sub.close(); pub.close();
  });
});

describe("Message Expiry Interval", () => {
  it("sends the full interval on immediate delivery", async () => {
    const sub = await rawSub(5, "mei-live", "mei/live");
    const pub = await connect(broker.url, { clientId: "mei-live-pub" });
    await pub.publishAsync("mei/live", "x", { qos: 1, properties: { messageExpiryInterval: 60 } });
    const got = await sub.next("publish");
    expect(got.properties?.messageExpiryInterval).toBe(60);
    sub.close(); pub.end();
  });

  it("delivers a message with interval 0 to subscribers connected now, but neither retains nor queues it", async () => {
    const live = await rawSub(5, "mei0-live", "mei0/t");
    const away = await rawSub(5, "mei0-away", "mei0/t", { cleanStart: true, properties: { sessionExpiryInterval: 60 } });
    away.send({ type: "disconnect", reasonCode: 0 });
    await away.waitClosed();
    const pub = await connect(broker.url, { clientId: "mei0-pub" });
    await pub.publishAsync("mei0/t", "now or never", { qos: 1, retain: true, properties: { messageExpiryInterval: 0 } });
    const got = await live.next("publish");
    expect(text(got.payload)).toBe("now or never");
    expect(got.properties?.messageExpiryInterval).toBe(0);
    // The offline session does not get it on return, and a new subscriber finds nothing retained.
    const back = await RawClient.open(broker.port, 5);
    expect((await back.connect("mei0-away", { cleanStart: false, properties: { sessionExpiryInterval: 60 } })).sessionPresent).toBe(true);
    const late = await rawSub(5, "mei0-late", "mei0/t");
    await sleep(300);
    expect(publishes(back)).toHaveLength(0);
    expect(publishes(late)).toHaveLength(0);
    live.close(); back.close(); late.close(); pub.end();
  });

  it("counts the interval down for a message queued for an offline session, and drops an expired one", async () => {
    const opts = { cleanStart: false, properties: { sessionExpiryInterval: 60 } };
    const first = await rawSub(5, "mei-offline", "mei/offline", { cleanStart: true, properties: { sessionExpiryInterval: 60 } });
    first.send({ type: "disconnect", reasonCode: 0 });
    await first.waitClosed();
    const pub = await connect(broker.url, { clientId: "mei-offline-pub" });
    await pub.publishAsync("mei/offline", "long", { qos: 1, properties: { messageExpiryInterval: 30 } });
    await pub.publishAsync("mei/offline", "short", { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync("mei/offline", "forever", { qos: 1 });
    const sent = Date.now();
    await sleep(2100);
    const again = await RawClient.open(broker.port, 5);
    expect((await again.connect("mei-offline", opts)).sessionPresent).toBe(true);
    const a = await again.next("publish");
    again.send({ type: "puback", packetId: a.packetId!, reasonCode: 0 });
    const b = await again.next("publish");
    again.send({ type: "puback", packetId: b.packetId!, reasonCode: 0 });
    const waited = (Date.now() - sent) / 1000;
    await sleep(200);
    expect(publishes(again)).toHaveLength(0);
    expect([text(a.payload), text(b.payload)]).toEqual(["long", "forever"]);
    // 30 s minus the two seconds it waited: 28, never the original 30.
    expect(a.properties?.messageExpiryInterval).toBeLessThanOrEqual(28);
    expect(a.properties?.messageExpiryInterval).toBeGreaterThanOrEqual(Math.floor(30 - waited));
    expect(b.properties?.messageExpiryInterval).toBeUndefined();
    again.close(); pub.end();
  });

  it("still resends, on reconnect, a QoS 1 and a QoS 2 message that expired after it was first sent", async () => {
    const opts = { cleanStart: false, properties: { sessionExpiryInterval: 60 } };
    const first = await RawClient.open(broker.port, 5);
    await first.connect("mei-started", { cleanStart: true, properties: { sessionExpiryInterval: 60 } });
    first.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "mei/started", qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await first.next("suback");
    const pub = await connect(broker.url, { clientId: "mei-started-pub" });
    await pub.publishAsync("mei/started", "q1", { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync("mei/started", "q2", { qos: 2, properties: { messageExpiryInterval: 1 } });
    // Both arrive; the client acknowledges neither and goes away.
    const sent = [await first.next("publish"), await first.next("publish")];
    expect(sent.map((p) => [text(p.payload), p.qos, p.properties?.messageExpiryInterval])).toEqual([["q1", 1, 1], ["q2", 2, 1]]);
    first.close();
    await sleep(1600);
    // Onward delivery had started, so expiry no longer applies [MQTT-3.3.2-5], [MQTT-4.3.3-7].
    const again = await RawClient.open(broker.port, 5);
    expect((await again.connect("mei-started", opts)).sessionPresent).toBe(true);
    const resent = [await again.next("publish"), await again.next("publish")];
    expect(resent.map((p) => [text(p.payload), p.qos, p.dup, p.packetId])).toEqual(sent.map((p) => [text(p.payload), p.qos, true, p.packetId]));
    // What is left of its lifetime is nothing.
    expect(resent.map((p) => p.properties?.messageExpiryInterval)).toEqual([0, 0]);
    again.send({ type: "puback", packetId: resent[0]!.packetId!, reasonCode: 0 });
    again.send({ type: "pubrec", packetId: resent[1]!.packetId!, reasonCode: 0 });
    expect(await again.next("pubrel")).toMatchObject({ packetId: resent[1]!.packetId });
    again.send({ type: "pubcomp", packetId: resent[1]!.packetId!, reasonCode: 0 });
    again.close(); pub.end();
  });

  it("lets mosquitto_sub see the remaining interval of a queued message", async () => {
    const id = "mei-mosq";
    const base = ["-h", "127.0.0.1", "-p", String(broker.port), "-V", "mqttv5", "-i", id, "-c", "-x", "60", "-q", "1", "-t", "mei/mosq"];
    // Create the session and subscription, then leave.
    const setup = mosquittoSub([...base, "-E"]);
    expect(await setup.exited).toBe(0);
    await mosquittoPub(["-h", "127.0.0.1", "-p", String(broker.port), "-V", "mqttv5", "-t", "mei/mosq", "-m", "queued", "-q", "1", "-D", "publish", "message-expiry-interval", "20"]);
    await sleep(1100);
    const sub = mosquittoSub([...base, "-C", "1", "-W", "5", "-F", "%p %E"]);
    await sub.exited;
    const [payload, expiry] = sub.lines()[0]!.split(" ");
    expect(payload).toBe("queued");
    expect(Number(expiry)).toBeLessThanOrEqual(19);
    expect(Number(expiry)).toBeGreaterThanOrEqual(17);
  });
});

describe("$SYS", () => {
  const TOPICS = [
    "uptime", "clients/connected", "messages/received", "messages/sent",
    "bytes/received", "bytes/sent", "subscriptions/count", "retained messages/count",
  ];

  it("publishes the broker's counters every --sys-interval seconds", async () => {
    const c = await connect(broker.url, { clientId: "sys-watch" });
    const got: { topic: string; value: string; retain: boolean; at: number }[] = [];
    c.on("message", (topic, payload, packet) => got.push({ topic, value: payload.toString(), retain: packet.retain, at: Date.now() }));
    await c.subscribeAsync("$SYS/broker/#", { qos: 0 });
    // The retained copies arrive at once.
    await waitFor(() => TOPICS.every((t) => got.some((m) => m.topic === `$SYS/broker/${t}` && m.retain)), 2000, "retained $SYS values");
    for (const t of TOPICS) expect(got.find((m) => m.topic === `$SYS/broker/${t}`)!.value).toMatch(/^\d+$/);
    // Then live updates: two of uptime about a second apart, the second larger.
    await waitFor(() => got.filter((m) => m.topic === "$SYS/broker/uptime" && !m.retain).length >= 2, 3500, "two live uptime updates");
    const [u1, u2] = got.filter((m) => m.topic === "$SYS/broker/uptime" && !m.retain);
    expect(Number(u2!.value)).toBeGreaterThan(Number(u1!.value));
    expect(u2!.at - u1!.at).toBeGreaterThan(700);
    expect(u2!.at - u1!.at).toBeLessThan(2000);
    // The values follow what happens.
    const latest = (t: string) => Number(got.filter((m) => m.topic === `$SYS/broker/${t}`).at(-1)!.value);
    const before = Object.fromEntries(TOPICS.map((t) => [t, latest(t)]));
    expect(before["clients/connected"]).toBeGreaterThanOrEqual(1);
    const extra = await connect(broker.url, { clientId: "sys-extra" });
    await extra.subscribeAsync("sys/extra/a", { qos: 0 });
    await extra.subscribeAsync("sys/extra/b", { qos: 0 });
    for (let i = 0; i < 5; i++) await extra.publishAsync("sys/extra/a", "x".repeat(100), { qos: 1 });
    await waitFor(() => latest("messages/received") >= before["messages/received"]! + 5 && latest("subscriptions/count") >= before["subscriptions/count"]! + 2, 3000, "$SYS to count the new activity");
    // This watcher and the extra client at least; earlier tests' clients may still be leaving.
    expect(latest("clients/connected")).toBeGreaterThanOrEqual(2);
    expect(latest("messages/sent")).toBeGreaterThanOrEqual(before["messages/sent"]! + 5);
    expect(latest("bytes/received")).toBeGreaterThanOrEqual(before["bytes/received"]! + 500);
    expect(latest("bytes/sent")).toBeGreaterThanOrEqual(before["bytes/sent"]! + 500);
    extra.end(); c.end();
  });

  it("serves $SYS/broker/uptime to mosquitto_sub at 3.1.1 and 5.0", async () => {
    for (const version of ["mqttv311", "mqttv5"]) {
      const sub = mosquittoSub(["-h", "127.0.0.1", "-p", String(broker.port), "-V", version, "-t", "$SYS/broker/uptime", "-C", "1", "-W", "5", "-v"]);
      expect(await sub.exited).toBe(0);
      expect(sub.lines()[0]).toMatch(/^\$SYS\/broker\/uptime \d+$/);
    }
  });

  it("does not let a client publish to $SYS: 0x87 at 5.0, and nothing is delivered", async () => {
    const watch = await connect(broker.url, { clientId: "sys-fake-watch" });
    const got = collect(watch);
    await watch.subscribeAsync("$SYS/#", { qos: 1 });
    const v5 = await RawClient.open(broker.port, 5);
    await v5.connect("sys-fake-5");
    v5.send({ type: "publish", topic: "$SYS/broker/uptime", payload: enc.encode("fake"), qos: 1, retain: true, dup: false, packetId: 1 });
    expect(await v5.next("puback")).toMatchObject({ packetId: 1, reasonCode: 0x87 });
    v5.send({ type: "publish", topic: "$SYS/fake", payload: enc.encode("fake"), qos: 2, retain: false, dup: false, packetId: 2 });
    expect(await v5.next("pubrec")).toMatchObject({ packetId: 2, reasonCode: 0x87 });
    v5.send({ type: "publish", topic: "$SYS/fake", payload: enc.encode("fake"), qos: 0, retain: false, dup: false });
    // 3.1.1 has no reason codes: the PUBACK comes, the message does not go anywhere.
    const v4 = await RawClient.open(broker.port, 4);
    await v4.connect("sys-fake-4");
    v4.send({ type: "publish", topic: "$SYS/fake", payload: enc.encode("fake"), qos: 1, retain: false, dup: false, packetId: 1 });
    expect(await v4.next("puback")).toMatchObject({ packetId: 1 });
    // mosquitto_pub too.
    await mosquittoPub(["-h", "127.0.0.1", "-p", String(broker.port), "-V", "mqttv5", "-t", "$SYS/fake", "-m", "fake", "-q", "1"]);
    // Wait past a $SYS update so that real messages arrive, then check none is fake.
    await sleep(1200);
    expect(got.length).toBeGreaterThan(0);
    expect(got.filter((m) => m.payload === "fake")).toEqual([]);
    expect(v5.closed || v4.closed).toBe(false);
    // The retained uptime is still the broker's.
    const check = await rawSub(5, "sys-fake-check", "$SYS/broker/uptime");
    const p = await check.next("publish");
    expect(text(p.payload)).toMatch(/^\d+$/);
    v5.close(); v4.close(); check.close(); watch.end();
  });
});
