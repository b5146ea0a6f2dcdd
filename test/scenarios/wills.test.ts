// Will messages over real sockets: when they are sent and when not, their
// properties, the Will Delay Interval and its bound by the session's end.
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Packet } from "@edgemq/core/codec";
import { connect, RawClient, sleep, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

type Publish = Extract<Packet, { type: "publish" }>;
type Will = NonNullable<Extract<Packet, { type: "connect" }>["will"]>;

const enc = (s: string) => new TextEncoder().encode(s);
const text = (p: Publish) => Buffer.from(p.payload).toString();

/** A 5.0 raw subscriber to a filter that keeps RETAIN as published, so the will's flag shows. */
async function watch(port: number, filter: string): Promise<{ raw: RawClient; wills(): Publish[] }> {
  const raw = await RawClient.open(port, 5);
  await raw.connect(`watch-${filter}-${Math.random().toString(36).slice(2, 8)}`);
  raw.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: filter, qos: 2, noLocal: false, retainAsPublished: true, retainHandling: 2 }] });
  await raw.next("suback");
  return { raw, wills: () => raw.received.filter((p): p is Publish => p.type === "publish") };
}

/** A raw client connected with a will. */
async function withWill(port: number, version: 4 | 5, clientId: string, will: Will, extra: Record<string, unknown> = {}): Promise<RawClient> {
  const raw = await RawClient.open(port, version);
  const ack = await raw.connect(clientId, { will, ...extra });
  expect(ack.reasonCode).toBe(0);
  return raw;
}

const will = (topic: string, payload: string, more: Partial<Will> = {}): Will => ({ topic, payload: enc(payload), qos: 0, retain: false, ...more });

