// The on-publish hook in the sans-IO broker: batches, verdicts, reason codes,
// ordering and backpressure, with an in-process handler; then the HTTP side's
// JSON codec and request signing.
import { describe, expect, it } from "vitest";
import {
  Broker, encodePacket, type HookMessage, type OnPublishOptions, type Packet, type ProtocolVersion,
} from "@edgemq/core";
import { MemoryPeer } from "../support/memory-peer.ts";
// The on-publish hook's wire format, signing and HTTP client are the server's internals, not its API.
import { decodeHookReply, encodeHookBatch, HookReplyError } from "../../packages/server/src/hook-json.ts";
import { signHookRequest } from "../../packages/server/src/hook-signing.ts";
import { DEFAULT_HOOK_TIMEOUT_MS, HookCallError, httpPublishHook } from "../../packages/server/src/http-hook.ts";
import { ConfigError, resolveConfig } from "@edgemq/server";
import { newKeySet, publicKeys } from "@edgemq/credentials";

class Peer extends MemoryPeer {
  bytes(p: Packet) { return encodePacket(p, this.version); }
  override send(...ps: Packet[]) {
    // Several packets in one chunk, as one socket read delivers them.
    const parts = ps.map((p) => this.bytes(p));
    const all = new Uint8Array(parts.reduce((n, b) => n + b.byteLength, 0));
    let at = 0;
    for (const b of parts) { all.set(b, at); at += b.byteLength; }
    this.duplex.push(all);
  }
  override async connect(clientId: string) {
    this.send({ type: "connect", protocolName: "MQTT", protocolVersion: this.version, cleanStart: true, keepAlive: 0, clientId });
    await settle();
    this.packets();
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const settle = () => new Promise((r) => setTimeout(r, 5));
const pub = (topic: string, payload: string, qos: 0 | 1 | 2 = 0, packetId?: number, properties?: object): Packet =>
  ({ type: "publish", topic, payload: enc.encode(payload), qos, retain: false, dup: false, packetId, properties } as Packet);

async function setup(onPublish: OnPublishOptions, version: ProtocolVersion = 5) {
  let t = 1_700_000_000_000;
  const broker = new Broker({ now: () => t, limits: { sysInterval: 0 }, onPublish });
  const sub = new Peer(broker);
  await sub.connect("sub");
  sub.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "#", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] } as Packet);
  sub.packets();
  const publisher = new Peer(broker, version);
  await publisher.connect("pub");
  return { broker, sub, publisher, advance: (ms: number) => (t += ms) };
}

const received = (sub: Peer) => sub.packets().filter((p) => p.type === "publish").map((p) => {
  const m = p as Extract<Packet, { type: "publish" }>;
  return `${m.topic}=${dec.decode(m.payload)}`;
});

