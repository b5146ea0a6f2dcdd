// Access policy over real sockets: users and access rules from a --config
// JSON file, and an embedded broker with hooks of every kind.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccessRules, Broker, type ClientInfo, type Hook, type Message } from "@edgemq/core";
import type { Packet, ProtocolVersion } from "@edgemq/core/codec";
import { resolveConfig, type ServerConfig } from "@edgemq/server";
import { type Server, startServer } from "@edgemq/node";
import { collect, connect, RawClient, sleep, waitFor } from "../support/clients.ts";
import { type RunningBroker, runBrokerExpectingExit, startBroker, writeConfig } from "../support/server.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();


type Connect = Partial<Extract<Packet, { type: "connect" }>>;

/** Opens a raw client and connects it; fails the test unless CONNACK is a success. */
async function rawConnect(port: number, clientId: string, user?: string, version: ProtocolVersion = 5, extra: Connect = {}): Promise<RawClient> {
  const raw = await RawClient.open(port, version);
  const ack = await raw.connect(clientId, { ...(user ? { username: user, password: enc.encode(`${user}-pw`) } : {}), ...extra });
  expect(ack.reasonCode).toBe(0);
  return raw;
}

function sub(packetId: number, filters: string[], qos: 0 | 1 | 2 = 1): Packet {
  return { type: "subscribe", packetId, subscriptions: filters.map((topicFilter) => ({ topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 as const })) };
}

function pub(topic: string, payload: string, qos: 0 | 1 | 2 = 0, packetId?: number, retain = false): Packet {
  return { type: "publish", topic, payload: enc.encode(payload), qos, retain, dup: false, packetId };
}

const publishes = (raw: RawClient) => raw.received.filter((p): p is Extract<Packet, { type: "publish" }> => p.type === "publish").map((p) => `${p.topic}=${dec.decode(p.payload)}`);

const ACL: AccessRules = {
  rules: [
    { username: "admin", topics: ["#"], access: "all", effect: "allow" },
    { username: "alice", topics: ["a/#"], access: "all", effect: "allow" },
    { username: "bob", topics: ["b/#"], access: "all", effect: "allow" },
    { topics: ["users/%u/#"], access: "all", effect: "allow" },
  ],
  defaultEffect: "deny",
};

