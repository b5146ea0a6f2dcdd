// Persistent sessions over real sockets: what a session keeps while its
// client is away, redelivery on resume, QoS 2 in flight, and expiry.
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Packet } from "@edgemq/core/codec";
import { collect, connect, mosquittoPub, mosquittoSub, RawClient, sleep, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

type Publish = Extract<Packet, { type: "publish" }>;

const text = (p: Publish) => Buffer.from(p.payload).toString();
const enc = (s: string) => new TextEncoder().encode(s);

/** Subscribes a raw client and waits for the SUBACK. */
async function subscribe(raw: RawClient, topicFilter: string, qos: 0 | 1 | 2, packetId = 1): Promise<number[]> {
  raw.send({ type: "subscribe", packetId, subscriptions: [{ topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
  return (await raw.next("suback")).reasonCodes;
}

/** Waits for `n` PUBLISH packets on a raw client and takes them, in arrival order. */
async function publishes(raw: RawClient, n: number, ms = 3000): Promise<Publish[]> {
  await waitFor(() => raw.received.filter((p) => p.type === "publish").length >= n || raw.closed, ms, `${n} PUBLISH packets`);
  const got = raw.received.filter((p): p is Publish => p.type === "publish");
  for (const p of got) raw.received.splice(raw.received.indexOf(p), 1);
  return got;
}

/** Connects mqtt.js and resolves with the client, its CONNACK and what it received from the start. */
function connectWithAck(url: string, options: IClientOptions): Promise<{ client: MqttClient; connack: IConnackPacket; got: ReturnType<typeof collect> }> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 5, ...options });
  const got = collect(client);
  return new Promise((resolve, reject) => {
    client.once("connect", (connack) => resolve({ client, connack, got }));
    client.once("error", (e) => { client.end(true); reject(e); });
    client.once("close", () => reject(new Error("connection closed before CONNACK")));
  });
}

/** Disconnects a raw client normally and waits for the close. */
async function leave(raw: RawClient): Promise<void> {
  raw.send({ type: "disconnect", reasonCode: 0 });
  await raw.waitClosed();
}

describe("persistent sessions", () => {
  let broker: RunningBroker;
  let publisher: MqttClient;
  const cli = () => ["-h", "127.0.0.1", "-p", String(broker.port)];
  beforeAll(async () => {
    broker = await startBroker();
    publisher = await connect(broker.url, { clientId: "sessions-publisher" });
  });
  afterAll(async () => {
    publisher.end();
    await broker.stop();
  });

  it("keeps a 5.0 session's subscription and queues QoS 1 and 2 messages while the client is away, delivered in order on resume", async () => {
    const raw = await RawClient.open(broker.port, 5);
    await raw.connect("keep-5", { properties: { sessionExpiryInterval: 60 } });
    expect(await subscribe(raw, "keep/5/#", 2)).toEqual([2]);
    await leave(raw);

    await publisher.publishAsync("keep/5/a", "one", { qos: 1 });
    await publisher.publishAsync("keep/5/b", "two", { qos: 2 });
    expect((await mosquittoPub([...cli(), "-V", "mqttv5", "-t", "keep/5/c", "-m", "three", "-q", "2"])).code).toBe(0);
    await publisher.publishAsync("keep/5/d", "four", { qos: 1 });

    const back = await RawClient.open(broker.port, 5);
    const ack = await back.connect("keep-5", { cleanStart: false, properties: { sessionExpiryInterval: 60 } });
    expect(ack.sessionPresent).toBe(true);
    const got = await publishes(back, 4);
    expect(got.map((p) => [p.topic, text(p), p.qos, p.dup])).toEqual([
      ["keep/5/a", "one", 1, false], ["keep/5/b", "two", 2, false], ["keep/5/c", "three", 2, false], ["keep/5/d", "four", 1, false],
    ]);
    // The subscription is still live for new messages, too.
    for (const p of got) back.send(p.qos === 1 ? { type: "puback", packetId: p.packetId!, reasonCode: 0 } : { type: "pubrec", packetId: p.packetId!, reasonCode: 0 });
    await publisher.publishAsync("keep/5/e", "five", { qos: 1 });
    expect((await publishes(back, 1)).map(text)).toEqual(["five"]);
    back.close();
  });

  it("keeps a 3.1.1 clean-session-0 session the same way, for mosquitto_sub and mqtt.js", async () => {
    // mosquitto_sub -c -E: subscribe with clean session 0, then leave.
    const first = mosquittoSub([...cli(), "-V", "mqttv311", "-c", "-i", "keep-cli-4", "-q", "1", "-t", "keep/cli4", "-E"]);
    expect(await first.exited).toBe(0);
    for (const m of ["a", "b", "c"]) await publisher.publishAsync("keep/cli4", m, { qos: 1 });
    const second = mosquittoSub([...cli(), "-V", "mqttv311", "-c", "-i", "keep-cli-4", "-q", "1", "-t", "keep/cli4", "-C", "3", "-W", "5"]);
    await second.exited;
    expect(second.lines()).toEqual(["a", "b", "c"]);

    // And at 5.0 with a session expiry interval (-x).
    const first5 = mosquittoSub([...cli(), "-V", "mqttv5", "-c", "-x", "60", "-i", "keep-cli-5", "-q", "2", "-t", "keep/cli5", "-E"]);
    expect(await first5.exited).toBe(0);
    for (const m of ["x", "y"]) await publisher.publishAsync("keep/cli5", m, { qos: 2 });
    const second5 = mosquittoSub([...cli(), "-V", "mqttv5", "-c", "-x", "60", "-i", "keep-cli-5", "-q", "2", "-t", "keep/cli5", "-C", "2", "-W", "5"]);
    await second5.exited;
    expect(second5.lines()).toEqual(["x", "y"]);

    // mqtt.js at 3.1.1 with clean false.
    const js = await connect(broker.url, { protocolVersion: 4, clientId: "keep-js-4", clean: false });
    await js.subscribeAsync("keep/js4", { qos: 1 });
    await js.endAsync();
    await publisher.publishAsync("keep/js4", "while away", { qos: 1 });
    // The queued message may arrive with the CONNACK: listen before connecting.
    const back = mqtt.connect(broker.url, { reconnectPeriod: 0, protocolVersion: 4, clientId: "keep-js-4", clean: false });
    const got = collect(back);
    await waitFor(() => got.length === 1);
    expect(got[0]).toMatchObject({ topic: "keep/js4", payload: "while away" });
    back.end();
  });

  it("redelivers unacknowledged QoS 1 messages with DUP and their packet ids on resume, in order, before newer ones", async () => {
    for (const version of [5, 4] as const) {
      const id = `redeliver-${version}`;
      const topic = `redeliver/${version}`;
      const raw = await RawClient.open(broker.port, version);
      await raw.connect(id, { cleanStart: true, properties: version === 5 ? { sessionExpiryInterval: 60 } : undefined });
      if (version === 4) {
        // Clean session 1 then 0: a fresh session that is kept.
        raw.close();
      }
      const sub = version === 4 ? await RawClient.open(broker.port, 4) : raw;
      if (version === 4) await sub.connect(id, { cleanStart: false });
      await subscribe(sub, topic, 1);
      for (const m of ["m1", "m2", "m3"]) await publisher.publishAsync(topic, m, { qos: 1 });
      const first = await publishes(sub, 3);
      expect(first.map((p) => [text(p), p.dup])).toEqual([["m1", false], ["m2", false], ["m3", false]]);
      sub.send({ type: "puback", packetId: first[0]!.packetId!, reasonCode: 0 }); // only m1 is acknowledged
      await sleep(100);
      sub.close(); // the socket drops with m2 and m3 unacknowledged
      await sub.waitClosed();
      await publisher.publishAsync(topic, "m4", { qos: 1 });

      const back = await RawClient.open(broker.port, version);
      expect((await back.connect(id, { cleanStart: false, properties: version === 5 ? { sessionExpiryInterval: 60 } : undefined })).sessionPresent).toBe(true);
      const again = await publishes(back, 3);
      // [MQTT-4.4.0-1] resent with DUP [MQTT-3.3.1-1], in the original order [MQTT-4.6.0-1], then the queued one.
      expect(again.map((p) => [text(p), p.dup]), `version ${version}`).toEqual([["m2", true], ["m3", true], ["m4", false]]);
      expect(again.slice(0, 2).map((p) => p.packetId)).toEqual(first.slice(1).map((p) => p.packetId));
      for (const p of again) back.send({ type: "puback", packetId: p.packetId!, reasonCode: 0 });
      await sleep(100);
      await leave(back);
      // Acknowledged now: nothing more comes on the next resume.
      const last = await RawClient.open(broker.port, version);
      await last.connect(id, { cleanStart: false, properties: version === 5 ? { sessionExpiryInterval: 60 } : undefined });
      await sleep(300);
      expect(last.received.filter((p) => p.type === "publish")).toEqual([]);
      last.close();
    }
  });

  it("resends no more unacknowledged messages on resume than the client's new Receive Maximum allows, the rest as acknowledgements make room", async () => {
    const raw = await RawClient.open(broker.port, 5);
    await raw.connect("window", { properties: { sessionExpiryInterval: 60, receiveMaximum: 10 } });
    await subscribe(raw, "window/t", 1);
    for (const m of ["m1", "m2", "m3", "m4", "m5"]) await publisher.publishAsync("window/t", m, { qos: 1 });
    const first = await publishes(raw, 5);
    raw.close(); // all five unacknowledged
    await raw.waitClosed();
    await publisher.publishAsync("window/t", "m6", { qos: 1 });

    const back = await RawClient.open(broker.port, 5);
    await back.connect("window", { cleanStart: false, properties: { sessionExpiryInterval: 60, receiveMaximum: 2 } });
    await sleep(300);
    const now = await publishes(back, 2);
    expect(now.map((p) => [text(p), p.dup, p.packetId])).toEqual([["m1", true, first[0]!.packetId], ["m2", true, first[1]!.packetId]]); // [MQTT-3.3.4-9]
    const rest: Publish[] = [];
    let acked = now;
    while (rest.length < 4) {
      for (const p of acked) back.send({ type: "puback", packetId: p.packetId!, reasonCode: 0 });
      await sleep(150);
      acked = await publishes(back, 1);
      // Never more than two outstanding: each round brings as many as were acknowledged.
      expect(acked.length).toBeLessThanOrEqual(2);
      rest.push(...acked);
    }
    expect(rest.map((p) => [text(p), p.dup])).toEqual([["m3", true], ["m4", true], ["m5", true], ["m6", false]]);
    expect(rest.slice(0, 3).map((p) => p.packetId)).toEqual(first.slice(2).map((p) => p.packetId));
    back.close();
  });

  it("resumes outgoing QoS 2 in flight: PUBREL resent where PUBREC came, PUBLISH with DUP where it did not, and no message twice", async () => {
    const raw = await RawClient.open(broker.port, 5);
    await raw.connect("qos2-out", { properties: { sessionExpiryInterval: 60 } });
    await subscribe(raw, "qos2/out", 2);
    await publisher.publishAsync("qos2/out", "A", { qos: 2 });
    await publisher.publishAsync("qos2/out", "B", { qos: 2 });
    const [a, b] = await publishes(raw, 2);
    raw.send({ type: "pubrec", packetId: a!.packetId!, reasonCode: 0 });
    expect((await raw.next("pubrel")).packetId).toBe(a!.packetId);
    raw.close(); // without PUBCOMP for A, nor PUBREC for B
    await raw.waitClosed();

    const back = await RawClient.open(broker.port, 5);
    await back.connect("qos2-out", { cleanStart: false, properties: { sessionExpiryInterval: 60 } });
    const pubrel = await back.next("pubrel"); // [MQTT-4.4.0-1] PUBREL, not the PUBLISH again
    expect(pubrel.packetId).toBe(a!.packetId);
    const [b2] = await publishes(back, 1);
    expect([text(b2!), b2!.dup, b2!.packetId]).toEqual(["B", true, b!.packetId]);
    back.send({ type: "pubcomp", packetId: a!.packetId!, reasonCode: 0 });
    back.send({ type: "pubrec", packetId: b2!.packetId!, reasonCode: 0 });
    expect((await back.next("pubrel")).packetId).toBe(b!.packetId);
    back.send({ type: "pubcomp", packetId: b2!.packetId!, reasonCode: 0 });
    await sleep(300);
    expect(back.received.filter((p) => p.type === "publish" || p.type === "pubrel")).toEqual([]);
    await leave(back);

    // Nothing is left in flight: the next resume is quiet.
    const last = await RawClient.open(broker.port, 5);
    await last.connect("qos2-out", { cleanStart: false, properties: { sessionExpiryInterval: 60 } });
    await sleep(300);
    expect(last.received).toEqual([]);
    last.close();
  });

  it("resumes incoming QoS 2 in flight: a resent PUBLISH is acknowledged again but not delivered twice, and PUBREL completes it", async () => {
    for (const version of [5, 4] as const) {
      const topic = `qos2/in/${version}`;
      const watcher = await connect(broker.url, { clientId: `qos2-in-watch-${version}` });
      const seen = collect(watcher);
      await watcher.subscribeAsync(topic, { qos: 2 });

      const raw = await RawClient.open(broker.port, version);
      const props = version === 5 ? { sessionExpiryInterval: 60 } : undefined;
      await raw.connect(`qos2-in-${version}`, { cleanStart: version === 5, properties: props });
      if (version === 4) { raw.close(); }
      const pub = version === 4 ? await RawClient.open(broker.port, 4) : raw;
      if (version === 4) await pub.connect(`qos2-in-${version}`, { cleanStart: false });
      pub.send({ type: "publish", topic, payload: enc("once"), qos: 2, retain: false, dup: false, packetId: 7 });
      expect((await pub.next("pubrec")).packetId).toBe(7);
      pub.close(); // gone before PUBREL
      await pub.waitClosed();

      const back = await RawClient.open(broker.port, version);
      expect((await back.connect(`qos2-in-${version}`, { cleanStart: false, properties: props })).sessionPresent).toBe(true);
      back.send({ type: "publish", topic, payload: enc("once"), qos: 2, retain: false, dup: true, packetId: 7 });
      expect((await back.next("pubrec")).packetId).toBe(7); // [MQTT-4.3.3-9] acknowledged again…
      back.send({ type: "pubrel", packetId: 7, reasonCode: 0 });
      const comp = await back.next("pubcomp");
      expect([comp.packetId, comp.reasonCode]).toEqual([7, 0]);
      await sleep(300);
      expect(seen.map((m) => m.payload), `version ${version}`).toEqual(["once"]); // …but delivered once
      // The id is free again: a new message with it is a new message.
      back.send({ type: "publish", topic, payload: enc("again"), qos: 2, retain: false, dup: false, packetId: 7 });
      await back.next("pubrec");
      back.send({ type: "pubrel", packetId: 7, reasonCode: 0 });
      await back.next("pubcomp");
      await waitFor(() => seen.length === 2);
      expect(seen.map((m) => m.payload)).toEqual(["once", "again"]);
      back.close();
      watcher.end();
    }
  });

  it("discards a session with expiry 0 when its connection ends", async () => {
    const raw = await RawClient.open(broker.port, 5);
    await raw.connect("expiry-zero", { cleanStart: false });
    await subscribe(raw, "expiry/zero", 1);
    await leave(raw);
    await publisher.publishAsync("expiry/zero", "lost", { qos: 1 });
    const back = await RawClient.open(broker.port, 5);
    expect((await back.connect("expiry-zero", { cleanStart: false })).sessionPresent).toBe(false);
    await publisher.publishAsync("expiry/zero", "after", { qos: 1 });
    await sleep(300);
    expect(back.received).toEqual([]); // neither the queued message nor the subscription survived
    back.close();
  });

  it("ends a session once its expiry interval has passed: Session Present 0, no queued messages, no subscription", async () => {
    const raw = await RawClient.open(broker.port, 5);
    await raw.connect("expiry-one", { properties: { sessionExpiryInterval: 1 } });
    await subscribe(raw, "expiry/one", 1);
    const js = await connect(broker.url, { clientId: "expiry-one-js", clean: false, properties: { sessionExpiryInterval: 1 } });
    await js.subscribeAsync("expiry/one", { qos: 1 });
    await leave(raw);
    await js.endAsync();
    await publisher.publishAsync("expiry/one", "queued", { qos: 1 });

    // Within the interval the session is still there…
    const early = await RawClient.open(broker.port, 5);
    expect((await early.connect("expiry-one", { cleanStart: false, properties: { sessionExpiryInterval: 1 } })).sessionPresent).toBe(true);
    expect(text((await publishes(early, 1))[0]!)).toBe("queued");
    early.send({ type: "puback", packetId: 1, reasonCode: 0 });
    await leave(early);

    await publisher.publishAsync("expiry/one", "too late", { qos: 1 });
    await sleep(1700);
    // …after it, gone.
    const late = await RawClient.open(broker.port, 5);
    expect((await late.connect("expiry-one", { cleanStart: false, properties: { sessionExpiryInterval: 1 } })).sessionPresent).toBe(false);
    const { client: lateJs, connack, got: jsGot } = await connectWithAck(broker.url, { clientId: "expiry-one-js", clean: false, properties: { sessionExpiryInterval: 1 } });
    expect(connack.sessionPresent).toBe(false);
    await publisher.publishAsync("expiry/one", "nobody", { qos: 1 });
    await sleep(300);
    expect(late.received).toEqual([]);
    expect(jsGot).toEqual([]);
    late.close();
    lateJs.end();
  });

  it("lets DISCONNECT shorten the session expiry interval to 0, which ends the session", async () => {
    const raw = await RawClient.open(broker.port, 5);
    await raw.connect("shorten", { properties: { sessionExpiryInterval: 60 } });
    await subscribe(raw, "shorten/t", 1);
    raw.send({ type: "disconnect", reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await raw.waitClosed();
    const back = await RawClient.open(broker.port, 5);
    expect((await back.connect("shorten", { cleanStart: false, properties: { sessionExpiryInterval: 60 } })).sessionPresent).toBe(false);
    back.close();
  });

  it("treats a DISCONNECT that sets a session expiry interval after 0 at CONNECT as a protocol error: DISCONNECT 0x82, closed, session gone", async () => {
    const raw = await RawClient.open(broker.port, 5);
    await raw.connect("late-expiry");
    await subscribe(raw, "late/expiry", 1);
    raw.send({ type: "disconnect", reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    expect((await raw.next("disconnect")).reasonCode).toBe(0x82); // [MQTT-3.14.2-2]
    await raw.waitClosed();
    const back = await RawClient.open(broker.port, 5);
    expect((await back.connect("late-expiry", { cleanStart: false })).sessionPresent).toBe(false);
    back.close();
  });
});
