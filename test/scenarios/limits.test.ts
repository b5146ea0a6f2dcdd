// Per-broker limits and quotas as a user meets them: brokers created over the
// admin API with their own limits (or the cloudflare preset), real clients
// crossing each limit over a socket, the reason code checked, and a neighbour
// on the same broker and a client of another broker left undisturbed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Packet } from "@edgemq/core/codec";
import { connect, RawClient, sleep, waitFor } from "../support/clients.ts";
import { generatedAdminToken, type RunningBroker, runBrokerExpectingExit, startBroker, writeConfig } from "../support/server.ts";

const ACCOUNT = "0123456789abcdef0123456789abcdef";
const NS = "lim";
const encoder = new TextEncoder();

let server: RunningBroker;
let base: string;
let token: string;

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: { result: any; success: boolean; errors: { code: number; message: string }[] } }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() as any };
}

async function ok(method: string, path: string, body?: unknown): Promise<any> {
  const { status, json } = await api(method, path, body);
  if (status !== 200 || !json.success) throw new Error(`${method} ${path}: ${status} ${JSON.stringify(json.errors)}`);
  return json.result;
}

/** Creates a broker with its own limits (and preset) in the test namespace. */
function createBroker(name: string, limits: Record<string, number> = {}, preset?: string): Promise<any> {
  return ok("POST", `/namespaces/${NS}/brokers`, { name, limits, ...(preset ? { preset } : {}) });
}

async function credential(broker: string, clientId: string): Promise<string> {
  const result = await ok("GET", `/namespaces/${NS}/brokers/${broker}/credentials?type=TOKEN&clientid=${encodeURIComponent(clientId)}`);
  return result[clientId] as string;
}

/**
 * A credential for a client id longer than the broker allows: the API refuses to issue one, so the
 * limit is lifted for the issue and put back (`null`: the preset's), as an operator lowering it later would.
 */
async function credentialPastLimit(broker: string, clientId: string, limit: number | null): Promise<string> {
  await ok("PATCH", `/namespaces/${NS}/brokers/${broker}`, { limits: { max_client_id_length: 65_535 } });
  const cred = await credential(broker, clientId);
  await ok("PATCH", `/namespaces/${NS}/brokers/${broker}`, { limits: { max_client_id_length: limit } });
  return cred;
}

/** A raw client of a tenant broker, connected with a credential; returns the client and its CONNACK. */
async function rawClient(broker: string, clientId: string, extra: Partial<Extract<Packet, { type: "connect" }>> = {}, version: 4 | 5 = 5, given?: string) {
  const cred = given ?? await credential(broker, clientId);
  const c = await RawClient.open(server.port, version);
  const connack = await c.connect(clientId, { username: "x", password: encoder.encode(cred), ...extra });
  return { c, connack };
}

/** Whether a client of `broker` still gets its own QoS 1 message back: the proof a neighbour is undisturbed. */
async function roundTrip(broker: string, clientId: string): Promise<void> {
  const { c, connack } = await rawClient(broker, clientId);
  expect(connack.reasonCode).toBe(0);
  c.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: `echo/${clientId}`, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
  expect((await c.next("suback")).reasonCodes).toEqual([1]);
  c.send({ type: "publish", topic: `echo/${clientId}`, qos: 1, packetId: 2, retain: false, dup: false, payload: encoder.encode("still here") });
  expect((await c.next("puback")).reasonCode).toBe(0);
  const got = await c.next("publish");
  expect(new TextDecoder().decode(got.payload)).toBe("still here");
  c.close();
}

const publish = (topic: string, payload: Uint8Array | string, qos: 0 | 1 = 0, packetId?: number, retain = false): Packet => ({
  type: "publish", topic, qos, packetId, retain, dup: false, payload: typeof payload === "string" ? encoder.encode(payload) : payload,
});
const sub = (packetId: number, ...filters: string[]): Packet => ({
  type: "subscribe", packetId, subscriptions: filters.map((topicFilter) => ({ topicFilter, qos: 1 as const, noLocal: false, retainAsPublished: false, retainHandling: 0 as const })),
});