describe("wills", () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("publishes a 5.0 will when the socket is destroyed, with its properties, QoS and retain", async () => {
    const w = await watch(broker.port, "will/abrupt/#");
    const raw = await withWill(broker.port, 5, "abrupt-5", will("will/abrupt/5", "gone", {
      qos: 1, retain: true,
      properties: {
        payloadFormatIndicator: 1, contentType: "text/plain", responseTopic: "will/reply", correlationData: new Uint8Array([9, 8, 7]),
        messageExpiryInterval: 60, userProperties: [["why", "crash"], ["why", "again"]],
      },
    }));
    raw.close();
    await waitFor(() => w.wills().length === 1, 3000, "the will");
    const p = w.wills()[0]!;
    expect([p.topic, text(p), p.qos, p.retain]).toEqual(["will/abrupt/5", "gone", 1, true]);
    expect(p.properties).toMatchObject({
      payloadFormatIndicator: 1, contentType: "text/plain", responseTopic: "will/reply", correlationData: new Uint8Array([9, 8, 7]),
      userProperties: [["why", "crash"], ["why", "again"]],
    });
    expect(p.properties?.messageExpiryInterval).toBeGreaterThan(55);
    expect(p.properties?.messageExpiryInterval).toBeLessThanOrEqual(60);
    expect(p.properties).not.toHaveProperty("willDelayInterval");
    // Retained: a later subscriber gets it with RETAIN 1.
    const late = await RawClient.open(broker.port, 4);
    await late.connect("abrupt-late");
    late.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "will/abrupt/5", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    const r = await late.next("publish");
    expect([text(r), r.retain, r.qos]).toEqual(["gone", true, 1]);
    late.close();
    w.raw.close();
  });

  it("publishes the will of a 3.1.1 client, an mqtt.js client and a killed mosquitto_sub when their sockets drop", async () => {
    const w = await watch(broker.port, "will/drop/#");
    const raw = await withWill(broker.port, 4, "drop-4", will("will/drop/raw4", "raw 3.1.1", { qos: 2 }));
    raw.close();
    const js = await connect(broker.url, { protocolVersion: 4, clientId: "drop-js", will: { topic: "will/drop/js", payload: Buffer.from("mqtt.js"), qos: 1, retain: false } });
    js.end(true); // closes the socket without DISCONNECT
    const sub = spawn("mosquitto_sub", ["-h", "127.0.0.1", "-p", String(broker.port), "-V", "mqttv5", "-i", "drop-cli", "-t", "will/nothing",
      "--will-topic", "will/drop/cli", "--will-payload", "mosquitto_sub", "--will-qos", "1"], { stdio: "ignore" });
    await sleep(400); // connected by then
    sub.kill("SIGKILL");
    await waitFor(() => w.wills().length === 3, 3000, "three wills");
    const got = w.wills().map((p) => [p.topic, text(p), p.qos]).sort();
    expect(got).toEqual([["will/drop/cli", "mosquitto_sub", 1], ["will/drop/js", "mqtt.js", 1], ["will/drop/raw4", "raw 3.1.1", 2]]);
    w.raw.close();
  });

  it("does not publish the will after DISCONNECT 0x00, at 5.0 and 3.1.1, nor after mosquitto_sub exits normally", async () => {
    const w = await watch(broker.port, "will/normal/#");
    const a = await withWill(broker.port, 5, "normal-5", will("will/normal/5", "no"));
    a.send({ type: "disconnect", reasonCode: 0 });
    const b = await withWill(broker.port, 4, "normal-4", will("will/normal/4", "no"));
    b.send({ type: "disconnect", reasonCode: 0 });
    const js = await connect(broker.url, { clientId: "normal-js", will: { topic: "will/normal/js", payload: Buffer.from("no"), qos: 1, retain: false } });
    await js.endAsync();
    const cli = spawn("mosquitto_sub", ["-h", "127.0.0.1", "-p", String(broker.port), "-i", "normal-cli", "-t", "will/none", "-E",
      "--will-topic", "will/normal/cli", "--will-payload", "no"], { stdio: "ignore" });
    const code = await new Promise((r) => cli.once("exit", r));
    expect(code).toBe(0);
    await a.waitClosed();
    await b.waitClosed();
    // A control: a dropped socket's will does arrive on the same watcher.
    const c = await withWill(broker.port, 5, "normal-control", will("will/normal/control", "yes"));
    c.close();
    await waitFor(() => w.wills().length > 0, 3000, "the control will");
    await sleep(200);
    expect(w.wills().map((p) => p.topic)).toEqual(["will/normal/control"]); // [MQTT-3.1.2-10]
    w.raw.close();
  });

  it("publishes the will after DISCONNECT 0x04 (Disconnect with Will Message)", async () => {
    const w = await watch(broker.port, "will/asked/#");
    const raw = await withWill(broker.port, 5, "asked-5", will("will/asked/raw", "asked for"));
    raw.send({ type: "disconnect", reasonCode: 0x04 });
    const js = await connect(broker.url, { clientId: "asked-js", will: { topic: "will/asked/js", payload: Buffer.from("asked for too"), qos: 0, retain: false } });
    js.end(false, { reasonCode: 0x04 });
    await waitFor(() => w.wills().length === 2, 3000, "two wills");
    expect(w.wills().map((p) => [p.topic, text(p)]).sort()).toEqual([["will/asked/js", "asked for too"], ["will/asked/raw", "asked for"]]);
    await raw.waitClosed();
    w.raw.close();
  });

  it("publishes the will when the server closes the connection: keep alive timeout and protocol error", async () => {
    const w = await watch(broker.port, "will/server/#");
    const silent = await withWill(broker.port, 5, "server-ka", will("will/server/keepalive", "timed out"), { keepAlive: 1 });
    const bad = await withWill(broker.port, 4, "server-bad", will("will/server/protocol", "broke the rules"));
    bad.send({ type: "connect", protocolName: "MQTT", protocolVersion: 4, cleanStart: true, keepAlive: 60, clientId: "server-bad" });
    await bad.waitClosed();
    await waitFor(() => w.wills().length === 1, 1000, "the protocol error's will");
    expect(w.wills().map((p) => p.topic)).toEqual(["will/server/protocol"]);
    expect((await silent.next("disconnect", 2500)).reasonCode).toBe(0x8d);
    await waitFor(() => w.wills().length === 2, 1000, "the keep alive timeout's will");
    expect(w.wills()[1]!.topic).toBe("will/server/keepalive");
    w.raw.close();
  });

  it("never publishes the will of a refused CONNECT", async () => {
    const w = await watch(broker.port, "will/refused/#");
    const raw = await RawClient.open(broker.port, 5);
    const ack = await raw.connect("refused-5", { will: will("will/refused/5", "never"), properties: { authenticationMethod: "OTP" } });
    expect(ack.reasonCode).toBe(0x8c);
    await raw.waitClosed();
    const control = await withWill(broker.port, 5, "refused-control", will("will/refused/control", "control"));
    control.close();
    await waitFor(() => w.wills().length > 0, 3000, "the control will");
    await sleep(200);
    expect(w.wills().map((p) => p.topic)).toEqual(["will/refused/control"]);
    w.raw.close();
  });

  it("delays the will by its Will Delay Interval", async () => {
    const w = await watch(broker.port, "will/delayed/#");
    const raw = await withWill(broker.port, 5, "delayed", will("will/delayed/1", "late", { properties: { willDelayInterval: 1 } }), { properties: { sessionExpiryInterval: 30 } });
    // mosquitto_sub can set a will delay too (-D will will-delay-interval).
    const cli = spawn("mosquitto_sub", ["-h", "127.0.0.1", "-p", String(broker.port), "-V", "mqttv5", "-i", "delayed-cli", "-t", "will/nothing", "-x", "30",
      "-D", "will", "will-delay-interval", "1", "--will-topic", "will/delayed/cli", "--will-payload", "late too"], { stdio: "ignore" });
    await sleep(400); // connected by then
    raw.close();
    cli.kill("SIGKILL");
    const start = Date.now();
    await sleep(700);
    expect(w.wills()).toEqual([]);
    await waitFor(() => w.wills().length === 2, 2000, "the delayed wills");
    const elapsed = Date.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(2000);
    expect(w.wills().map(text).sort()).toEqual(["late", "late too"]);
    w.raw.close();
  });

  it("cancels a delayed will when the same client id reconnects within the delay", async () => {
    const w = await watch(broker.port, "will/cancel/#");
    const raw = await withWill(broker.port, 5, "cancel", will("will/cancel/1", "should not", { properties: { willDelayInterval: 1 } }), { properties: { sessionExpiryInterval: 30 } });
    raw.close();
    await sleep(300);
    const back = await RawClient.open(broker.port, 5);
    expect((await back.connect("cancel", { cleanStart: false, properties: { sessionExpiryInterval: 30 } })).sessionPresent).toBe(true);
    await sleep(1500); // past the delay [MQTT-3.1.2-8]
    expect(w.wills()).toEqual([]);
    // The new connection has no will of its own: dropping it sends nothing either.
    back.close();
    await sleep(300);
    expect(w.wills()).toEqual([]);
    w.raw.close();
  });

  it("sends a will whose delay is longer than the session expiry when the session ends", async () => {
    const w = await watch(broker.port, "will/bounded/#");
    const raw = await withWill(broker.port, 5, "bounded", will("will/bounded/1", "session ended", { properties: { willDelayInterval: 30 } }), { properties: { sessionExpiryInterval: 1 } });
    raw.close();
    const start = Date.now();
    await waitFor(() => w.wills().length === 1, 2500, "the will at session end");
    const elapsed = Date.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(950); // [MQTT-3.1.3-9]
    expect(text(w.wills()[0]!)).toBe("session ended");
    // The session is gone with it.
    const back = await RawClient.open(broker.port, 5);
    expect((await back.connect("bounded", { cleanStart: false })).sessionPresent).toBe(false);
    back.close();
    w.raw.close();
  });

  it("sends the will of a connection taken over when it has no delay, and not when the new connection resumes within the delay", async () => {
    const w = await watch(broker.port, "will/takeover/#");
    const old = await withWill(broker.port, 5, "takeover-will", will("will/takeover/now", "taken over"));
    const taker = await RawClient.open(broker.port, 5);
    await taker.connect("takeover-will");
    expect((await old.next("disconnect")).reasonCode).toBe(0x8e);
    await waitFor(() => w.wills().length === 1, 2000, "the taken-over connection's will");
    expect(text(w.wills()[0]!)).toBe("taken over");
    taker.close();

    const old4 = await withWill(broker.port, 4, "takeover-will-4", will("will/takeover/v4", "taken over at 3.1.1"));
    const taker4 = await RawClient.open(broker.port, 4);
    await taker4.connect("takeover-will-4");
    await old4.waitClosed();
    await waitFor(() => w.wills().length === 2, 2000, "the 3.1.1 taken-over connection's will");
    expect(text(w.wills()[1]!)).toBe("taken over at 3.1.1");
    taker4.close();

    const delayed = await withWill(broker.port, 5, "takeover-delayed", will("will/takeover/delayed", "must not", { properties: { willDelayInterval: 1 } }), { properties: { sessionExpiryInterval: 30 } });
    const resumer = await RawClient.open(broker.port, 5);
    expect((await resumer.connect("takeover-delayed", { cleanStart: false, properties: { sessionExpiryInterval: 30 } })).sessionPresent).toBe(true);
    await delayed.waitClosed();
    await sleep(1400);
    expect(w.wills().map((p) => p.topic)).toEqual(["will/takeover/now", "will/takeover/v4"]);
    resumer.close();
    w.raw.close();
  });
});