describe("the on-publish hook in the broker", () => {
  it("sends the messages of one read as one batch, in order, shaped like Cloudflare's", async () => {
    const calls: HookMessage[][] = [];
    const { sub, publisher } = await setup({ handler: (ms) => (calls.push(ms), ms) });
    publisher.send(pub("a/1", "one"), pub("a/2", "two", 1, 7, { contentType: "text/plain", payloadFormatIndicator: 1 }), pub("a/3", "\u0000\u00ff"));
    await settle();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.map((m) => m.mid)).toEqual([0, 1, 2]);
    expect(calls[0]![1]).toEqual({
      mid: 1, broker: "default", topic: "a/2", clientId: "pub", receivedAt: 1_700_000_000, contentType: "text/plain", payloadFormatIndicator: 1, payload: "two",
    });
    expect(calls[0]![0]).toMatchObject({ contentType: null, payloadFormatIndicator: 0 });
    expect(calls[0]![0]!.payload).toBeInstanceOf(Uint8Array);
    expect(received(sub)).toEqual(["a/1=one", "a/2=two", "a/3=\u0000\u00ff"]);
    expect(publisher.packets()).toEqual([{ type: "puback", packetId: 7, reasonCode: 0 }]);
  });

  it("delivers a changed payload and content type, and drops messages left out or with a changed topic or mid, with 0x87", async () => {
    const { broker, sub, publisher } = await setup({
      handler: (ms) => [
        { ...ms[0]!, payload: "changed", contentType: "application/x-new" },
        { ...ms[1]!, topic: "elsewhere" },
        { ...ms[2]!, mid: 99 },
        // ms[3] left out
        ms[4]!,
      ],
    });
    publisher.send(pub("t/0", "a", 1, 1), pub("t/1", "b", 1, 2), pub("t/2", "c", 2, 3), pub("t/3", "d", 1, 4), pub("t/4", "e", 1, 5));
    await settle();
    const out = sub.packets().filter((p) => p.type === "publish") as Extract<Packet, { type: "publish" }>[];
    expect(out.map((m) => `${m.topic}=${dec.decode(m.payload)}`)).toEqual(["t/0=changed", "t/4=e"]);
    expect(out[0]!.properties?.contentType).toBe("application/x-new");
    expect(publisher.packets()).toEqual([
      { type: "puback", packetId: 1, reasonCode: 0 },
      { type: "puback", packetId: 2, reasonCode: 0x87 },
      { type: "pubrec", packetId: 3, reasonCode: 0x87 },
      { type: "puback", packetId: 4, reasonCode: 0x87 },
      { type: "puback", packetId: 5, reasonCode: 0 },
    ]);
    expect(broker.publishHook!.stats).toMatchObject({ delivered: 1, modified: 1, dropped: 3, failed: 0, calls: 1 });
  });

  it("acknowledges a dropped message with a plain PUBACK at MQTT 3.1.1, which has no reason codes", async () => {
    const { sub, publisher } = await setup({ handler: () => [] }, 4);
    publisher.send(pub("x", "y", 1, 9));
    await settle();
    expect(publisher.packets()).toEqual([{ type: "puback", packetId: 9, reasonCode: 0 }]);
    expect(received(sub)).toEqual([]);
  });

  it("drops the whole batch with 0x80 when the handler throws, and delivers it unchanged when failing open", async () => {
    const closed = await setup({ handler: () => { throw new Error("down"); } });
    closed.publisher.send(pub("f/1", "a", 1, 1), pub("f/2", "b", 0));
    await settle();
    expect(closed.publisher.packets()).toEqual([{ type: "puback", packetId: 1, reasonCode: 0x80 }]);
    expect(received(closed.sub)).toEqual([]);
    expect(closed.broker.publishHook!.stats).toMatchObject({ failed: 2, failedOpen: 0 });

    const open = await setup({ failOpen: true, handler: async () => Promise.reject(new Error("down")) });
    open.publisher.send(pub("f/1", "a", 1, 1), pub("f/2", "b", 0));
    await settle();
    expect(open.publisher.packets()).toEqual([{ type: "puback", packetId: 1, reasonCode: 0 }]);
    expect(received(open.sub)).toEqual(["f/1=a", "f/2=b"]);
    expect(open.broker.publishHook!.stats).toMatchObject({ failed: 0, failedOpen: 2 });
  });

  it("treats a reply that is not an array of messages as a failed call", async () => {
    const { publisher, broker } = await setup({ handler: (ms) => [{ ...ms[0]!, payload: 42 }] });
    publisher.send(pub("p", "a", 1, 1));
    await settle();
    expect(publisher.packets()).toEqual([{ type: "puback", packetId: 1, reasonCode: 0x80 }]);
    expect(broker.publishHook!.stats.failed).toBe(1);
  });

  it("routes and acknowledges a publisher's messages in the order sent when verdicts come back out of order", async () => {
    const pending: { ms: HookMessage[]; resolve: (v: HookMessage[]) => void }[] = [];
    const { sub, publisher } = await setup({ maxBatch: 1, maxInFlight: 3, handler: (ms) => new Promise((resolve) => pending.push({ ms, resolve })) });
    publisher.send(pub("o/1", "1", 1, 1), pub("o/2", "2", 0), pub("o/3", "3", 1, 3));
    await settle();
    expect(pending.map((p) => p.ms[0]!.topic)).toEqual(["o/1", "o/2", "o/3"]); // three calls in flight at once
    pending[2]!.resolve(pending[2]!.ms);
    pending[1]!.resolve(pending[1]!.ms);
    await settle();
    expect(received(sub)).toEqual([]); // o/1 has no verdict yet: nothing after it goes first
    expect(publisher.packets()).toEqual([]);
    pending[0]!.resolve(pending[0]!.ms);
    await settle();
    expect(received(sub)).toEqual(["o/1=1", "o/2=2", "o/3=3"]);
    expect(publisher.packets()).toEqual([{ type: "puback", packetId: 1, reasonCode: 0 }, { type: "puback", packetId: 3, reasonCode: 0 }]);
  });

  it("stops reading a publisher that floods a slow hook, keeping its waiting messages within the bound, without blocking other clients", async () => {
    const gate: (() => void)[] = [];
    const slow = new Set(["flood"]);
    const { broker, sub, publisher } = await setup({
      // The flood can hold at most two calls (10 waiting, 5 per batch): the third serves others.
      maxPendingPerConnection: 10, maxBatch: 5, maxInFlight: 3,
      handler: (ms) => (slow.has(ms[0]!.topic) ? new Promise((r) => gate.push(() => r(ms))) : ms),
    });
    const flood = Array.from({ length: 500 }, (_, i) => pub("flood", String(i)));
    publisher.send(...flood);
    await settle();
    expect(broker.publishHook!.pending).toBeLessThanOrEqual(10);
    expect(publisher.duplex.paused).toBe(true);
    // Another client of the same broker is still read and still gets its message through.
    const other = new Peer(broker);
    expect(other.duplex.paused).toBe(false);
    await other.connect("other");
    other.send(pub("quick", "q", 1, 1));
    await settle();
    expect(other.packets()).toEqual([{ type: "puback", packetId: 1, reasonCode: 0 }]);
    expect(received(sub)).toEqual(["quick=q"]);
    // Verdicts let it read again, until all 500 are through, in order, never more than 10 waiting.
    let max = 0;
    while (gate.length > 0) {
      gate.splice(0).forEach((open) => open());
      await settle();
      max = Math.max(max, broker.publishHook!.pending);
    }
    expect(max).toBeLessThanOrEqual(10);
    expect(publisher.duplex.paused).toBe(false);
    expect(received(sub)).toEqual(flood.map((_, i) => `flood=${i}`));
  });

  it("takes publishers in turn, so one client's backlog does not hold another's message back", async () => {
    const calls: string[][] = [];
    const gate: (() => void)[] = [];
    const { broker, publisher } = await setup({
      maxPendingPerConnection: 30, maxBatch: 4, maxInFlight: 1,
      handler: (ms) => (calls.push(ms.map((m) => m.topic)), new Promise((r) => gate.push(() => r(ms)))),
    });
    publisher.send(...Array.from({ length: 30 }, (_, i) => pub("flood", String(i))));
    const other = new Peer(broker);
    await other.connect("other");
    other.send(pub("quick", "q", 1, 1));
    await settle();
    gate.shift()!();
    await settle();
    // The first call held four flood messages; the next takes the other client's message at once, not after 26 more.
    expect(calls[0]).toEqual(["flood", "flood", "flood", "flood"]);
    expect(calls[1]).toContain("quick");
    gate.shift()!();
    await settle();
    expect(other.packets()).toEqual([{ type: "puback", packetId: 1, reasonCode: 0 }]);
    while (gate.length > 0) {
      gate.splice(0).forEach((open) => open());
      await settle();
    }
  });

  it("pauses every publisher once the broker-wide bound is reached and resumes them as verdicts come back", async () => {
    const gate: (() => void)[] = [];
    const { broker, sub, publisher } = await setup({
      maxPending: 20, maxPendingPerConnection: 1000, maxBatch: 5, maxInFlight: 2,
      handler: (ms) => new Promise((r) => gate.push(() => r(ms))),
    });
    const second = new Peer(broker);
    await second.connect("pub2");
    publisher.send(...Array.from({ length: 100 }, (_, i) => pub("a", String(i))));
    second.send(...Array.from({ length: 100 }, (_, i) => pub("b", String(i))));
    await settle();
    // The broker-wide bound is met before the next read; a publisher that reaches it passes it by the one message it had decoded.
    expect(broker.publishHook!.pending).toBeLessThanOrEqual(20 + 2);
    expect(publisher.duplex.paused && second.duplex.paused).toBe(true);
    let max = 0;
    while (gate.length > 0) {
      gate.splice(0).forEach((open) => open());
      await settle();
      max = Math.max(max, broker.publishHook!.pending);
    }
    expect(max).toBeLessThanOrEqual(20 + 2);
    const got = received(sub);
    expect(got.filter((m) => m.startsWith("a=")).length).toBe(100);
    expect(got.filter((m) => m.startsWith("b=")).length).toBe(100);
    expect(got.filter((m) => m.startsWith("b="))).toEqual(Array.from({ length: 100 }, (_, i) => `b=${i}`));
    expect(publisher.duplex.paused || second.duplex.paused).toBe(false);
  });

  it("can be set, replaced and removed on a running broker", async () => {
    const { broker, sub, publisher } = await setup({ handler: () => [] });
    publisher.send(pub("r", "dropped"));
    await settle();
    broker.setOnPublish(undefined);
    publisher.send(pub("r", "direct"));
    await settle();
    expect(received(sub)).toEqual(["r=direct"]);
    expect(broker.publishHook).toBeUndefined();
  });
});

