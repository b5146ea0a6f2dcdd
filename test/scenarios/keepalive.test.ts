// Keep alive over real sockets: the one-and-a-half rule, what keeps a
// connection alive, and Server Keep Alive under --max-keepalive.
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, connect, mosquittoSub, RawClient, sleep, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

describe("keep alive", () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("disconnects a silent 5.0 client with keep alive 1 after about 1.5 s with DISCONNECT 0x8D, and not before 1 s", async () => {
    const raw = await RawClient.open(broker.port, 5);
    const ack = await raw.connect("ka-silent-5", { keepAlive: 1 });
    const start = Date.now();
    expect(ack.properties?.serverKeepAlive).toBeUndefined(); // 1 s is under the cap: the client's own value holds
    await sleep(1000);
    expect(raw.closed).toBe(false);
    const d = await raw.next("disconnect", 2000);
    const elapsed = Date.now() - start;
    expect(d.reasonCode).toBe(0x8d); // [MQTT-3.1.2-22]
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(2200);
    await raw.waitClosed();
  });

  it("closes a silent 3.1.1 client with keep alive 1 after about 1.5 s without a DISCONNECT", async () => {
    const raw = await RawClient.open(broker.port, 4);
    await raw.connect("ka-silent-4", { keepAlive: 1 });
    const start = Date.now();
    await sleep(1000);
    expect(raw.closed).toBe(false);
    await raw.waitClosed(2000);
    const elapsed = Date.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(2200);
    expect(raw.received).toEqual([]);
  });

  it("keeps a client alive while it sends PINGREQ, or any other packet, within the keep alive", async () => {
    const pinger = await RawClient.open(broker.port, 5);
    await pinger.connect("ka-pinger", { keepAlive: 1 });
    const publisher = await RawClient.open(broker.port, 4);
    await publisher.connect("ka-publisher", { keepAlive: 1 });
    for (let i = 0; i < 5; i++) {
      await sleep(700);
      pinger.send({ type: "pingreq" });
      publisher.send({ type: "publish", topic: "ka/busy", payload: new Uint8Array([i]), qos: 0, retain: false, dup: false });
    }
    // 3.5 s in, more than twice the 1.5 s limit: both are still connected.
    expect(pinger.closed).toBe(false);
    expect(publisher.closed).toBe(false);
    await waitFor(() => pinger.received.filter((p) => p.type === "pingresp").length === 5, 500, "five PINGRESPs"); // [MQTT-3.12.4-1]
    // Silence now ends them.
    await pinger.next("disconnect", 2500);
    await publisher.waitClosed(2500);
  });

  it("keeps an mqtt.js client with keep alive 1 connected for seconds by its own pings", async () => {
    const c = await connect(broker.url, { clientId: "ka-js", keepalive: 1 });
    let closed = false;
    c.on("close", () => (closed = true));
    await sleep(3200);
    expect(closed).toBe(false);
    expect(c.connected).toBe(true);
    c.end();
  });
});

describe("Server Keep Alive with --max-keepalive 1", () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker(["--max-keepalive", "1"]);
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("sends Server Keep Alive when the client's keep alive exceeds the cap or is 0, and not when it is within it", async () => {
    for (const [keepAlive, expected] of [[60, 1], [0, 1], [1, undefined]] as const) {
      const raw = await RawClient.open(broker.port, 5);
      const ack = await raw.connect(`ska-${keepAlive}`, { keepAlive });
      expect(ack.properties?.serverKeepAlive, `keep alive ${keepAlive}`).toBe(expected); // [MQTT-3.2.2-21]
      raw.close();
    }
  });

  it("enforces the Server Keep Alive it sent: a silent client that asked for 0 is disconnected with 0x8D after about 1.5 s", async () => {
    const raw = await RawClient.open(broker.port, 5);
    const ack = await raw.connect("ska-enforced", { keepAlive: 0 });
    const start = Date.now();
    expect(ack.properties?.serverKeepAlive).toBe(1);
    expect((await raw.next("disconnect", 2500)).reasonCode).toBe(0x8d);
    expect(Date.now() - start).toBeGreaterThanOrEqual(1400);
    await raw.waitClosed();
  });

  it("is honoured by mqtt.js and mosquitto_sub, which ping at the server's pace and stay connected", async () => {
    const js = mqtt.connect(broker.url, { reconnectPeriod: 0, protocolVersion: 5, clientId: "ska-js", keepalive: 60 });
    let ska: number | undefined;
    let jsClosed = false;
    js.on("connect", (ack) => (ska = ack.properties?.serverKeepAlive));
    js.on("close", () => (jsClosed = true));
    const sub = mosquittoSub(["-h", "127.0.0.1", "-p", String(broker.port), "-V", "mqttv5", "-k", "60", "-i", "ska-cli", "-t", "ska/late", "-C", "1", "-W", "10"]);
    await waitFor(() => ska !== undefined, 3000, "mqtt.js to connect");
    expect(ska).toBe(1);
    await sleep(3000);
    expect(jsClosed).toBe(false);
    // mosquitto_sub is still subscribed after twice the limit: a message reaches it.
    const pub = await connect(broker.url, { clientId: "ska-pub" });
    const got = collect(js);
    await js.subscribeAsync("ska/late");
    await waitFor(() => sub.lines().length > 0 || (void pub.publish("ska/late", "still here"), false), 3000, "mosquitto_sub to print");
    await sub.exited;
    expect(sub.lines()).toEqual(["still here"]);
    await waitFor(() => got.length > 0);
    js.end(); pub.end();
  });

  it("enforces a 3.1.1 client's own keep alive, since 3.1.1 cannot be told another", async () => {
    const raw = await RawClient.open(broker.port, 4);
    expect((await raw.connect("ska-v4", { keepAlive: 3 })).reasonCode).toBe(0);
    await sleep(2000); // past 1.5 × the cap, within the client's own 3 s
    expect(raw.closed).toBe(false);
    raw.close();
  });
});
