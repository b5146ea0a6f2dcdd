// Retained messages over real sockets, at 3.1.1 and 5.0.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProtocolVersion, PublishPacket, QoS } from "@edgemq/core/codec";
import { collect, connect, mosquittoPub, mosquittoSub, RawClient, sleep, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const publishes = (raw: RawClient) => raw.received.filter((p): p is PublishPacket => p.type === "publish");

let broker: RunningBroker;
beforeAll(async () => {
  broker = await startBroker(["--sys-interval", "1"]);
});
afterAll(async () => {
  await broker.stop();
});

/** Subscribes a fresh RawClient and returns the PUBLISH packets that arrive within `ms`. */
async function retainedFor(version: ProtocolVersion, clientId: string, filter: string, qos: QoS = 1, ms = 250): Promise<PublishPacket[]> {
  const r = await RawClient.open(broker.port, version);
  await r.connect(clientId);
  r.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
  await r.next("suback");
  await sleep(ms);
  const got = publishes(r);
  r.close();
  return got;
}

describe("retained messages", () => {
  it("stores a retained message and delivers it with RETAIN=1 to new 3.1.1 and 5.0 subscribers", async () => {
    const pub = await connect(broker.url, { clientId: "ret-store" });
    await pub.publishAsync("ret/store", "stored", { qos: 1, retain: true });
    for (const version of [4, 5] as const) {
      const got = await retainedFor(version, `ret-store-${version}`, "ret/store");
      expect(got).toHaveLength(1);
      expect(got[0]).toMatchObject({ topic: "ret/store", retain: true, qos: 1 });
      expect(text(got[0]!.payload)).toBe("stored");
    }
    // mqtt.js sees the same.
    for (const protocolVersion of [4, 5] as const) {
      const c = await connect(broker.url, { clientId: `ret-store-js-${protocolVersion}`, protocolVersion });
      const got = collect(c);
      await c.subscribeAsync("ret/store", { qos: 1 });
      await waitFor(() => got.length === 1);
      expect(got[0]).toMatchObject({ topic: "ret/store", payload: "stored" });
      expect(got[0]!.packet.retain).toBe(true);
      c.end();
    }
    await pub.publishAsync("ret/store", "", { qos: 1, retain: true });
    pub.end();
  });

  it("delivers a retained message at the lower of its QoS and the granted QoS", async () => {
    const pub = await connect(broker.url, { clientId: "ret-qos" });
    await pub.publishAsync("ret/qos", "q2", { qos: 2, retain: true });
    expect((await retainedFor(5, "ret-qos-0", "ret/qos", 0)).map((p) => p.qos)).toEqual([0]);
    expect((await retainedFor(5, "ret-qos-1", "ret/qos", 1)).map((p) => p.qos)).toEqual([1]);
    expect((await retainedFor(5, "ret-qos-2", "ret/qos", 2)).map((p) => p.qos)).toEqual([2]);
    await pub.publishAsync("ret/qos", "", { qos: 1, retain: true });
    pub.end();
  });

  it("replaces the retained message on a topic with the newest one", async () => {
    const pub = await connect(broker.url, { clientId: "ret-replace" });
    await pub.publishAsync("ret/replace", "old", { qos: 1, retain: true });
    await pub.publishAsync("ret/replace", "new", { qos: 1, retain: true });
    // A non-retained message does not replace it.
    await pub.publishAsync("ret/replace", "passing", { qos: 1, retain: false });
    const got = await retainedFor(5, "ret-replace-sub", "ret/replace");
    expect(got.map((p) => text(p.payload))).toEqual(["new"]);
    await pub.publishAsync("ret/replace", "", { qos: 1, retain: true });
    pub.end();
  });

  it("clears the retained message with an empty retained payload, which is itself not retained", async () => {
    const pub = await connect(broker.url, { clientId: "ret-clear" });
    await pub.publishAsync("ret/clear", "here", { qos: 1, retain: true });
    expect(await retainedFor(4, "ret-clear-before", "ret/clear")).toHaveLength(1);
    // A live subscriber still receives the empty message that clears it.
    const live = await connect(broker.url, { clientId: "ret-clear-live" });
    const gotLive = collect(live);
    await live.subscribeAsync("ret/clear", { qos: 1, rh: 2 });
    await pub.publishAsync("ret/clear", "", { qos: 1, retain: true });
    await waitFor(() => gotLive.length === 1);
    expect(gotLive[0]!.payload).toBe("");
    expect(await retainedFor(4, "ret-clear-after", "ret/clear")).toHaveLength(0);
    expect(await retainedFor(5, "ret-clear-after5", "ret/clear")).toHaveLength(0);
    live.end(); pub.end();
  });

  it("matches retained messages with wildcard filters, but not `$` topics with a leading wildcard", async () => {
    const pub = await connect(broker.url, { clientId: "ret-wild" });
    for (const t of ["ret/wild/a", "ret/wild/b/c", "ret/other"]) await pub.publishAsync(t, t, { qos: 1, retain: true });
    expect((await retainedFor(5, "ret-wild-plus", "ret/wild/+")).map((p) => p.topic)).toEqual(["ret/wild/a"]);
    expect((await retainedFor(5, "ret-wild-hash", "ret/wild/#")).map((p) => p.topic).sort()).toEqual(["ret/wild/a", "ret/wild/b/c"]);
    // $SYS topics are retained, but `#` does not reach them.
    const all = await retainedFor(5, "ret-wild-all", "#");
    expect(all.filter((p) => p.topic.startsWith("$"))).toEqual([]);
    expect(all.map((p) => p.topic)).toEqual(expect.arrayContaining(["ret/wild/a", "ret/wild/b/c", "ret/other"]));
    const sys = await retainedFor(5, "ret-wild-sys", "$SYS/broker/#");
    expect(sys.map((p) => p.topic)).toEqual(expect.arrayContaining(["$SYS/broker/uptime", "$SYS/broker/clients/connected"]));
    for (const t of ["ret/wild/a", "ret/wild/b/c", "ret/other"]) await pub.publishAsync(t, "", { qos: 1, retain: true });
    pub.end();
  });

  it("stops delivering a retained message once its Message Expiry Interval has passed, and counts down the interval", async () => {
    const pub = await connect(broker.url, { clientId: "ret-expiry" });
    const t0 = Date.now();
    await pub.publishAsync("ret/expiry", "short-lived", { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync("ret/expiry/long", "long-lived", { qos: 1, retain: true, properties: { messageExpiryInterval: 100 } });
    const fresh = await retainedFor(5, "ret-expiry-fresh", "ret/expiry");
    expect(fresh.map((p) => text(p.payload))).toEqual(["short-lived"]);
    expect(fresh[0]!.properties?.messageExpiryInterval).toBe(1);
    await sleep(1300);
    expect(await retainedFor(5, "ret-expiry-late", "ret/expiry")).toHaveLength(0);
    expect(await retainedFor(4, "ret-expiry-late4", "ret/expiry")).toHaveLength(0);
    const long = await retainedFor(5, "ret-expiry-long", "ret/expiry/long", 1, 50);
    const elapsed = (Date.now() - t0) / 1000;
    expect(text(long[0]!.payload)).toBe("long-lived");
    // Over two seconds have passed since it was published: the interval sent is what remains.
    expect(elapsed).toBeGreaterThan(2);
    expect(long[0]!.properties?.messageExpiryInterval).toBeLessThanOrEqual(98);
    expect(long[0]!.properties?.messageExpiryInterval).toBeGreaterThanOrEqual(Math.floor(100 - elapsed));
    await pub.publishAsync("ret/expiry/long", "", { qos: 1, retain: true });
    pub.end();
  });

  it("counts retained messages in $SYS/broker/retained messages/count", async () => {
    const watcher = await connect(broker.url, { clientId: "ret-count" });
    const got = collect(watcher);
    await watcher.subscribeAsync("$SYS/broker/retained messages/count", { qos: 0 });
    // The first live (not retained) update counts what earlier tests left behind.
    const live = () => got.filter((m) => !m.packet.retain);
    await waitFor(() => live().length >= 1, 3000, "a live $SYS update");
    const pub = await connect(broker.url, { clientId: "ret-count-pub" });
    const before = Number(live()[0]!.payload);
    await pub.publishAsync("ret/count/a", "1", { qos: 1, retain: true });
    await pub.publishAsync("ret/count/b", "2", { qos: 1, retain: true });
    await waitFor(() => Number(got.at(-1)!.payload) === before + 2, 3000, "the count to go up by two");
    await pub.publishAsync("ret/count/a", "", { qos: 1, retain: true });
    await pub.publishAsync("ret/count/b", "", { qos: 1, retain: true });
    await waitFor(() => Number(got.at(-1)!.payload) === before, 3000, "the count to go back");
    // A retained message with a 2 s expiry is counted while it lives, and by no update made after it expired.
    const stamped: { count: number; at: number }[] = [];
    watcher.on("message", (_t, payload, packet) => { if (!packet.retain) stamped.push({ count: Number(payload.toString()), at: Date.now() }); });
    await pub.publishAsync("ret/count/short", "3", { qos: 1, retain: true, properties: { messageExpiryInterval: 2 } });
    const expiredBy = Date.now() + 2000; // the broker received it before the PUBACK came back
    await waitFor(() => stamped.some((s) => s.count === before + 1), 3000, "the count to include the short-lived message");
    // Updates that arrive 300 ms after the expiry were made after it.
    await waitFor(() => stamped.some((s) => s.at > expiredBy + 300), 3000, "an update after the expiry");
    expect(stamped.filter((s) => s.at > expiredBy + 300).map((s) => s.count)).toEqual([before]);
    watcher.end(); pub.end();
  });
});

describe("retained messages with Mosquitto's clients", () => {
  for (const version of ["mqttv311", "mqttv5"]) {
    it(`lets mosquitto_sub -C 1 receive what mosquitto_pub -r retained, at ${version}`, async () => {
      const topic = `ret/mosq/${version}`;
      const pub = await mosquittoPub(["-h", "127.0.0.1", "-p", String(broker.port), "-V", version, "-t", topic, "-m", "retained by mosquitto_pub", "-r", "-q", "1"]);
      expect(pub.code).toBe(0);
      const sub = mosquittoSub(["-h", "127.0.0.1", "-p", String(broker.port), "-V", version, "-t", topic, "-C", "1", "-F", "%r %q %p", "-q", "1", "-W", "5"]);
      expect(await sub.exited).toBe(0);
      expect(sub.lines()).toEqual(["1 1 retained by mosquitto_pub"]);
      // -n -r clears it: a later subscriber with --retained-only times out with nothing.
      await mosquittoPub(["-h", "127.0.0.1", "-p", String(broker.port), "-V", version, "-t", topic, "-n", "-r"]);
      const none = mosquittoSub(["-h", "127.0.0.1", "-p", String(broker.port), "-V", version, "-t", topic, "-C", "1", "-W", "1"]);
      await none.exited;
      expect(none.lines().filter((l) => !l.startsWith("Timed out"))).toEqual([]);
    });
  }
});