beforeAll(async () => {
  server = await startBroker(["--admin-port", "0", "--ws-port", "0", "--sys-interval", "0"]);
  base = `http://127.0.0.1:${server.ports.http}/client/v4/accounts/${ACCOUNT}/pubsub`;
  token = generatedAdminToken(server.output());
  await ok("POST", "/namespaces", { name: NS });
  // The broker every test checks is left alone by another broker's limits.
  await createBroker("calm");
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

describe("limits set through the admin API", () => {
  it("shows the defaults of reliability.md for a new broker, and Cloudflare's numbers for the cloudflare preset", async () => {
    const calm = await ok("GET", `/namespaces/${NS}/brokers/calm`);
    expect(calm.preset).toBe("full");
    expect(calm.limits).toMatchObject({
      max_message_size: 1024 * 1024, max_packets_per_second: 0, max_topic_levels: 128, max_subscriptions_per_client: 100,
      max_retained_messages: 100_000, max_retained_bytes: 256 * 1024 * 1024, max_queued_messages: 1000, max_session_expiry: 7 * 24 * 3600,
      max_keep_alive: 300, connect_timeout: 10,
    });
    const cf = await createBroker("cf", {}, "cloudflare");
    expect(cf.preset).toBe("cloudflare");
    expect(cf.limits).toMatchObject({
      max_message_size: 64_000, max_packets_per_second: 10, max_topic_levels: 9, max_client_id_length: 23, max_session_expiry: 7 * 24 * 3600,
      max_subscribers_per_topic: 1000, connect_timeout: 10, min_keep_alive: 10,
    });
  });

  it("refuses a limit out of its range or unknown with a 400 that names the field and the range", async () => {
    const bad = await api("POST", `/namespaces/${NS}/brokers`, { name: "bad", limits: { max_message_size: 10 } });
    expect(bad.status).toBe(400);
    expect(bad.json.errors[0]!.message).toMatch(/limits\.max_message_size must be a whole number from 64 to 268435455/);
    const unknown = await api("PATCH", `/namespaces/${NS}/brokers/calm`, { limits: { max_speed: 1 } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.errors[0]!.message).toMatch(/unknown limit "max_speed"/);
    const preset = await api("PATCH", `/namespaces/${NS}/brokers/calm`, { preset: "aws" });
    expect(preset.status).toBe(400);
    expect(preset.json.errors[0]!.message).toMatch(/preset must be one of full, cloudflare/);
    const crossed = await api("PATCH", `/namespaces/${NS}/brokers/calm`, { limits: { min_keep_alive: 100, max_keep_alive: 50 } });
    expect(crossed.status).toBe(400);
    expect(crossed.json.errors[0]!.message).toMatch(/min_keep_alive \(100\) must not be above limits.max_keep_alive \(50\)/);
  });
});

describe("each limit crossed over a real socket", () => {
  it("disconnects a client whose PUBLISH is larger than max_message_size with 0x95, which CONNACK advertised", async () => {
    await createBroker("small", { max_message_size: 1024 });
    const { c, connack } = await rawClient("small", "big-talker");
    expect(connack.properties?.maximumPacketSize).toBe(1024);
    c.send(publish("t", new Uint8Array(2000)));
    expect((await c.next("disconnect")).reasonCode).toBe(0x95);
    await c.waitClosed();
    await roundTrip("small", "small-neighbour");
    // Another broker takes the same message.
    const other = await rawClient("calm", "calm-big");
    other.c.send(publish("t", new Uint8Array(2000), 1, 1));
    expect((await other.c.next("puback")).reasonCode).toBeLessThan(0x80);
    other.c.close();
  });

  it("disconnects a client sending more than max_packets_per_second with 0x96 Message rate too high", async () => {
    await createBroker("slow", { max_packets_per_second: 5 });
    const { c } = await rawClient("slow", "chatty");
    for (let i = 0; i < 20; i++) c.send({ type: "pingreq" });
    expect((await c.next("disconnect")).reasonCode).toBe(0x96);
    await c.waitClosed();
    // A client within the rate is left alone: four packets, well inside the burst of five.
    await roundTrip("slow", "polite");
    await roundTrip("calm", "calm-rate");
  });

  it("lets a client keep to max_packets_per_second for several seconds without being disconnected", async () => {
    const { c } = await rawClient("slow", "steady");
    for (let i = 0; i < 12; i++) {
      c.send({ type: "pingreq" });
      await sleep(250); // 4 per second under a limit of 5
    }
    await waitFor(() => c.received.filter((p) => p.type === "pingresp").length === 12, 3000, "12 PINGRESPs");
    expect(c.closed).toBe(false);
    c.close();
  });

  it("does not count a subscriber's acknowledgements of the broker's QoS 1 messages towards max_packets_per_second", async () => {
    const { c } = await rawClient("slow", "busy-reader");
    c.send(sub(1, "feed"));
    await c.next("suback");
    for (let i = 0; i < 15; i++) await ok("POST", `/namespaces/${NS}/brokers/slow/publish`, { topic: "feed", payload: `m${i}`, qos: 1 });
    await waitFor(() => c.received.filter((p) => p.type === "publish").length === 15, 3000, "15 messages");
    // Fifteen PUBACKs at once: three times the limit of 5 per second.
    for (const p of c.received.filter((x) => x.type === "publish")) c.send({ type: "puback", packetId: (p as Extract<Packet, { type: "publish" }>).packetId!, reasonCode: 0 });
    c.send({ type: "pingreq" });
    await c.next("pingresp");
    await sleep(200);
    expect(c.closed).toBe(false);
    expect(c.received.some((p) => p.type === "disconnect")).toBe(false);
    c.close();
  });

  it("disconnects a client sending more than max_bytes_per_second with 0x96", async () => {
    await createBroker("narrow", { max_bytes_per_second: 4096, max_message_size: 2048 });
    const { c } = await rawClient("narrow", "flood");
    for (let i = 0; i < 4; i++) c.send(publish("f", new Uint8Array(1800)));
    expect((await c.next("disconnect")).reasonCode).toBe(0x96);
    await c.waitClosed();
    await roundTrip("narrow", "narrow-neighbour");
    await roundTrip("calm", "calm-bytes");
  });

  it("disconnects a PUBLISH to a topic longer than max_topic_length with 0x90, and answers a long filter with SUBACK 0x8F", async () => {
    await createBroker("short", { max_topic_length: 16 });
    const subscriber = await rawClient("short", "long-sub");
    subscriber.c.send(sub(1, "this/filter/is/too/long", "ok/+"));
    expect((await subscriber.c.next("suback")).reasonCodes).toEqual([0x8f, 1]);
    subscriber.c.close();
    const { c } = await rawClient("short", "long-pub");
    c.send(publish("this/topic/is/too/long", "x"));
    expect((await c.next("disconnect")).reasonCode).toBe(0x90);
    await roundTrip("short", "short-ok");
    await roundTrip("calm", "calm-topic");
  });

  it("disconnects a PUBLISH deeper than max_topic_levels with 0x90", async () => {
    await createBroker("flat", { max_topic_levels: 3 });
    const fine = await rawClient("flat", "three-levels");
    fine.c.send(publish("a/b/c", "x", 1, 1));
    expect((await fine.c.next("puback")).reasonCode).toBeLessThan(0x80);
    fine.c.close();
    const { c } = await rawClient("flat", "four-levels");
    c.send(publish("a/b/c/d", "x", 1, 1));
    expect((await c.next("disconnect")).reasonCode).toBe(0x90);
    const other = await rawClient("calm", "calm-deep");
    other.c.send(publish("a/b/c/d", "x", 1, 1));
    expect((await other.c.next("puback")).reasonCode).toBeLessThan(0x80);
    other.c.close();
  });

  it("refuses a client id longer than max_client_id_length with CONNACK 0x85, and 2 at 3.1.1", async () => {
    await createBroker("terse", { max_client_id_length: 8 });
    expect((await rawClient("terse", "much-too-long", {}, 5, await credentialPastLimit("terse", "much-too-long", 8))).connack.reasonCode).toBe(0x85);
    expect((await rawClient("terse", "also-too-long", {}, 4, await credentialPastLimit("terse", "also-too-long", 8))).connack.reasonCode).toBe(2);
    await roundTrip("terse", "exactly8");
    await roundTrip("calm", "much-too-long-is-fine-here");
  });

  it("refuses a connection past max_connections with CONNACK 0x97 (3 at 3.1.1), lets a takeover through, and accepts again once one leaves", async () => {
    await createBroker("tiny", { max_connections: 2 });
    const a = await rawClient("tiny", "one");
    const b = await rawClient("tiny", "two");
    expect([a.connack.reasonCode, b.connack.reasonCode]).toEqual([0, 0]);
    expect((await rawClient("tiny", "three")).connack.reasonCode).toBe(0x97);
    expect((await rawClient("tiny", "three-v3", {}, 4)).connack.reasonCode).toBe(3);
    // Taking over "two" replaces a connection: not a new one.
    const again = await rawClient("tiny", "two");
    expect(again.connack.reasonCode).toBe(0);
    expect((await b.c.next("disconnect")).reasonCode).toBe(0x8e);
    a.c.close();
    await a.c.waitClosed();
    await sleep(200);
    await roundTrip("tiny", "four");
    await roundTrip("calm", "calm-conn");
    again.c.close();
  });

  it("answers a subscription past max_subscriptions_per_client with SUBACK 0x97 (0x80 at 3.1.1)", async () => {
    await createBroker("few", { max_subscriptions_per_client: 2 });
    const { c } = await rawClient("few", "greedy");
    c.send(sub(1, "a", "b", "c"));
    expect((await c.next("suback")).reasonCodes).toEqual([1, 1, 0x97]);
    // Replacing a subscription it holds is no new one.
    c.send(sub(2, "a"));
    expect((await c.next("suback")).reasonCodes).toEqual([1]);
    c.close();
    const v3 = await rawClient("few", "greedy-v3", {}, 4);
    v3.c.send(sub(1, "a", "b", "c"));
    expect((await v3.c.next("suback")).reasonCodes).toEqual([1, 1, 0x80]);
    v3.c.close();
    await roundTrip("few", "modest");
  });

  it("answers the subscriber past max_subscribers_per_topic with SUBACK 0x97, while other filters stay open", async () => {
    await createBroker("crowd", { max_subscribers_per_topic: 2 });
    const s1 = await rawClient("crowd", "s1");
    const s2 = await rawClient("crowd", "s2");
    const s3 = await rawClient("crowd", "s3");
    s1.c.send(sub(1, "news"));
    expect((await s1.c.next("suback")).reasonCodes).toEqual([1]);
    s2.c.send(sub(1, "news"));
    expect((await s2.c.next("suback")).reasonCodes).toEqual([1]);
    s3.c.send(sub(1, "news", "sport"));
    expect((await s3.c.next("suback")).reasonCodes).toEqual([0x97, 1]);
    // The two subscribers still get the news.
    s3.c.send(publish("news", "extra", 1, 2));
    expect((await s3.c.next("puback")).reasonCode).toBe(0);
    expect(new TextDecoder().decode((await s1.c.next("publish")).payload)).toBe("extra");
    expect(new TextDecoder().decode((await s2.c.next("publish")).payload)).toBe("extra");
    for (const s of [s1, s2, s3]) s.c.close();
    await roundTrip("calm", "calm-crowd");
  });

  it("answers a retained message past max_retained_messages with PUBACK 0x97, yet replaces or clears a held one", async () => {
    await createBroker("forgetful", { max_retained_messages: 2 });
    const { c } = await rawClient("forgetful", "keeper");
    c.send(publish("r/1", "one", 1, 1, true));
    expect((await c.next("puback")).reasonCode).toBe(0x10); // retained; nobody subscribed
    c.send(publish("r/2", "two", 1, 2, true));
    expect((await c.next("puback")).reasonCode).toBe(0x10);
    c.send(publish("r/3", "three", 1, 3, true));
    expect((await c.next("puback")).reasonCode).toBe(0x97);
    c.send(publish("r/1", "one again", 1, 4, true));
    expect((await c.next("puback")).reasonCode).toBe(0x10);
    c.send(publish("r/2", "", 1, 5, true)); // clears r/2
    expect((await c.next("puback")).reasonCode).toBe(0x10);
    c.send(publish("r/3", "three", 1, 6, true));
    expect((await c.next("puback")).reasonCode).toBe(0x10);
    expect(c.closed).toBe(false);
    c.close();
    const retained = await ok("GET", `/namespaces/${NS}/brokers/forgetful/retained`);
    expect(retained.map((m: { topic: string }) => m.topic).sort()).toEqual(["r/1", "r/3"]);
    await roundTrip("forgetful", "forgetful-neighbour");
  });

  it("refuses a retained message over the admin API past max_retained_messages with a 400 naming the limit", async () => {
    const refused = await api("POST", `/namespaces/${NS}/brokers/forgetful/publish`, { topic: "r/http", payload: "x", retain: true });
    expect(refused.status).toBe(400);
    expect(refused.json.errors[0]!.message).toMatch(/max_retained_messages 2/);
    // Not retained, and a message that is not retained still goes.
    expect((await ok("GET", `/namespaces/${NS}/brokers/forgetful/retained`)).map((m: { topic: string }) => m.topic)).not.toContain("r/http");
    expect(await ok("POST", `/namespaces/${NS}/brokers/forgetful/publish`, { topic: "r/http", payload: "x" })).toEqual({ matched: 0 });
  });

  it("delivers a retained will past max_retained_messages without retaining it", async () => {
    const watcher = await rawClient("forgetful", "will-watcher");
    watcher.c.send(sub(1, "w/#"));
    await watcher.c.next("suback");
    const dying = await rawClient("forgetful", "dying", { will: { topic: "w/gone", payload: encoder.encode("bye"), qos: 0, retain: true } });
    expect(dying.connack.reasonCode).toBe(0);
    dying.c.close(); // no DISCONNECT: the will goes
    const will = await watcher.c.next("publish");
    expect(will.topic).toBe("w/gone");
    const retained = await ok("GET", `/namespaces/${NS}/brokers/forgetful/retained`);
    expect(retained.map((m: { topic: string }) => m.topic).sort()).toEqual(["r/1", "r/3"]);
    watcher.c.close();
  });

  it("answers a retained message past max_retained_bytes with PUBACK 0x97", async () => {
    await createBroker("thrifty", { max_retained_bytes: 100 });
    const { c } = await rawClient("thrifty", "hoarder");
    c.send(publish("r/a", new Uint8Array(80), 1, 1, true));
    expect((await c.next("puback")).reasonCode).toBe(0x10);
    c.send(publish("r/b", new Uint8Array(80), 1, 2, true));
    expect((await c.next("puback")).reasonCode).toBe(0x97);
    c.send(publish("r/a", new Uint8Array(90), 1, 3, true)); // a replacement counts without the one it replaces
    expect((await c.next("puback")).reasonCode).toBe(0x10);
    c.close();
    const other = await rawClient("calm", "calm-hoarder");
    other.c.send(publish("r/b", new Uint8Array(80), 1, 1, true));
    expect((await other.c.next("puback")).reasonCode).toBe(0x10);
    other.c.send(publish("r/b", "", 1, 2, true));
    await other.c.next("puback");
    other.c.close();
  });

  it("keeps at most max_queued_messages for an offline session and delivers those", async () => {
    await createBroker("brief", { max_queued_messages: 3 });
    const first = await rawClient("brief", "sleeper", { cleanStart: true, properties: { sessionExpiryInterval: 600 } });
    first.c.send(sub(1, "q"));
    await first.c.next("suback");
    first.c.close();
    await first.c.waitClosed();
    await sleep(200);
    const { c: pub } = await rawClient("brief", "waker");
    for (let i = 1; i <= 5; i++) {
      pub.send(publish("q", `m${i}`, 1, i));
      await pub.next("puback");
    }
    pub.close();
    const back = await rawClient("brief", "sleeper", { cleanStart: false, properties: { sessionExpiryInterval: 600 } });
    expect(back.connack.sessionPresent).toBe(true);
    await waitFor(() => back.c.received.filter((p) => p.type === "publish").length >= 3, 3000, "3 queued messages");
    await sleep(300);
    const got = back.c.received.filter((p) => p.type === "publish").map((p) => new TextDecoder().decode((p as Extract<Packet, { type: "publish" }>).payload));
    expect(got).toEqual(["m1", "m2", "m3"]);
    back.c.close();
  });

  it("grants at most max_session_expiry and says so in CONNACK", async () => {
    await createBroker("fleeting", { max_session_expiry: 60 });
    const { c, connack } = await rawClient("fleeting", "long-lived", { properties: { sessionExpiryInterval: 3600 } });
    expect(connack.properties?.sessionExpiryInterval).toBe(60);
    c.close();
    const calm = await rawClient("calm", "calm-long-lived", { properties: { sessionExpiryInterval: 3600 } });
    expect(calm.connack.properties?.sessionExpiryInterval).toBeUndefined();
    calm.c.close();
  });

  it("raises a keep alive under min_keep_alive and lowers one over max_keep_alive by Server Keep Alive", async () => {
    await createBroker("paced", { min_keep_alive: 20, max_keep_alive: 40 });
    const low = await rawClient("paced", "hasty", { keepAlive: 5 });
    expect(low.connack.properties?.serverKeepAlive).toBe(20);
    const none = await rawClient("paced", "lazy", { keepAlive: 0 });
    expect(none.connack.properties?.serverKeepAlive).toBe(40);
    const high = await rawClient("paced", "sleepy", { keepAlive: 100 });
    expect(high.connack.properties?.serverKeepAlive).toBe(40);
    const within = await rawClient("paced", "punctual", { keepAlive: 30 });
    expect(within.connack.properties?.serverKeepAlive).toBeUndefined();
    for (const x of [low, none, high, within]) x.c.close();
  });

  it("holds a silent 3.1.1 client that asked for no keep alive to the keep-alive bounds, as a 5.0 client is told, and closes it after 1.5 times that", async () => {
    await createBroker("watchful", { min_keep_alive: 1, max_keep_alive: 1 });
    const v5 = await rawClient("watchful", "told", { keepAlive: 0 });
    expect(v5.connack.properties?.serverKeepAlive).toBe(1);
    const v3 = await rawClient("watchful", "silent-v3", { keepAlive: 0 }, 4);
    expect(v3.connack.reasonCode).toBe(0);
    const opened = Date.now();
    await v3.c.waitClosed(5000);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(1400);
    // A 3.1.1 client that pings within the floor stays.
    const pinging = await rawClient("watchful", "pinging-v3", { keepAlive: 0 }, 4);
    for (let i = 0; i < 6; i++) {
      pinging.c.send({ type: "pingreq" });
      await sleep(500);
    }
    expect(pinging.c.closed).toBe(false);
    for (const x of [v5, pinging]) x.c.close();
  });

  it("closes a socket that sends no CONNECT within connect_timeout, reached by its WebSocket Host name", async () => {
    await createBroker("impatient", { connect_timeout: 1 });
    const open = (host: string) => new Promise<{ ws: WebSocket; closed: Promise<number> }>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.ports.ws}/`, ["mqtt"], { headers: { host } });
      const opened = Date.now();
      const closed = new Promise<number>((r) => ws.on("close", () => r(Date.now() - opened)));
      ws.on("open", () => resolve({ ws, closed }));
      ws.on("error", reject);
    });
    const silent = await open(`impatient.${NS}.localhost`);
    const patient = await open(`calm.${NS}.localhost`);
    const after = await Promise.race([silent.closed, sleep(5000).then(() => -1)]);
    expect(after).toBeGreaterThanOrEqual(900);
    expect(after).toBeLessThan(3500);
    // The other broker's connect timeout is its default 10 s: still open.
    expect(patient.ws.readyState).toBe(WebSocket.OPEN);
    patient.ws.close();
  });

  it("applies a lowered packet rate to a connected client at once, and a new max_message_size only to new connections", async () => {
    await createBroker("live");
    const { c } = await rawClient("live", "before");
    await ok("PATCH", `/namespaces/${NS}/brokers/live`, { limits: { max_packets_per_second: 3, max_message_size: 512 } });
    const shown = await ok("GET", `/namespaces/${NS}/brokers/live`);
    expect(shown.limits).toMatchObject({ max_packets_per_second: 3, max_message_size: 512 });
    // The connected client was told 1 MiB: a 1000-byte message still passes.
    c.send(publish("t", new Uint8Array(1000), 1, 1));
    expect((await c.next("puback")).reasonCode).toBeLessThan(0x80);
    for (let i = 0; i < 10; i++) c.send({ type: "pingreq" });
    expect((await c.next("disconnect")).reasonCode).toBe(0x96);
    const fresh = await rawClient("live", "after");
    expect(fresh.connack.properties?.maximumPacketSize).toBe(512);
    fresh.c.close();
    // null returns a limit to its preset's value.
    const reset = await ok("PATCH", `/namespaces/${NS}/brokers/live`, { limits: { max_packets_per_second: null } });
    expect(reset.limits.max_packets_per_second).toBe(0);
  });

  it("holds a cloudflare-preset broker to 10 packets per second and 23-byte client ids, with its feature table", async () => {
    const long = await rawClient("cf", "abcdefghijklmnopqrstuvwx", {}, 5, await credentialPastLimit("cf", "abcdefghijklmnopqrstuvwx", null)); // 24 bytes
    expect(long.connack.reasonCode).toBe(0x85);
    const { c, connack } = await rawClient("cf", "cf-client");
    expect(connack.properties).toMatchObject({ maximumQoS: 0, retainAvailable: false, maximumPacketSize: 64_000 });
    for (let i = 0; i < 30; i++) c.send({ type: "pingreq" });
    expect((await c.next("disconnect")).reasonCode).toBe(0x96);
    // The calm broker keeps the full feature set.
    const calm = await rawClient("calm", "calm-cf");
    expect(calm.connack.properties?.maximumQoS).toBeUndefined();
    calm.c.close();
  });

  it("persists a broker's limits and preset across PATCHes of other fields", async () => {
    await createBroker("kept", { max_connections: 7 }, "cloudflare");
    await ok("PATCH", `/namespaces/${NS}/brokers/kept`, { description: "renamed nothing" });
    const b = await ok("GET", `/namespaces/${NS}/brokers/kept`);
    expect(b.preset).toBe("cloudflare");
    expect(b.limits).toMatchObject({ max_connections: 7, max_packets_per_second: 10 });
    // Through mqtt.js too: a v5 client on the calm broker is untouched by all of the above.
    const cred = await credential("calm", "mqttjs-calm");
    const client = await connect(server.url, { clientId: "mqttjs-calm", username: "x", password: cred, protocolVersion: 5, reconnectPeriod: 0 });
    await client.subscribeAsync("z", { qos: 1 });
    client.end(true);
  });
});

describe("the default broker's limits, from flags and the config file", () => {
  it("refuses the second client under --max-connections 1 with CONNACK 0x97 and disconnects a flood under --max-packets-per-second with 0x96", async () => {
    const b = await startBroker(["--max-connections", "1", "--max-packets-per-second", "5", "--sys-interval", "0"]);
    try {
      const first = await RawClient.open(b.port);
      expect((await first.connect("first")).reasonCode).toBe(0);
      const second = await RawClient.open(b.port);
      expect((await second.connect("second")).reasonCode).toBe(0x97);
      await second.waitClosed();
      for (let i = 0; i < 20; i++) first.send({ type: "pingreq" });
      expect((await first.next("disconnect")).reasonCode).toBe(0x96);
      await first.waitClosed();
      // With the first gone, the next client gets in.
      await sleep(100);
      const third = await RawClient.open(b.port);
      expect((await third.connect("third")).reasonCode).toBe(0);
      third.close();
    } finally {
      await b.stop();
    }
  });

  it("takes limits from the config file, under the flags", async () => {
    const config = writeConfig({ limits: { maximumSubscribersPerTopic: 1, maximumRetainedMessages: 1, minimumKeepAlive: 30 } });
    const b = await startBroker(["--config", config, "--min-keepalive", "20", "--sys-interval", "0"]);
    try {
      const a = await RawClient.open(b.port);
      const connack = await a.connect("a", { keepAlive: 5 });
      expect(connack.properties?.serverKeepAlive).toBe(20); // the flag over the file
      a.send(sub(1, "only-one"));
      expect((await a.next("suback")).reasonCodes).toEqual([1]);
      const other = await RawClient.open(b.port);
      await other.connect("other");
      other.send(sub(1, "only-one"));
      expect((await other.next("suback")).reasonCodes).toEqual([0x97]);
      other.send(publish("r/1", "x", 1, 2, true));
      expect((await other.next("puback")).reasonCode).toBeLessThan(0x80);
      other.send(publish("r/2", "x", 1, 3, true));
      expect((await other.next("puback")).reasonCode).toBe(0x97);
      a.close();
      other.close();
    } finally {
      await b.stop();
    }
  });

  it("leaves the broker's own $SYS messages out of --max-retained-messages", async () => {
    const b = await startBroker(["--sys-interval", "1", "--max-retained-messages", "1"]);
    try {
      const watcher = await RawClient.open(b.port);
      await watcher.connect("sys-watcher");
      watcher.send(sub(1, "$SYS/#"));
      await watcher.next("suback");
      await waitFor(() => watcher.received.filter((p) => p.type === "publish").length >= 5, 5000, "$SYS messages");
      const c = await RawClient.open(b.port);
      await c.connect("retainer");
      c.send(publish("mine/1", "x", 1, 1, true));
      expect((await c.next("puback")).reasonCode).toBeLessThan(0x80);
      c.send(publish("mine/2", "x", 1, 2, true));
      expect((await c.next("puback")).reasonCode).toBe(0x97);
      c.close();
      watcher.close();
    } finally {
      await b.stop();
    }
  });

  it("gives the default broker Cloudflare's limits under --preset cloudflare", async () => {
    const b = await startBroker(["--preset", "cloudflare", "--sys-interval", "0"]);
    try {
      const long = await RawClient.open(b.port);
      expect((await long.connect("abcdefghijklmnopqrstuvwx")).reasonCode).toBe(0x85);
      const c = await RawClient.open(b.port);
      const connack = await c.connect("cf-default", { keepAlive: 2 });
      expect(connack.properties).toMatchObject({ maximumPacketSize: 64_000, serverKeepAlive: 10 });
      c.close();
    } finally {
      await b.stop();
    }
  });

  it("refuses a bad limit flag, and a keep-alive floor above its cap, with a message and exit code 2", async () => {
    const bad = await runBrokerExpectingExit(["--port", "0", "--max-connections", "many"]);
    expect(bad.code).toBe(2);
    expect(bad.output).toMatch(/--max-connections needs a whole number, got "many"/);
    const crossed = await runBrokerExpectingExit(["--port", "0", "--min-keepalive", "100", "--max-keepalive", "50"]);
    expect(crossed.code).toBe(2);
    expect(crossed.output).toMatch(/minimumKeepAlive \(--min-keepalive, 100\) must not be above maximumKeepAlive \(--max-keepalive, 50\)/);
  });
});
