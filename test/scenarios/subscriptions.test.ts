// SUBSCRIBE and UNSUBSCRIBE over real sockets: options, identifiers,
// overlapping subscriptions, wildcards, `$` topics and shared subscriptions.
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProtocolVersion, PublishPacket, QoS, Subscription } from "@edgemq/core/codec";
import { collect, connect, mosquittoPub, RawClient, sleep, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const publishes = (raw: RawClient) => raw.received.filter((p): p is PublishPacket => p.type === "publish");
const sub = (topicFilter: string, qos: QoS, o: Partial<Subscription> = {}): Subscription => ({ topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0, ...o });

let broker: RunningBroker;
beforeAll(async () => {
  broker = await startBroker(["--sys-interval", "1"]);
});
afterAll(async () => {
  await broker.stop();
});

async function raw(version: ProtocolVersion, clientId: string): Promise<RawClient> {
  const r = await RawClient.open(broker.port, version);
  expect((await r.connect(clientId)).reasonCode).toBe(0);
  return r;
}

/** mosquitto_sub -d with line-buffered output, so "received SUBACK" shows while it runs. */
function mosquittoSubDebug(args: string[]): { lines(): string[]; payloads(): string[]; stop(): Promise<void>; exited: Promise<number | null> } {
  const child = spawn("stdbuf", ["-oL", "mosquitto_sub", "-d", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const exited = new Promise<number | null>((r) => child.once("close", (c) => { clearTimeout(kill); r(c); }));
  const lines = () => out.split("\n").filter((l) => l.length > 0);
  return {
    lines,
    payloads: () => lines().filter((l) => !l.startsWith("Client ") && !l.startsWith("Subscribed (mid")),
    stop: async () => { child.kill("SIGTERM"); await exited; },
    exited,
  };
}

describe("granted QoS", () => {
  for (const version of [4, 5] as const) {
    it(`grants the requested QoS 0, 1 and 2 in SUBACK, in order, at protocol level ${version}`, async () => {
      const r = await raw(version, `grant-${version}`);
      r.send({ type: "subscribe", packetId: 77, subscriptions: [sub("grant/a", 2), sub("grant/b", 0), sub("grant/c", 1)] });
      expect(await r.next("suback")).toMatchObject({ packetId: 77, reasonCodes: [2, 0, 1] });
      r.close();
    });
  }

  it("grants mosquitto_sub its QoS at 3.1.1 and 5.0", async () => {
    for (const version of ["mqttv311", "mqttv5"]) {
      const m = mosquittoSubDebug(["-h", "127.0.0.1", "-p", String(broker.port), "-V", version, "-t", "grant/mosq", "-q", "2", "-E"]);
      await m.exited;
      expect(m.lines().join("\n")).toMatch(/received SUBACK[\s\S]*Subscribed \(mid: \d+\): 2/);
    }
  });
});

describe("subscription options (5.0)", () => {
  it("does not send a client its own messages on a No Local subscription, but sends others'", async () => {
    const me = await connect(broker.url, { clientId: "nolocal-me" });
    const other = await connect(broker.url, { clientId: "nolocal-other" });
    const mine = collect(me);
    await me.subscribeAsync("opts/nolocal", { qos: 1, nl: true });
    await me.publishAsync("opts/nolocal", "from me", { qos: 1 });
    await other.publishAsync("opts/nolocal", "from other", { qos: 1 });
    await waitFor(() => mine.length === 1);
    await sleep(200);
    expect(mine.map((m) => m.payload)).toEqual(["from other"]);
    // Without No Local, a client gets its own messages.
    await me.subscribeAsync("opts/nolocal", { qos: 1, nl: false });
    await me.publishAsync("opts/nolocal", "mine again", { qos: 1 });
    await waitFor(() => mine.length === 2);
    expect(mine[1]!.payload).toBe("mine again");
    me.end(); other.end();
  });

  it("keeps RETAIN on forwarded messages only for Retain As Published subscriptions", async () => {
    const r = await raw(5, "rap-sub");
    r.send({ type: "subscribe", packetId: 1, subscriptions: [sub("opts/rap/kept", 1, { retainAsPublished: true }), sub("opts/rap/cleared", 1)] });
    await r.next("suback");
    const v4 = await raw(4, "rap-sub-v4");
    v4.send({ type: "subscribe", packetId: 1, subscriptions: [sub("opts/rap/kept", 1)] });
    await v4.next("suback");
    const pub = await connect(broker.url, { clientId: "rap-pub" });
    await pub.publishAsync("opts/rap/kept", "k", { qos: 1, retain: true });
    await pub.publishAsync("opts/rap/cleared", "c", { qos: 1, retain: true });
    await waitFor(() => publishes(r).length === 2 && publishes(v4).length === 1);
    const byTopic = Object.fromEntries(publishes(r).map((p) => [p.topic, p.retain]));
    expect(byTopic).toEqual({ "opts/rap/kept": true, "opts/rap/cleared": false });
    // 3.1.1 has no such option: a forwarded message always has RETAIN 0.
    expect(publishes(v4)[0]!.retain).toBe(false);
    // Clean up the retained messages for other tests.
    await pub.publishAsync("opts/rap/kept", "", { qos: 1, retain: true });
    await pub.publishAsync("opts/rap/cleared", "", { qos: 1, retain: true });
    r.close(); v4.close(); pub.end();
  });

  it("sends retained messages by Retain Handling: 0 always, 1 only for a new subscription, 2 never", async () => {
    const pub = await connect(broker.url, { clientId: "rh-pub" });
    await pub.publishAsync("opts/rh/t", "kept", { qos: 1, retain: true });
    const r = await raw(5, "rh-sub");
    const retainedCount = () => publishes(r).filter((p) => p.retain).length;
    let id = 1;
    const subscribe = async (rh: 0 | 1 | 2) => {
      r.send({ type: "subscribe", packetId: id++, subscriptions: [sub("opts/rh/t", 1, { retainHandling: rh })] });
      await r.next("suback");
      await sleep(150);
    };
    await subscribe(2); // new, but 2: none
    expect(retainedCount()).toBe(0);
    await subscribe(1); // exists already: none
    expect(retainedCount()).toBe(0);
    await subscribe(0); // 0: every time
    expect(retainedCount()).toBe(1);
    await subscribe(0);
    expect(retainedCount()).toBe(2);
    r.send({ type: "unsubscribe", packetId: id++, topicFilters: ["opts/rh/t"] });
    await r.next("unsuback");
    await subscribe(1); // new again: sent
    expect(retainedCount()).toBe(3);
    expect(publishes(r).every((p) => p.retain && text(p.payload) === "kept")).toBe(true);
    await pub.publishAsync("opts/rh/t", "", { qos: 1, retain: true });
    r.close(); pub.end();
  });

  it("delivers the Subscription Identifier with each matching message, and none without one", async () => {
    const c = await connect(broker.url, { clientId: "subid" });
    const got = collect(c);
    await c.subscribeAsync("opts/id/a", { qos: 1, properties: { subscriptionIdentifier: 42 } });
    await c.subscribeAsync("opts/id/b", { qos: 1 });
    await c.publishAsync("opts/id/a", "a", { qos: 1 });
    await c.publishAsync("opts/id/b", "b", { qos: 1 });
    await waitFor(() => got.length === 2);
    expect(got.map((m) => [m.topic, m.packet.properties?.subscriptionIdentifier])).toEqual([["opts/id/a", 42], ["opts/id/b", undefined]]);
    // A retained message sent because of a new subscription carries that subscription's identifier.
    await c.publishAsync("opts/id/retained", "r", { qos: 1, retain: true });
    await c.subscribeAsync("opts/id/retained", { qos: 1, properties: { subscriptionIdentifier: 43 } });
    await waitFor(() => got.length === 3);
    expect([got[2]!.topic, got[2]!.packet.retain, got[2]!.packet.properties?.subscriptionIdentifier]).toEqual(["opts/id/retained", true, 43]);
    await c.publishAsync("opts/id/retained", "", { qos: 1, retain: true });
    c.end();
  });

  it("sends one copy for overlapping subscriptions, at the highest QoS, with every identifier", async () => {
    const r = await raw(5, "overlap");
    r.send({ type: "subscribe", packetId: 1, properties: { subscriptionIdentifier: 1 }, subscriptions: [sub("opts/over/+", 0)] });
    r.send({ type: "subscribe", packetId: 2, properties: { subscriptionIdentifier: 2 }, subscriptions: [sub("opts/over/#", 2)] });
    r.send({ type: "subscribe", packetId: 3, subscriptions: [sub("opts/over/x", 1)] });
    r.send({ type: "subscribe", packetId: 4, properties: { subscriptionIdentifier: 268435455 }, subscriptions: [sub("opts/+/x", 1)] });
    for (let i = 0; i < 4; i++) await r.next("suback");
    const pub = await connect(broker.url, { clientId: "overlap-pub" });
    await pub.publishAsync("opts/over/x", "once", { qos: 2 });
    await pub.publishAsync("opts/over/y", "twice", { qos: 2 });
    await waitFor(() => publishes(r).length >= 2);
    await sleep(200);
    const got = publishes(r);
    expect(got).toHaveLength(2);
    expect(got[0]).toMatchObject({ topic: "opts/over/x", qos: 2 });
    expect([...got[0]!.properties!.subscriptionIdentifiers!].sort((a, b) => a - b)).toEqual([1, 2, 268435455]);
    expect(got[1]).toMatchObject({ topic: "opts/over/y", qos: 2 });
    expect([...got[1]!.properties!.subscriptionIdentifiers!].sort((a, b) => a - b)).toEqual([1, 2]);
    r.close(); pub.end();
  });

  it("replaces a subscription's options when the client subscribes to the same filter again", async () => {
    const r = await raw(5, "replace");
    r.send({ type: "subscribe", packetId: 1, properties: { subscriptionIdentifier: 5 }, subscriptions: [sub("opts/replace", 2)] });
    await r.next("suback");
    r.send({ type: "subscribe", packetId: 2, properties: { subscriptionIdentifier: 6 }, subscriptions: [sub("opts/replace", 0)] });
    await r.next("suback");
    const pub = await connect(broker.url, { clientId: "replace-pub" });
    await pub.publishAsync("opts/replace", "x", { qos: 2 });
    await waitFor(() => publishes(r).length === 1);
    await sleep(150);
    const got = publishes(r);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ qos: 0, properties: { subscriptionIdentifiers: [6] } });
    r.close(); pub.end();
  });
});

describe("UNSUBSCRIBE", () => {
  it("answers UNSUBACK 0x00 for a subscription and 0x11 for none at 5.0, and stops delivery", async () => {
    const r = await raw(5, "unsub-5");
    r.send({ type: "subscribe", packetId: 1, subscriptions: [sub("unsub/a", 1), sub("unsub/b", 1)] });
    await r.next("suback");
    r.send({ type: "unsubscribe", packetId: 2, topicFilters: ["unsub/a", "unsub/never"] });
    expect(await r.next("unsuback")).toMatchObject({ packetId: 2, reasonCodes: [0x00, 0x11] });
    const pub = await connect(broker.url, { clientId: "unsub-pub" });
    await pub.publishAsync("unsub/a", "gone", { qos: 1 });
    await pub.publishAsync("unsub/b", "still", { qos: 1 });
    await waitFor(() => publishes(r).length === 1);
    await sleep(150);
    expect(publishes(r).map((p) => p.topic)).toEqual(["unsub/b"]);
    r.close(); pub.end();
  });

  it("answers UNSUBACK without reason codes at 3.1.1, and stops delivery", async () => {
    const r = await raw(4, "unsub-4");
    r.send({ type: "subscribe", packetId: 1, subscriptions: [sub("unsub4/a", 1)] });
    await r.next("suback");
    r.send({ type: "unsubscribe", packetId: 9, topicFilters: ["unsub4/a", "unsub4/never"] });
    expect(await r.next("unsuback")).toMatchObject({ packetId: 9, reasonCodes: [] });
    const pub = await connect(broker.url, { clientId: "unsub4-pub" });
    await pub.publishAsync("unsub4/a", "gone", { qos: 1 });
    await sleep(200);
    expect(publishes(r)).toHaveLength(0);
    r.close(); pub.end();
  });

  it("stops delivery to mqtt.js after unsubscribeAsync", async () => {
    const c = await connect(broker.url, { clientId: "unsub-js" });
    const got = collect(c);
    await c.subscribeAsync("unsub/js", { qos: 1 });
    await c.publishAsync("unsub/js", "before", { qos: 1 });
    await waitFor(() => got.length === 1);
    const ack = await c.unsubscribeAsync("unsub/js");
    expect((ack as { reasonCode?: number } | undefined)?.reasonCode ?? 0).toBe(0);
    await c.publishAsync("unsub/js", "after", { qos: 1 });
    await sleep(200);
    expect(got.map((m) => m.payload)).toEqual(["before"]);
    c.end();
  });
});

describe("wildcards and `$` topics", () => {
  it("matches + for one level and # for any number of levels, including the parent", async () => {
    const c = await connect(broker.url, { clientId: "wild" });
    const plus = await connect(broker.url, { clientId: "wild-plus" });
    const hash = await connect(broker.url, { clientId: "wild-hash" });
    const gotPlus = collect(plus), gotHash = collect(hash);
    await plus.subscribeAsync("wild/+/end", { qos: 1 });
    await hash.subscribeAsync("wild/a/#", { qos: 1 });
    for (const t of ["wild/a/end", "wild/b/end", "wild/a/b/end", "wild/a", "wild/end", "wild/a/x", "wild//end"]) await c.publishAsync(t, t, { qos: 1 });
    await waitFor(() => gotPlus.length === 3 && gotHash.length === 4);
    await sleep(150);
    expect(gotPlus.map((m) => m.topic)).toEqual(["wild/a/end", "wild/b/end", "wild//end"]);
    expect(gotHash.map((m) => m.topic)).toEqual(["wild/a/end", "wild/a/b/end", "wild/a", "wild/a/x"]);
    c.end(); plus.end(); hash.end();
  });

  it("does not match `$` topics with a leading wildcard, but does with an explicit `$` level", async () => {
    const hash = await connect(broker.url, { clientId: "dollar-hash" });
    const plus = await connect(broker.url, { clientId: "dollar-plus" });
    const sys = await connect(broker.url, { clientId: "dollar-sys" });
    const gotHash = collect(hash), gotPlus = collect(plus), gotSys = collect(sys);
    await hash.subscribeAsync("#", { qos: 0 });
    await plus.subscribeAsync("+/broker/uptime", { qos: 0 });
    await plus.subscribeAsync("+/x", { qos: 0 });
    await sys.subscribeAsync("$SYS/broker/uptime", { qos: 0 });
    await sys.subscribeAsync("$app/+", { qos: 0 });
    const pub = await connect(broker.url, { clientId: "dollar-pub" });
    await pub.publishAsync("$app/x", "dollar", { qos: 1 });
    await pub.publishAsync("plain/x", "plain", { qos: 1 });
    // $SYS/broker/uptime is published every second (--sys-interval 1) and was retained when subscribing.
    await waitFor(() => gotSys.filter((m) => m.topic === "$SYS/broker/uptime").length >= 2, 3000, "two $SYS uptime messages");
    expect(gotSys.some((m) => m.topic === "$app/x")).toBe(true);
    expect(gotHash.filter((m) => m.topic.startsWith("$"))).toEqual([]);
    expect(gotPlus.filter((m) => m.topic.startsWith("$"))).toEqual([]);
    expect(gotHash.some((m) => m.topic === "plain/x")).toBe(true);
    expect(gotPlus.map((m) => m.topic)).toEqual(["plain/x"]);
    hash.end(); plus.end(); sys.end(); pub.end();
  });

  it("gives mosquitto_sub on # no $SYS messages, and on $SYS/# some", async () => {
    const all = mosquittoSubDebug(["-h", "127.0.0.1", "-p", String(broker.port), "-V", "mqttv5", "-t", "#", "-v", "-W", "6"]);
    const sys = mosquittoSubDebug(["-h", "127.0.0.1", "-p", String(broker.port), "-V", "mqttv311", "-t", "$SYS/#", "-v", "-C", "3"]);
    await waitFor(() => all.lines().some((l) => l.includes("received SUBACK")), 5000, "mosquitto_sub to subscribe");
    await mosquittoPub(["-h", "127.0.0.1", "-p", String(broker.port), "-t", "mosq/plain", "-m", "p"]);
    await sys.exited;
    await waitFor(() => all.payloads().includes("mosq/plain p"), 3000, "mosquitto_sub on # to print the plain message");
    await sleep(1100); // spans a $SYS update (--sys-interval 1)
    await all.stop();
    expect(sys.payloads().filter((l) => l.startsWith("$SYS/broker/"))).toHaveLength(3);
    expect(all.payloads()).toContain("mosq/plain p");
    expect(all.payloads().filter((l) => l.startsWith("$"))).toEqual([]);
  });
});

describe("shared subscriptions", () => {
  it("delivers each message to exactly one member of each group, spread across members", async () => {
    const members = await Promise.all(["g1a", "g1b", "g1c", "g2a", "g2b"].map((id) => connect(broker.url, { clientId: `share-${id}` })));
    const got = members.map((m) => collect(m));
    for (const [i, m] of members.entries()) await m.subscribeAsync(`$share/${i < 3 ? "g1" : "g2"}/share/work/+`, { qos: 1 });
    const plain = await connect(broker.url, { clientId: "share-plain" });
    const gotPlain = collect(plain);
    await plain.subscribeAsync("share/work/+", { qos: 1 });
    const pub = await connect(broker.url, { clientId: "share-pub" });
    const n = 12;
    for (let i = 0; i < n; i++) await pub.publishAsync(`share/work/${i}`, `job${i}`, { qos: 1 });
    const g1 = () => got.slice(0, 3).flat(), g2 = () => got.slice(3).flat();
    await waitFor(() => g1().length === n && g2().length === n && gotPlain.length === n);
    await sleep(200);
    // Each group got every message exactly once.
    expect(g1().map((m) => m.payload).sort()).toEqual(Array.from({ length: n }, (_, i) => `job${i}`).sort());
    expect(g2().map((m) => m.payload).sort()).toEqual(Array.from({ length: n }, (_, i) => `job${i}`).sort());
    // Spread: every member got some.
    expect(got.every((g) => g.length > 0)).toBe(true);
    expect(gotPlain).toHaveLength(n);
    for (const m of [...members, plain, pub]) m.end();
  });

  it("gives the QoS 1 messages a member had not acknowledged, in flight or queued, to another member when its session ends", async () => {
    const stays = await connect(broker.url, { clientId: "share-ho-stays" });
    const got = collect(stays);
    await stays.subscribeAsync("$share/ho/share/ho", { qos: 1 });
    // A member that takes 2 at a time and acknowledges none, its session ending with its connection.
    const leaves = await RawClient.open(broker.port, 5);
    await leaves.connect("share-ho-leaves", { properties: { receiveMaximum: 2 } });
    leaves.send({ type: "subscribe", packetId: 1, subscriptions: [sub("$share/ho/share/ho", 1)] });
    await leaves.next("suback");
    const pub = await connect(broker.url, { clientId: "share-ho-pub" });
    const sent = Array.from({ length: 10 }, (_, i) => String(i));
    for (const n of sent) await pub.publishAsync("share/ho", n, { qos: 1 });
    await waitFor(() => publishes(leaves).length >= 2, 3000, "the silent member's 2 messages in flight");
    await sleep(200);
    expect(got.length).toBeLessThan(8); // in turn: the silent member holds 2 in flight and more queued
    leaves.close();
    await waitFor(() => got.length >= 10, 3000, "all 10 at the member that stayed");
    await sleep(200);
    expect(got.map((m) => m.payload).sort((a, b) => Number(a) - Number(b))).toEqual(sent);
    stays.end(); pub.end();
  });

  it("sends no retained messages to a shared subscription", async () => {
    const pub = await connect(broker.url, { clientId: "share-ret-pub" });
    await pub.publishAsync("share/retained", "kept", { qos: 1, retain: true });
    const r = await raw(5, "share-ret");
    r.send({ type: "subscribe", packetId: 1, subscriptions: [sub("$share/g/share/retained", 1)] });
    expect((await r.next("suback")).reasonCodes).toEqual([1]);
    await sleep(300);
    expect(publishes(r)).toHaveLength(0);
    // A live message still arrives.
    await pub.publishAsync("share/retained", "live", { qos: 1 });
    const live = await r.next("publish");
    expect(text(live.payload)).toBe("live");
    await pub.publishAsync("share/retained", "", { qos: 1, retain: true });
    r.close(); pub.end();
  });

  it("shares messages between mosquitto_sub members of one group", async () => {
    const args = (id: string) => ["-h", "127.0.0.1", "-p", String(broker.port), "-V", "mqttv5", "-t", "$share/mosq/share/mosq", "-q", "1", "-i", id];
    const a = mosquittoSubDebug(args("share-mosq-a"));
    const b = mosquittoSubDebug(args("share-mosq-b"));
    await waitFor(() => [a, b].every((m) => m.lines().some((l) => l.includes("received SUBACK"))), 5000, "both mosquitto_sub to subscribe");
    const pub = await connect(broker.url, { clientId: "share-mosq-pub" });
    for (let i = 0; i < 6; i++) await pub.publishAsync("share/mosq", `s${i}`, { qos: 1 });
    await waitFor(() => a.payloads().length + b.payloads().length === 6, 3000, "six messages across the group");
    await sleep(200);
    await a.stop(); await b.stop();
    expect([...a.payloads(), ...b.payloads()].sort()).toEqual(["s0", "s1", "s2", "s3", "s4", "s5"]);
    expect(a.payloads().length).toBeGreaterThan(0);
    expect(b.payloads().length).toBeGreaterThan(0);
    pub.end();
  });
});