describe("the on-publish JSON codec", () => {
  it("writes a binary payload as an array of byte values and a UTF-8 one as a string", () => {
    const body = encodeHookBatch([
      { mid: 0, broker: "b.n.example", topic: "t", clientId: "c", receivedAt: 1, contentType: null, payloadFormatIndicator: 0, payload: new Uint8Array([0, 1, 255]) },
      { mid: 1, broker: "b.n.example", topic: "t", clientId: "c", jti: "J", receivedAt: 1, contentType: "text/plain", payloadFormatIndicator: 1, payload: "héllo" },
    ]);
    expect(JSON.parse(body)).toEqual([
      { mid: 0, broker: "b.n.example", topic: "t", clientId: "c", receivedAt: 1, contentType: null, payloadFormatIndicator: 0, payload: [0, 1, 255] },
      { mid: 1, broker: "b.n.example", topic: "t", clientId: "c", jti: "J", receivedAt: 1, contentType: "text/plain", payloadFormatIndicator: 1, payload: "héllo" },
    ]);
  });

  it("writes a Node Buffer payload as byte values too, not as Buffer's {type, data}", () => {
    const body = encodeHookBatch([{ mid: 0, broker: "b", topic: "t", clientId: "c", receivedAt: 1, contentType: null, payloadFormatIndicator: 0, payload: Buffer.from([7, 8]) }]);
    expect(JSON.parse(body)[0].payload).toEqual([7, 8]);
  });

  it("reads byte arrays in a reply back as bytes and keeps strings", () => {
    const [a, b] = decodeHookReply('[{"mid":0,"topic":"t","payload":[104,105]},{"mid":1,"topic":"t","payload":"x"}]') as { payload: unknown }[];
    expect(a!.payload).toEqual(new Uint8Array([104, 105]));
    expect(b!.payload).toBe("x");
  });

  it("refuses a reply that is not JSON, not an array, or carries a payload that is not bytes or text", () => {
    expect(() => decodeHookReply("not json")).toThrow(HookReplyError);
    expect(() => decodeHookReply('{"mid":0}')).toThrow(/not a JSON array/);
    expect(() => decodeHookReply('[{"mid":0,"payload":[1,256]}]')).toThrow(/byte value/);
    expect(() => decodeHookReply('[{"mid":0,"payload":{"a":1}}]')).toThrow(/string or an array/);
    expect(() => decodeHookReply("[3]")).toThrow(/not a message object/);
  });
});