describe("access rules from a --config file, over real sockets", () => {
  let broker: RunningBroker;
  let config: string;
  beforeAll(async () => {
    config = writeConfig({
      users: ["admin", "alice", "bob"].map((u) => ({ username: u, password: `${u}-pw` })),
      acl: ACL,
    });
    broker = await startBroker(["--config", config]);
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("refuses a wrong password and a missing user name once users are configured", async () => {
    const wrong = await RawClient.open(broker.port, 5);
    expect((await wrong.connect("w", { username: "alice", password: enc.encode("nope") })).reasonCode).toBe(0x86);
    const anon = await RawClient.open(broker.port, 5);
    expect((await anon.connect("anon")).reasonCode).toBe(0x87);
    const v4 = await RawClient.open(broker.port, 4);
    expect((await v4.connect("w4", { username: "alice", password: enc.encode("nope") })).reasonCode).toBe(0x04);
    await Promise.all([wrong.waitClosed(), anon.waitClosed(), v4.waitClosed()]);
  });

  it("answers each denied filter with SUBACK 0x87 at 5.0, grants the others, and keeps the connection", async () => {
    const alice = await rawConnect(broker.port, "alice-sub5", "alice");
    alice.send(sub(1, ["a/#", "b/x", "#", "+/x", "+/#", "$SYS/#", "$share/g/#", "$share/g/b/#", "$share/g/a/+", "users/alice/#", "users/bob/#"]));
    const ack = await alice.next("suback");
    expect(ack.packetId).toBe(1);
    expect(ack.reasonCodes).toEqual([1, 0x87, 0x87, 0x87, 0x87, 0x87, 0x87, 0x87, 1, 1, 0x87]);
    alice.send({ type: "pingreq" });
    await alice.next("pingresp");
    alice.close();
  });

  it("answers a denied filter with SUBACK 0x80 (Failure) at 3.1.1", async () => {
    const alice = await rawConnect(broker.port, "alice-sub4", "alice", 4);
    alice.send(sub(7, ["b/#", "a/+", "#"], 2));
    const ack = await alice.next("suback");
    expect(ack.reasonCodes).toEqual([0x80, 2, 0x80]);
    alice.close();
  });

  it("answers a denied QoS 1 publish with PUBACK 0x87 and a denied QoS 2 one with PUBREC 0x87, and delivers neither", async () => {
    const admin = await rawConnect(broker.port, "admin-watch-pub", "admin");
    admin.send(sub(1, ["a/#", "b/#"]));
    await admin.next("suback");
    const alice = await rawConnect(broker.port, "alice-pub", "alice");
    alice.send(pub("b/one", "denied-1", 1, 11));
    const puback = await alice.next("puback");
    expect(puback).toMatchObject({ packetId: 11, reasonCode: 0x87 });
    alice.send(pub("b/two", "denied-2", 2, 12));
    const pubrec = await alice.next("pubrec");
    expect(pubrec).toMatchObject({ packetId: 12, reasonCode: 0x87 });
    alice.send(pub("a/ok", "allowed", 1, 13));
    expect(await alice.next("puback")).toMatchObject({ packetId: 13, reasonCode: 0 });
    await waitFor(() => publishes(admin).length > 0, 3000, "the allowed message");
    await sleep(100);
    expect(publishes(admin)).toEqual(["a/ok=allowed"]);
    alice.close(); admin.close();
  });

  it("drops a denied QoS 0 publish silently: no packet back, the connection stays, later messages flow", async () => {
    const admin = await rawConnect(broker.port, "admin-watch-q0", "admin");
    admin.send(sub(1, ["a/#", "b/#"]));
    await admin.next("suback");
    const alice = await rawConnect(broker.port, "alice-q0", "alice");
    alice.send(pub("b/x", "denied"));
    alice.send(pub("a/x", "allowed"));
    alice.send({ type: "pingreq" });
    await alice.next("pingresp");
    await waitFor(() => publishes(admin).length > 0, 3000, "the allowed message");
    await sleep(100);
    expect(publishes(admin)).toEqual(["a/x=allowed"]);
    expect(alice.closed).toBe(false);
    expect(alice.received).toEqual([]);
    alice.close(); admin.close();
  });

  it("acknowledges a denied QoS 1 publish at 3.1.1 (which has no reason codes) but does not deliver it", async () => {
    const admin = await connect(broker.url, { clientId: "admin-watch-v4", username: "admin", password: "admin-pw" });
    const got = collect(admin);
    await admin.subscribeAsync("b/#", { qos: 1 });
    const alice = await connect(broker.url, { protocolVersion: 4, clientId: "alice-v4", username: "alice", password: "alice-pw" });
    await alice.publishAsync("b/x", "denied", { qos: 1 });
    await alice.publishAsync("a/x", "fine", { qos: 1 });
    await sleep(150);
    expect(got).toEqual([]);
    alice.end(); admin.end();
  });

  it("lets %u grant each user a tree of its own", async () => {
    const bob = await connect(broker.url, { clientId: "bob-users", username: "bob", password: "bob-pw" });
    const got = collect(bob);
    expect((await bob.subscribeAsync("users/bob/#", { qos: 1 }))[0]!.qos).toBe(1);
    await expect(bob.subscribeAsync("users/alice/#", { qos: 1 })).rejects.toThrow(/Not authorized/i);
    const alice = await connect(broker.url, { clientId: "alice-users", username: "alice", password: "alice-pw" });
    await alice.publishAsync("users/alice/inbox", "mine", { qos: 1 });
    await expect(alice.publishAsync("users/bob/inbox", "hi bob", { qos: 1 })).rejects.toThrow(/135|Not authorized/i);
    await bob.publishAsync("users/bob/note", "self", { qos: 1 });
    await waitFor(() => got.length > 0);
    await sleep(100);
    expect(got.map((m) => m.payload)).toEqual(["self"]);
    alice.end(); bob.end();
  });

  it("does not let $share/g/# read topics outside the grant", async () => {
    const alice = await rawConnect(broker.port, "alice-share", "alice");
    alice.send(sub(1, ["$share/g/#", "$share/g/+/x", "$share/g/a/#"]));
    expect((await alice.next("suback")).reasonCodes).toEqual([0x87, 0x87, 1]);
    const bob = await rawConnect(broker.port, "bob-share", "bob");
    const admin = await rawConnect(broker.port, "admin-share", "admin");
    bob.send(pub("b/x", "for bob only", 1, 1));
    await bob.next("puback");
    admin.send(pub("a/x", "for alice", 1, 1));
    await admin.next("puback");
    await waitFor(() => publishes(alice).length > 0, 3000, "a/x");
    await sleep(100);
    expect(publishes(alice)).toEqual(["a/x=for alice"]);
    alice.close(); bob.close(); admin.close();
  });

  it("sends no retained message from a subscription that was refused, and only readable ones from one that was granted", async () => {
    const admin = await rawConnect(broker.port, "admin-retain", "admin");
    admin.send(pub("b/x", "bob's retained", 1, 1, true));
    admin.send(pub("a/x", "alice's retained", 1, 2, true));
    await admin.next("puback");
    await admin.next("puback");
    const alice = await rawConnect(broker.port, "alice-retain", "alice");
    alice.send(sub(1, ["#"]));
    expect((await alice.next("suback")).reasonCodes).toEqual([0x87]);
    alice.send(sub(2, ["+/x"]));
    expect((await alice.next("suback")).reasonCodes).toEqual([0x87]);
    alice.send(sub(3, ["a/+"]));
    expect((await alice.next("suback")).reasonCodes).toEqual([1]);
    await waitFor(() => publishes(alice).length > 0, 3000, "the retained a/x");
    await sleep(100);
    expect(publishes(alice)).toEqual(["a/x=alice's retained"]);
    // clean up the retained messages for the other tests
    admin.send(pub("b/x", "", 1, 3, true));
    admin.send(pub("a/x", "", 1, 4, true));
    await admin.next("puback");
    await admin.next("puback");
    alice.close(); admin.close();
  });

  it("drops the will of a client whose will topic it may not publish to, and publishes the one it may", async () => {
    const admin = await rawConnect(broker.port, "admin-wills", "admin");
    admin.send(sub(1, ["a/#", "b/#"]));
    await admin.next("suback");
    const bad = await rawConnect(broker.port, "alice-bad-will", "alice", 5, { will: { topic: "b/will", payload: enc.encode("not allowed"), qos: 0, retain: false } });
    const good = await rawConnect(broker.port, "alice-good-will", "alice", 5, { will: { topic: "a/will", payload: enc.encode("allowed"), qos: 0, retain: false } });
    bad.close();
    await sleep(100);
    good.close();
    await waitFor(() => publishes(admin).length > 0, 3000, "the allowed will");
    await sleep(150);
    expect(publishes(admin)).toEqual(["a/will=allowed"]);
    admin.close();
  });

  it("refuses alice a session bob holds (0x87), so his queued message waits for him", async () => {
    const bob = await rawConnect(broker.port, "bobs-id", "bob", 5, { properties: { sessionExpiryInterval: 60 } });
    bob.send(sub(1, ["b/#"]));
    expect((await bob.next("suback")).reasonCodes).toEqual([1]);
    bob.send({ type: "disconnect", reasonCode: 0 });
    await bob.waitClosed();
    const admin = await rawConnect(broker.port, "admin-owner", "admin");
    admin.send(pub("b/x", "queued for bob", 1, 1));
    await admin.next("puback");
    const alice = await RawClient.open(broker.port, 5);
    const refused = await alice.connect("bobs-id", { cleanStart: false, username: "alice", password: enc.encode("alice-pw"), properties: { sessionExpiryInterval: 60 } });
    expect(refused.reasonCode).toBe(0x87);
    const back = await rawConnect(broker.port, "bobs-id", "bob", 5, { cleanStart: false, properties: { sessionExpiryInterval: 0 } });
    await waitFor(() => publishes(back).length > 0, 3000, "the queued message");
    expect(publishes(back)).toEqual(["b/x=queued for bob"]);
    back.close(); admin.close();
  });

  it("checks again at delivery: with --session-takeover any, a session that holds b/# but is resumed by alice never delivers b/x to her", async () => {
    const anyone = await startBroker(["--config", config, "--session-takeover", "any"]);
    // bob makes a persistent session holding b/#, then leaves.
    const bob = await rawConnect(anyone.port, "shared-id", "bob", 5, { properties: { sessionExpiryInterval: 60 } });
    bob.send(sub(1, ["b/#"]));
    expect((await bob.next("suback")).reasonCodes).toEqual([1]);
    bob.send({ type: "disconnect", reasonCode: 0 });
    await bob.waitClosed();
    // a message for the session arrives while it is offline
    const admin = await rawConnect(anyone.port, "admin-deliver", "admin");
    admin.send(pub("b/x", "queued for bob", 1, 1));
    await admin.next("puback");
    // alice resumes the same session: it holds b/#, which she may not read
    const alice = await rawConnect(anyone.port, "shared-id", "alice", 5, { cleanStart: false, properties: { sessionExpiryInterval: 60 } });
    admin.send(pub("b/y", "live", 1, 2));
    await admin.next("puback");
    admin.send(pub("a/z", "marker", 1, 3));
    await admin.next("puback");
    alice.send(sub(2, ["a/z"]));
    await alice.next("suback");
    admin.send(pub("a/z", "marker", 1, 4));
    await admin.next("puback");
    await waitFor(() => publishes(alice).length > 0, 3000, "the marker");
    await sleep(100);
    expect(publishes(alice)).toEqual(["a/z=marker"]);
    alice.send({ type: "disconnect", reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    alice.close(); admin.close();
    await anyone.stop();
  });

  it("keeps messages for an offline session whose rights come from its user name, and delivers them on return", async () => {
    const bob = await rawConnect(broker.port, "bob-offline", "bob", 5, { properties: { sessionExpiryInterval: 60 } });
    bob.send(sub(1, ["b/#"]));
    await bob.next("suback");
    bob.send({ type: "disconnect", reasonCode: 0 });
    await bob.waitClosed();
    const admin = await rawConnect(broker.port, "admin-offline", "admin");
    admin.send(pub("b/while-away", "kept", 1, 1));
    await admin.next("puback");
    const back = await rawConnect(broker.port, "bob-offline", "bob", 5, { cleanStart: false, properties: { sessionExpiryInterval: 0 } });
    await waitFor(() => publishes(back).length > 0, 3000, "the queued message");
    expect(publishes(back)).toEqual(["b/while-away=kept"]);
    back.close(); admin.close();
  });
});

describe("checking access rules in a --config file before starting", () => {
  it.each([
    [{ acl: { defaultEffect: "deny" } }, /acl\.rules is missing: it needs a list/],
    [{ acl: { rules: [], defaultEffect: "maybe" } }, /acl\.defaultEffect must be "allow" or "deny"/],
    [{ acl: { rules: [{ topics: ["a/#"], access: "read", effect: "allow" }], defaultEffect: "deny" } }, /acl\.rules\[0\]\.access must be/],
    [{ acl: { rules: [{ topics: "a/#", access: "all", effect: "allow" }], defaultEffect: "deny" } }, /acl\.rules\[0\]\.topics must be a list/],
    [{ acl: { rules: [{ topics: ["a/#"], access: "all", efect: "allow" }], defaultEffect: "deny" } }, /acl\.rules\[0\]\.efect is not a setting: did you mean "effect"\?/],
  ])("refuses %j with a message naming the problem", async (config, message) => {
    const { code, output } = await runBrokerExpectingExit(["--port", "0", "--config", writeConfig(config)]);
    expect(code).toBe(2);
    expect(output).toMatch(message);
  });
});

// ------------------------------------------------------------------ embedded

function serverConfig(): ServerConfig {
  const c = resolveConfig(["--port", "0"], {}, () => "");
  if (c === "help") throw new Error("unexpected help");
  return c;
}

describe("an embedded broker with hooks, over a real socket", () => {
  let server: Server;
  let port: number;
  let url: string;
  const events: string[] = [];
  const published: string[] = [];

  const auth: Hook = {
    name: "auth",
    async authenticate({ packet }) {
      await sleep(20); // an asynchronous check, like a token lookup
      if (packet.username === "banned") return { deny: 0x8a, reason: "banned" };
      if (packet.username === "nobody") return "next";
      if (packet.username === "tenant") return { allow: true, attributes: { tenant: "t1" } };
      return { allow: true };
    },
  };
  const policy: Hook = {
    name: "policy",
    authorizePublish: (_c, m) => (m.topic.startsWith("readonly/") ? { deny: 0x87 } : m.topic === "quota/x" ? { deny: 0x97, reason: "quota" } : "next"),
    authorizeSubscribe: (c, s) => (s.filter.startsWith("private/") && c.attributes.tenant !== "t1" ? { deny: 0x87 } : "next"),
    authorizeDelivery: (_c, m) => (m.topic.startsWith("hidden/") ? { deny: 0x87 } : "next"),
  };
  const transform: Hook = {
    name: "transform",
    transformPublish(_c: ClientInfo, m: Message): Message | null {
      if (m.topic === "drop/me") return null;
      if (m.topic.startsWith("upper/")) return { ...m, payload: enc.encode(dec.decode(m.payload).toUpperCase()) };
      return m;
    },
  };
  const observer: Hook = {
    name: "observer",
    onConnected: (c) => events.push(`connected ${c.clientId}`),
    onDisconnected: (c, code) => events.push(`disconnected ${c.clientId} ${code}`),
    onPublished: (c, m) => published.push(`${c.clientId}:${m.topic}=${dec.decode(m.payload)}`),
  };

  beforeAll(async () => {
    const broker = new Broker({ hooks: [auth, policy, transform, observer] });
    server = await startServer(serverConfig(), broker);
    port = server.listeners[0]!.port;
    url = `mqtt://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await server.close();
  });

  it("keeps a connected client past the first ticks of the server's clock", async () => {
    const c = await rawConnect(port, "ticker");
    await sleep(700); // several 250 ms ticks
    c.send({ type: "pingreq" });
    await c.next("pingresp");
    expect(c.closed).toBe(false);
    c.close();
  });

  it("answers an asynchronous authenticate's deny with its CONNACK code, at 5.0 and 3.1.1", async () => {
    const v5 = await RawClient.open(port, 5);
    const ack = await v5.connect("b5", { username: "banned", password: enc.encode("x") });
    expect(ack.reasonCode).toBe(0x8a);
    expect(ack.properties?.reasonString).toBe("banned");
    await v5.waitClosed();
    const v4 = await RawClient.open(port, 4);
    expect((await v4.connect("b4", { username: "banned", password: enc.encode("x") })).reasonCode).toBe(0x05);
    await v4.waitClosed();
    // every hook saying "next" falls back to allowAnonymous, which is on by default
    const next = await RawClient.open(port, 5);
    expect((await next.connect("n5", { username: "nobody" })).reasonCode).toBe(0);
    next.close();
  });

  it("runs packets that arrive while authentication is pending, in order, after CONNACK", async () => {
    const raw = await RawClient.open(port, 5);
    raw.send({ type: "connect", protocolName: "MQTT", protocolVersion: 5, cleanStart: true, keepAlive: 60, clientId: "eager" });
    raw.send(sub(1, ["eager/t"]));
    raw.send(pub("eager/t", "early", 1, 2));
    expect((await raw.next("connack")).reasonCode).toBe(0);
    expect((await raw.next("suback")).reasonCodes).toEqual([1]);
    expect((await raw.next("puback")).reasonCode).toBe(0);
    await waitFor(() => publishes(raw).length > 0);
    expect(publishes(raw)).toEqual(["eager/t=early"]);
    raw.close();
  });

  it("passes attributes from authenticate to later hooks", async () => {
    const stranger = await rawConnect(port, "stranger");
    stranger.send(sub(1, ["private/t1/#"]));
    expect((await stranger.next("suback")).reasonCodes).toEqual([0x87]);
    const member = await RawClient.open(port, 5);
    expect((await member.connect("member", { username: "tenant", password: enc.encode("x") })).reasonCode).toBe(0);
    member.send(sub(1, ["private/t1/#"]));
    expect((await member.next("suback")).reasonCodes).toEqual([1]);
    stranger.close(); member.close();
  });

  it("answers authorizePublish denials with their own reason codes", async () => {
    const c = await rawConnect(port, "pub-deny");
    c.send(pub("readonly/x", "no", 1, 1));
    expect(await c.next("puback")).toMatchObject({ packetId: 1, reasonCode: 0x87 });
    c.send(pub("quota/x", "no", 2, 2));
    expect(await c.next("pubrec")).toMatchObject({ packetId: 2, reasonCode: 0x97 });
    c.send(pub("fine/x", "yes", 1, 3));
    expect(await c.next("puback")).toMatchObject({ packetId: 3, reasonCode: 0x10 }); // no subscribers
    c.close();
  });

  it("filters deliveries, live and retained, through authorizeDelivery", async () => {
    const pubber = await rawConnect(port, "deliv-pub");
    pubber.send(pub("hidden/r", "retained secret", 1, 1, true));
    pubber.send(pub("shown/r", "retained open", 1, 2, true));
    await pubber.next("puback"); await pubber.next("puback");
    const reader = await rawConnect(port, "deliv-read");
    reader.send(sub(1, ["#"]));
    expect((await reader.next("suback")).reasonCodes).toEqual([1]);
    await waitFor(() => publishes(reader).length > 0, 3000, "the open retained message");
    pubber.send(pub("hidden/live", "secret", 1, 3));
    pubber.send(pub("shown/live", "open", 1, 4));
    await pubber.next("puback"); await pubber.next("puback");
    await waitFor(() => publishes(reader).length >= 2, 3000, "the open live message");
    await sleep(100);
    expect(publishes(reader)).toEqual(["shown/r=retained open", "shown/live=open"]);
    pubber.send(pub("hidden/r", "", 1, 5, true));
    pubber.send(pub("shown/r", "", 1, 6, true));
    await pubber.next("puback"); await pubber.next("puback");
    pubber.close(); reader.close();
  });

  it("routes what transformPublish returns, and acknowledges but drops what it turns into null", async () => {
    const reader = await connect(url, { clientId: "tx-read" });
    const got = collect(reader);
    await reader.subscribeAsync(["upper/#", "drop/#"], { qos: 1 });
    const writer = await connect(url, { clientId: "tx-write" });
    await writer.publishAsync("drop/me", "gone", { qos: 1 });
    await writer.publishAsync("upper/x", "shout", { qos: 1 });
    await waitFor(() => got.length > 0);
    await sleep(100);
    expect(got.map((m) => `${m.topic}=${m.payload}`)).toEqual(["upper/x=SHOUT"]);
    // observers see the message as routed, and never the dropped one
    expect(published).toContain("tx-write:upper/x=SHOUT");
    expect(published.some((p) => p.includes("drop/me"))).toBe(false);
    reader.end(); writer.end();
  });

  it("passes a will through authorizePublish and transformPublish like any publish by its client", async () => {
    const watcher = await rawConnect(port, "will-watch");
    watcher.send(sub(1, ["upper/#", "drop/#", "readonly/#", "after/will"]));
    await watcher.next("suback");
    const wills: [string, string][] = [["upper/will", "bye"], ["drop/me", "gone"], ["readonly/will", "denied"]];
    for (const [i, [topic, payload]] of wills.entries()) {
      const c = await rawConnect(port, `will-${i}`, undefined, 5, { will: { topic, payload: enc.encode(payload), qos: 0, retain: false } });
      c.close();
    }
    await waitFor(() => events.filter((e) => /^disconnected will-\d/.test(e)).length === 3, 3000, "three disconnections");
    const marker = await rawConnect(port, "will-marker");
    marker.send(pub("after/will", "marker", 1, 1));
    await marker.next("puback");
    await waitFor(() => publishes(watcher).includes("after/will=marker"), 3000, "the marker");
    expect(publishes(watcher)).toEqual(["upper/will=BYE", "after/will=marker"]);
    expect(published).toContain("will-0:upper/will=BYE");
    watcher.close(); marker.close();
  });

  it("tells observers about connections, disconnections and publishes", async () => {
    const c = await connect(url, { clientId: "observed" });
    await c.publishAsync("obs/t", "seen", { qos: 1 });
    await c.endAsync();
    await waitFor(() => events.some((e) => e.startsWith("disconnected observed")));
    expect(events).toContain("connected observed");
    expect(events).toContain("disconnected observed 0");
    expect(published).toContain("observed:obs/t=seen");
    // a refused client was never connected, so observers hear nothing of it
    expect(events.some((e) => e.includes("b5"))).toBe(false);
  });
});

describe("the reason code an access rule refuses with", () => {
  it("is the rule's own (0x80 here, for clients that only know it), the default's, or 0x87, at PUBACK and SUBACK", async () => {
    const config = writeConfig({
      acl: {
        defaultEffect: "deny", defaultReasonCode: 0x97,
        rules: [
          { topics: ["open/#"], access: "all", effect: "allow" },
          { topics: ["legacy/#"], access: "all", effect: "deny", reasonCode: 0x80 },
          { topics: ["secret/#"], access: "all", effect: "deny" },
        ],
      },
    });
    const s = await startBroker(["--config", config, "--sys-interval", "0"]);
    try {
      const raw = await RawClient.open(s.port, 5);
      expect((await raw.connect("coded")).reasonCode).toBe(0);
      const codes: number[] = [];
      for (const [i, topic] of ["open/a", "legacy/a", "secret/a", "elsewhere/a"].entries()) {
        raw.send({ type: "publish", topic, payload: enc.encode("x"), qos: 1, packetId: i + 1, retain: false, dup: false });
        codes.push((await raw.next("puback")).reasonCode);
      }
      expect(codes).toEqual([0x10, 0x80, 0x87, 0x97]); // 0x10: allowed, nobody subscribed
      raw.send({ type: "subscribe", packetId: 9, subscriptions: ["open/#", "legacy/#", "secret/#", "elsewhere/#"].map((topicFilter) => ({ topicFilter, qos: 1 as const, noLocal: false, retainAsPublished: false, retainHandling: 0 as const })) });
      expect((await raw.next("suback")).reasonCodes).toEqual([1, 0x80, 0x87, 0x97]);
      raw.close();
    } finally {
      await s.stop();
    }
  });

  it("must be one a PUBACK and a SUBACK can carry: another is refused at start, naming the choices", async () => {
    const config = writeConfig({ acl: { defaultEffect: "allow", rules: [{ topics: ["a"], access: "all", effect: "deny", reasonCode: 0x8c }] } });
    const { code, output } = await runBrokerExpectingExit(["--config", config]);
    expect(code).toBe(2);
    expect(output).toMatch(/acl\.rules\[0\]\.reasonCode must be one of 128 \(0x80\), 131 \(0x83\), 135 \(0x87\), 151 \(0x97\), got 140/);
  });
});
