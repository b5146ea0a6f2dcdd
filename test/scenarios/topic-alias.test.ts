// Topic aliases (MQTT 5.0) in both directions, over real sockets.
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PublishPacket } from "@edgemq/core/codec";
import { collect, connect, RawClient, sleep, waitFor, mosquittoSubDebug } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

const enc = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);

let broker: RunningBroker;
beforeAll(async () => {
  broker = await startBroker(["--sys-interval", "0"]);
});
afterAll(async () => {
  await broker.stop();
});

function publish(topic: string, payload: string, alias?: number, qos: 0 | 1 = 0, packetId?: number): PublishPacket {
  return { type: "publish", topic, payload: enc.encode(payload), qos, retain: false, dup: false, packetId, properties: alias !== undefined ? { topicAlias: alias } : undefined };
}

async function rawSubscriber(clientId: string, filter: string, properties: Record<string, number> = {}): Promise<RawClient> {
  const raw = await RawClient.open(broker.port, 5);
  expect((await raw.connect(clientId, { properties })).reasonCode).toBe(0);
  raw.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: filter, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
  await raw.next("suback");
  return raw;
}


/** mosquitto_pub -l: one message per line of `input`. */
function mosquittoPubLines(args: string[], input: string): Promise<{ code: number | null; output: string }> {
  const child = spawn("mosquitto_pub", ["-l", ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
  child.stdin.end(input);
  return new Promise((r) => child.once("close", (code) => { clearTimeout(kill); r({ code, output: out }); }));
}

/** Takes `n` PUBLISH packets off a RawClient, acknowledging those at QoS 1. */
async function take(raw: RawClient, n: number): Promise<PublishPacket[]> {
  const out: PublishPacket[] = [];
  for (let i = 0; i < n; i++) {
    const p = await raw.next("publish");
    if (p.qos === 1) raw.send({ type: "puback", packetId: p.packetId!, reasonCode: 0 });
    out.push(p);
  }
  return out;
}

describe("topic aliases from the client", () => {
  it("advertises a Topic Alias Maximum in CONNACK", async () => {
    const raw = await RawClient.open(broker.port, 5);
    const ack = await raw.connect("alias-advertise");
    expect(ack.properties?.topicAliasMaximum).toBe(16);
    raw.close();
  });

  it("accepts a topic with an alias, then the alias alone, and lets the client remap it", async () => {
    const sub = await connect(broker.url, { clientId: "alias-in-sub" });
    const got = collect(sub);
    await sub.subscribeAsync("alias/in/#", { qos: 1 });
    const raw = await RawClient.open(broker.port, 5);
    await raw.connect("alias-in-pub");
    raw.send(publish("alias/in/one", "first", 3));
    raw.send(publish("", "second", 3));
    raw.send(publish("", "third", 3, 1, 1));
    expect(await raw.next("puback")).toMatchObject({ packetId: 1, reasonCode: 0 });
    raw.send(publish("alias/in/two", "remapped", 3));
    raw.send(publish("", "fifth", 3));
    await waitFor(() => got.length === 5);
    expect(got.map((m) => [m.topic, m.payload])).toEqual([
      ["alias/in/one", "first"], ["alias/in/one", "second"], ["alias/in/one", "third"],
      ["alias/in/two", "remapped"], ["alias/in/two", "fifth"],
    ]);
    // The inbound alias never reaches the subscriber.
    expect(got.every((m) => m.packet.properties?.topicAlias === undefined)).toBe(true);
    raw.close(); sub.end();
  });

  it("works with mqtt.js assigning aliases itself", async () => {
    const sub = await connect(broker.url, { clientId: "alias-mqttjs-sub" });
    const got = collect(sub);
    await sub.subscribeAsync("alias/auto/+", { qos: 1 });
    const pub = await connect(broker.url, { clientId: "alias-mqttjs-pub", autoAssignTopicAlias: true });
    for (let i = 0; i < 3; i++) {
      await pub.publishAsync("alias/auto/a", `a${i}`, { qos: 1 });
      await pub.publishAsync("alias/auto/b", `b${i}`, { qos: 1 });
    }
    await waitFor(() => got.length === 6);
    expect(got.map((m) => `${m.topic}=${m.payload}`)).toEqual(["alias/auto/a=a0", "alias/auto/b=b0", "alias/auto/a=a1", "alias/auto/b=b1", "alias/auto/a=a2", "alias/auto/b=b2"]);
    pub.end(); sub.end();
  });

  it("accepts the alias mosquitto_pub -l sets once and then uses alone", async () => {
    const sub = await connect(broker.url, { clientId: "alias-mosq-in-sub" });
    const got = collect(sub);
    await sub.subscribeAsync("alias/mosq/in", { qos: 1 });
    const r = await mosquittoPubLines(["-h", "127.0.0.1", "-p", String(broker.port), "-V", "mqttv5", "-t", "alias/mosq/in", "-q", "1", "-d", "-D", "publish", "topic-alias", "5"], "one\ntwo\nthree\n");
    expect(r.code).toBe(0);
    // mosquitto_pub sent the topic once, then the alias alone.
    expect(r.output).toMatch(/sending PUBLISH \(d0, q1, r0, m\d+, 'alias\/mosq\/in'/);
    expect(r.output).toMatch(/sending PUBLISH \(d0, q1, r0, m\d+, '\(null\)'/);
    expect(r.output).not.toMatch(/received DISCONNECT/);
    await waitFor(() => got.length === 3);
    expect(got.map((m) => `${m.topic} ${m.payload}`)).toEqual(["alias/mosq/in one", "alias/mosq/in two", "alias/mosq/in three"]);
    sub.end();
  });

  it("disconnects with 0x94 a client that uses an alias above the broker's maximum", async () => {
    const raw = await RawClient.open(broker.port, 5);
    await raw.connect("alias-too-big");
    raw.send(publish("alias/big", "x", 17));
    expect((await raw.next("disconnect")).reasonCode).toBe(0x94);
    await raw.waitClosed();
  });

  it("disconnects with 0x82 a client that sends topic alias 0, a Protocol Error [MQTT-3.3.2-8] (0x94 is for aliases above the maximum)", async () => {
    const raw = await RawClient.open(broker.port, 5);
    await raw.connect("alias-zero");
    raw.sendBytes([0x30, 7, 0, 1, 0x74, 3, 0x23, 0, 0]); // PUBLISH "t", QoS 0, Topic Alias 0
    expect((await raw.next("disconnect")).reasonCode).toBe(0x82);
    await raw.waitClosed();
  });

  it("disconnects with 0x82 a client that sends an empty topic with an alias it never set", async () => {
    const raw = await RawClient.open(broker.port, 5);
    await raw.connect("alias-unknown");
    raw.send(publish("alias/known", "x", 1));
    raw.send(publish("", "y", 2));
    expect((await raw.next("disconnect")).reasonCode).toBe(0x82);
    await raw.waitClosed();
  });

  it("forgets a client's aliases when its connection ends", async () => {
    const first = await RawClient.open(broker.port, 5);
    await first.connect("alias-forget", { cleanStart: false, properties: { sessionExpiryInterval: 30 } });
    first.send(publish("alias/forget", "x", 1));
    first.send({ type: "pingreq" });
    await first.next("pingresp");
    first.close();
    await sleep(100);
    const second = await RawClient.open(broker.port, 5);
    await second.connect("alias-forget", { cleanStart: false, properties: { sessionExpiryInterval: 30 } });
    second.send(publish("", "y", 1));
    expect((await second.next("disconnect")).reasonCode).toBe(0x82);
  });

  it("refuses every alias with 0x94 when the broker's Topic Alias Maximum is 0", async () => {
    const dir = await import("node:fs/promises").then((fs) => fs.mkdtemp("/tmp/edgemq-alias-"));
    const file = `${dir}/config.json`;
    await import("node:fs/promises").then((fs) => fs.writeFile(file, JSON.stringify({ limits: { topicAliasMaximum: 0, sysInterval: 0 } })));
    const none = await startBroker(["--config", file]);
    try {
      const raw = await RawClient.open(none.port, 5);
      const ack = await raw.connect("alias-none");
      // 0 is the default, so CONNACK may leave it out; either way no alias is allowed.
      expect(ack.properties?.topicAliasMaximum ?? 0).toBe(0);
      raw.send(publish("alias/none", "x", 1));
      expect((await raw.next("disconnect")).reasonCode).toBe(0x94);
    } finally {
      await none.stop();
    }
  });
});

describe("topic aliases to the client", () => {
  it("sends the topic with an alias first, then an empty topic with that alias, never above the client's maximum", async () => {
    const sub = await rawSubscriber("alias-out", "alias/out/#", { topicAliasMaximum: 2 });
    const pub = await connect(broker.url, { clientId: "alias-out-pub" });
    const topics = ["alias/out/a", "alias/out/a", "alias/out/b", "alias/out/b", "alias/out/c", "alias/out/c", "alias/out/a"];
    for (const [i, t] of topics.entries()) await pub.publishAsync(t, `m${i}`, { qos: (i % 2) as 0 | 1 });
    const got = await take(sub, topics.length);
    expect(got.map((p) => [p.topic, p.properties?.topicAlias, text(p.payload)])).toEqual([
      ["alias/out/a", 1, "m0"],
      ["", 1, "m1"],
      ["alias/out/b", 2, "m2"],
      ["", 2, "m3"],
      // Both aliases are taken: the third topic goes out in full, without an alias.
      ["alias/out/c", undefined, "m4"],
      ["alias/out/c", undefined, "m5"],
      ["", 1, "m6"],
    ]);
    pub.end(); sub.close();
  });

  it("sends no alias to a client whose Topic Alias Maximum is 0 or absent", async () => {
    const zero = await rawSubscriber("alias-out-zero", "alias/zero", { topicAliasMaximum: 0 });
    const absent = await rawSubscriber("alias-out-absent", "alias/zero");
    const v4 = await RawClient.open(broker.port, 4);
    await v4.connect("alias-out-v4");
    v4.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "alias/zero", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await v4.next("suback");
    const pub = await connect(broker.url, { clientId: "alias-zero-pub" });
    for (let i = 0; i < 3; i++) await pub.publishAsync("alias/zero", `m${i}`, { qos: 1 });
    for (const raw of [zero, absent, v4]) {
      const got = await take(raw, 3);
      expect(got.map((p) => [p.topic, p.properties?.topicAlias])).toEqual([["alias/zero", undefined], ["alias/zero", undefined], ["alias/zero", undefined]]);
      raw.close();
    }
    pub.end();
  });

  it("starts aliases afresh on a new connection, even when resuming a session", async () => {
    const opts = { topicAliasMaximum: 4, sessionExpiryInterval: 30 };
    const sub = await RawClient.open(broker.port, 5);
    await sub.connect("alias-fresh", { cleanStart: true, properties: opts });
    sub.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "alias/fresh", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await sub.next("suback");
    const pub = await connect(broker.url, { clientId: "alias-fresh-pub" });
    await pub.publishAsync("alias/fresh", "one", { qos: 1 });
    await pub.publishAsync("alias/fresh", "two", { qos: 1 });
    const [one, two] = await take(sub, 2);
    expect([one!.topic, one!.properties?.topicAlias, two!.topic, two!.properties?.topicAlias]).toEqual(["alias/fresh", 1, "", 1]);
    // A third message is left unacknowledged, then the client reconnects.
    await pub.publishAsync("alias/fresh", "three", { qos: 1 });
    const three = await sub.next("publish");
    expect(three.topic).toBe("");
    sub.close();
    await sleep(100);
    const again = await RawClient.open(broker.port, 5);
    expect((await again.connect("alias-fresh", { cleanStart: false, properties: opts })).sessionPresent).toBe(true);
    const resent = await again.next("publish");
    expect(resent).toMatchObject({ topic: "alias/fresh", dup: true, packetId: three.packetId });
    expect(text(resent.payload)).toBe("three");
    again.send({ type: "puback", packetId: resent.packetId!, reasonCode: 0 });
    await pub.publishAsync("alias/fresh", "four", { qos: 1 });
    const four = await again.next("publish");
    expect([four.topic, four.properties?.topicAlias]).toEqual(["", resent.properties?.topicAlias]);
    again.close(); pub.end();
  });

  it("sends mosquitto_sub, which sets no Topic Alias Maximum, the full topic on every message", async () => {
    // (libmosquitto 2.0.11 reports a protocol error on an aliased PUBLISH even when it sets a maximum
    // with -D connect topic-alias-maximum; Mosquitto's own broker never sends aliases.)
    const m = mosquittoSubDebug(["-h", "127.0.0.1", "-p", String(broker.port), "-V", "mqttv5", "-t", "alias/mosq/out/+", "-q", "1", "-v", "-C", "4"]);
    await waitFor(() => m.lines().some((l) => l.includes("received SUBACK")), 5000, "mosquitto_sub to subscribe");
    const pub = await connect(broker.url, { clientId: "alias-mosq-out-pub" });
    for (const t of ["a", "a", "b", "a"]) await pub.publishAsync(`alias/mosq/out/${t}`, t, { qos: 1 });
    expect(await m.exited).toBe(0);
    expect(m.lines().filter((l) => l.includes("received PUBLISH")).map((l) => /'([^']*)'/.exec(l)![1])).toEqual(["alias/mosq/out/a", "alias/mosq/out/a", "alias/mosq/out/b", "alias/mosq/out/a"]);
    expect(m.lines().filter((l) => !l.startsWith("Client ") && !l.startsWith("Subscribed"))).toEqual(["alias/mosq/out/a a", "alias/mosq/out/a a", "alias/mosq/out/b b", "alias/mosq/out/a a"]);
    pub.end();
  });

  it("lets mqtt.js resolve the aliases it receives", async () => {
    const sub = await connect(broker.url, { clientId: "alias-mqttjs-in", properties: { topicAliasMaximum: 3 } });
    const got = collect(sub);
    await sub.subscribeAsync("alias/js/+", { qos: 1 });
    const pub = await connect(broker.url, { clientId: "alias-mqttjs-in-pub" });
    const topics = ["alias/js/a", "alias/js/b", "alias/js/a", "alias/js/c", "alias/js/d", "alias/js/b", "alias/js/d"];
    for (const t of topics) await pub.publishAsync(t, t, { qos: 0 });
    await waitFor(() => got.length === topics.length);
    expect(got.map((m) => m.topic)).toEqual(topics);
    expect(got.map((m) => m.payload)).toEqual(topics);
    // mqtt.js saw aliases on the wire: 1..3, never above 3.
    const aliases = got.map((m) => m.packet.properties?.topicAlias).filter((a) => a !== undefined);
    expect(aliases.length).toBeGreaterThan(0);
    expect(aliases.every((a) => a! >= 1 && a! <= 3)).toBe(true);
    pub.end(); sub.end();
  });
});