describe("on-publish request signing", () => {
  it("signs timestamp + body with the broker's current Ed25519 key, verifiable with its published public key", async () => {
    const keys = await newKeySet(Date.now());
    const body = '[{"mid":0}]';
    const h = await signHookRequest(keys.current.privateJwk, body, 1654703935);
    expect(h["X-Signature-Timestamp"]).toBe("1654703935");
    expect(h["X-Signature-Key-Id"]).toBe(keys.current.kid);
    const jwk = publicKeys(keys).find((k) => k.kid === h["X-Signature-Key-Id"])!;
    const key = await crypto.subtle.importKey("jwk", { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, { name: "Ed25519" }, false, ["verify"]);
    const sig = Uint8Array.from(atob(h["X-Signature-Ed25519"]), (c) => c.charCodeAt(0));
    expect(await crypto.subtle.verify({ name: "Ed25519" }, key, sig, enc.encode(h["X-Signature-Timestamp"] + body))).toBe(true);
    expect(await crypto.subtle.verify({ name: "Ed25519" }, key, sig, enc.encode(h["X-Signature-Timestamp"] + body + " "))).toBe(false);
  });
});

describe("the HTTP on-publish handler", () => {
  const message = (): HookMessage => ({ mid: 0, broker: "default", topic: "t", clientId: "c", receivedAt: 1, contentType: null, payloadFormatIndicator: 1, payload: "x" });
  async function hook(reply: (init: RequestInit) => Promise<Response>, timeoutMs?: number) {
    const keys = await newKeySet(Date.now());
    const seen: { url: string; init: RequestInit }[] = [];
    const observed: boolean[] = [];
    const handler = httpPublishHook({
      url: "https://hook.example/p", broker: "b.ns.example", signingKey: () => keys.current.privateJwk, timeoutMs,
      observe: (_ms, failed) => observed.push(failed),
      fetch: (async (url: string, init: RequestInit) => (seen.push({ url, init }), reply(init))) as typeof fetch,
      resolve: async () => ["192.0.2.10"], // hook.example, as a public address (no DNS in unit tests)
    });
    return { handler, seen, observed, keys };
  }

  it("POSTs the signed JSON body with the broker's FQDN and returns the reply's messages", async () => {
    const { handler, seen, observed, keys } = await hook(async (init) => new Response(String(init.body), { status: 200 }));
    const out = await handler([message()]);
    expect(out).toEqual([{ ...message(), broker: "b.ns.example" }]);
    const headers = seen[0]!.init.headers as Record<string, string>;
    expect(seen[0]!.init.method).toBe("POST");
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["X-Signature-Key-Id"]).toBe(keys.current.kid);
    expect(observed).toEqual([false]);
  });

  it("fails on a non-200 status, a redirect, an invalid body or no reply within the timeout", async () => {
    for (const [reply, why] of [
      [async () => new Response("[]", { status: 500 }), /status is 500/],
      [async () => new Response(null, { status: 302, headers: { location: "https://elsewhere" } }), /status is 302/],
      [async () => new Response("{}", { status: 200 }), /not a JSON array/],
      [(init: RequestInit) => new Promise<Response>((_, reject) => init.signal!.addEventListener("abort", () => reject(init.signal!.reason))), /no reply within 50 ms/],
    ] as const) {
      const { handler, observed } = await hook(reply as (init: RequestInit) => Promise<Response>, 50);
      await expect(handler([message()])).rejects.toThrow(HookCallError);
      await expect(handler([message()])).rejects.toThrow(why);
      expect(observed).toEqual([true, true]);
    }
  });
});

describe("the hook timeout setting", () => {
  const timeoutOf = (args: string[], env: Record<string, string> = {}) => {
    const c = resolveConfig(args, env, () => "");
    if (c === "help") throw new Error("help");
    return c.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  };

  it("is Cloudflare's 10 s unless --hook-timeout or EDGEMQ_HOOK_TIMEOUT_MS says otherwise, and refuses a bad value", () => {
    expect(timeoutOf([])).toBe(10_000);
    expect(timeoutOf(["--hook-timeout", "250"])).toBe(250);
    expect(timeoutOf([], { EDGEMQ_HOOK_TIMEOUT_MS: "3000" })).toBe(3000);
    expect(() => timeoutOf(["--hook-timeout", "0"])).toThrow(ConfigError);
    expect(() => timeoutOf(["--hook-timeout", "soon"])).toThrow(/--hook-timeout/);
  });
});
