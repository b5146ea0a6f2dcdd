// On-publish hooks as a user meets them: edgemq started as a process with the
// admin API, a tenant broker pointed at a real HTTP server on 127.0.0.1 (in
// this test process) that checks every request's signature against the
// broker's published keys and changes, drops, delays or fails messages; real
// clients (mqtt.js at 5.0 and 3.1.1, mosquitto_pub/sub) on the other side.
import { createServer, type IncomingMessage, type Server } from "node:http";
import { type AddressInfo, connect as tcpConnect } from "node:net";
import { encodePacket } from "@edgemq/core/codec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, connect, mosquittoPub, mosquittoSub, sleep, waitFor } from "../support/clients.ts";
import { generatedAdminToken, type RunningBroker, startBroker } from "../support/server.ts";
import { resolveConfig } from "@edgemq/server";
import type { HookMessage } from "@edgemq/core";
import { startServer } from "@edgemq/node";

const ACCOUNT = "0123456789abcdef0123456789abcdef";
// Short, so that a slow hook's timeout costs this test 1.5 s, not Cloudflare's 10 s.
const HOOK_TIMEOUT_MS = 1500;
const enc = new TextEncoder();

interface HookRequest {
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
  messages: { mid: number; broker: string; topic: string; clientId: string; jti?: string; receivedAt: number; contentType: string | null; payloadFormatIndicator: number; payload: string | number[] }[];
  verified: boolean;
}

let server: RunningBroker;
let hookServer: Server;
let hookBase: string;
let adminBase: string;
let adminToken: string;
const requests: HookRequest[] = [];
// The published keys by broker path (/main, /open), fetched once the brokers exist.
const verifyKeys = new Map<string, { kid: string; key: Awaited<ReturnType<typeof crypto.subtle.importKey>> }[]>();

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${adminBase}${path}`, {
    method, headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function ok(method: string, path: string, body?: unknown): Promise<any> {
  const { status, json } = await api(method, path, body);
  if (status !== 200) throw new Error(`${method} ${path}: ${status} ${JSON.stringify(json.errors)}`);
  return json.result;
}

// Cloudflare's check (isValidBrokerRequest): the key by kid, Ed25519 over UTF-8(timestamp + body).
async function verify(path: string, headers: IncomingMessage["headers"], body: string): Promise<boolean> {
  const sig = headers["x-signature-ed25519"], ts = headers["x-signature-timestamp"], kid = headers["x-signature-key-id"];
  if (typeof sig !== "string" || typeof ts !== "string" || typeof kid !== "string") return false;
  const key = verifyKeys.get(path)?.find((k) => k.kid === kid)?.key;
  if (key === undefined) return false;
  return crypto.subtle.verify({ name: "Ed25519" }, key, Uint8Array.from(atob(sig), (c) => c.charCodeAt(0)), enc.encode(ts + body));
}

// What the hook does, decided by the first message's topic: the Worker-style handler under test.
async function answer(req: HookRequest): Promise<{ status: number; body: string }> {
  const first = req.messages[0]!.topic;
  if (first.startsWith("slow/")) await sleep(HOOK_TIMEOUT_MS + 1000);
  if (first.startsWith("fail500/")) return { status: 500, body: "oops" };
  if (first.startsWith("badjson/")) return { status: 200, body: "[{not json" };
  // Verdicts of concurrent calls come back out of order.
  if (first.startsWith("order/")) await sleep(Math.floor(Math.random() * 60));
  const out = req.messages.flatMap((m) => {
    if (m.topic.startsWith("drop/")) return [];
    if (m.topic.startsWith("retopic/")) return [{ ...m, topic: "somewhere/else" }];
    // A binary payload arrives as an array of byte values; the reply may be a string (UTF-8).
    const text = typeof m.payload === "string" ? m.payload : new TextDecoder().decode(new Uint8Array(m.payload));
    if (m.topic.startsWith("mod/")) return [{ ...m, payload: text.toUpperCase(), contentType: "text/x-upper" }];
    if (m.topic.startsWith("bin/")) return [{ ...m, payload: (m.payload as number[]).slice().reverse() }];
    return [m];
  });
  return { status: 200, body: JSON.stringify(out) };
}

beforeAll(async () => {
  hookServer = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d) => (body += d));
    req.on("end", async () => {
      const path = req.url!;
      const record: HookRequest = { path, headers: req.headers, body, messages: JSON.parse(body), verified: await verify(path, req.headers, body) };
      requests.push(record);
      const { status, body: reply } = await answer(record);
      if (!res.destroyed) res.writeHead(status, { "content-type": "application/json" }).end(reply);
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", r));
  hookBase = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}`;
  // The hook server is on loopback, which hooks may post to only when the operator allows it.
  server = await startBroker(["--admin-port", "0", "--sys-interval", "0", "--hook-timeout", String(HOOK_TIMEOUT_MS), "--hook-allow", "127.0.0.1"]);
  adminBase = `http://127.0.0.1:${server.ports.http}/client/v4/accounts/${ACCOUNT}/pubsub`;
  adminToken = generatedAdminToken(server.output());
  await ok("POST", "/namespaces", { name: "hooks" });
  await ok("POST", "/namespaces/hooks/brokers", { name: "main", on_publish: { url: `${hookBase}/main` } });
  await ok("POST", "/namespaces/hooks/brokers", { name: "open", on_publish: { url: `${hookBase}/open`, fail_open: true } });
  await ok("POST", "/namespaces/hooks/brokers", { name: "plain" });
  for (const b of ["main", "open"]) {
    const { keys } = await ok("GET", `/namespaces/hooks/brokers/${b}/publickeys`);
    verifyKeys.set(`/${b}`, await Promise.all(keys.map(async (k: { kty: string; crv: string; x: string; kid: string }) => ({
      kid: k.kid, key: await crypto.subtle.importKey("jwk", { kty: k.kty, crv: k.crv, x: k.x }, { name: "Ed25519" }, false, ["verify"]),
    }))));
  }
}, 30_000);

afterAll(async () => {
  await server?.stop();
  await new Promise((r) => hookServer?.close(r));
});

async function credential(broker: string, clientId: string): Promise<string> {
  return (await ok("GET", `/namespaces/hooks/brokers/${broker}/credentials?type=TOKEN&clientid=${clientId}&topicAcl=%23`))[clientId];
}

async function client(broker: string, clientId: string, version: 4 | 5 = 5) {
  return connect(server.url, { clientId, username: "x", password: await credential(broker, clientId), protocolVersion: version, reconnectPeriod: 0 });
}

// The reason code of a QoS 1 publish: mqtt.js rejects on a PUBACK of 0x80 or more.
async function pubackCode(c: Awaited<ReturnType<typeof client>>, topic: string, payload: string | Uint8Array): Promise<number> {
  try {
    const packet = await c.publishAsync(topic, payload as string, { qos: 1 });
    return (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
  } catch (e) {
    return (e as { code?: number }).code ?? -1;
  }
}

describe("an on-publish hook on a tenant broker", () => {
  it("gets every PUBLISH as a JSON array signed with the broker's current key, verifiable with its published keys", async () => {
    const sub = await client("main", "sign-sub");
    const got = collect(sub);
    await sub.subscribeAsync("plain/#", { qos: 1 });
    const cred = await credential("main", "sign-pub");
    const pub = await connect(server.url, { clientId: "sign-pub", username: "x", password: cred, reconnectPeriod: 0 });
    const before = Math.floor(Date.now() / 1000);
    expect(await pubackCode(pub, "plain/a", "hello")).toBe(0);
    await waitFor(() => got.length === 1);
    const req = requests.find((r) => r.messages.some((m) => m.topic === "plain/a"))!;
    expect(req.verified).toBe(true);
    expect(req.headers["x-signature-key-id"]).toBe(verifyKeys.get("/main")![0]!.kid); // the current key
    expect(Number(req.headers["x-signature-timestamp"])).toBeGreaterThanOrEqual(before - 1);
    expect(req.headers["content-type"]).toBe("application/json");
    const jti = JSON.parse(Buffer.from(cred.split(".")[1]!, "base64url").toString()).jti;
    expect(req.messages[0]).toEqual({
      mid: 0, broker: "main.hooks.localhost", topic: "plain/a", clientId: "sign-pub", jti,
      receivedAt: expect.any(Number), contentType: null, payloadFormatIndicator: 0, payload: [...enc.encode("hello")],
    });
    expect(req.messages[0]!.receivedAt).toBeGreaterThanOrEqual(before - 1);
    expect(requests.every((r) => r.verified)).toBe(true);
    expect(got.map((m) => m.payload)).toEqual(["hello"]);
    sub.end(true);
    pub.end(true);
  });

  it("delivers what the hook returned and drops what it left out or re-topiced, with 0x87 on the PUBACK at MQTT 5", async () => {
    const sub = await client("main", "v5-sub");
    const got = collect(sub);
    await sub.subscribeAsync("#", { qos: 1 });
    const pub = await client("main", "v5-pub");
    expect(await pubackCode(pub, "drop/x", "gone")).toBe(0x87);
    expect(await pubackCode(pub, "retopic/x", "moved")).toBe(0x87);
    expect(await pubackCode(pub, "mod/x", "shout")).toBe(0);
    await pub.publishAsync("bin/x", Buffer.from([1, 2, 0xff]), { qos: 1 });
    await waitFor(() => got.length === 2);
    await sleep(200);
    expect(got.map((m) => m.topic)).toEqual(["mod/x", "bin/x"]);
    expect(got[0]!.payload).toBe("SHOUT");
    expect(got[0]!.packet.properties?.contentType).toBe("text/x-upper");
    expect([...got[1]!.packet.payload as Buffer]).toEqual([0xff, 2, 1]);
    sub.end(true);
    pub.end(true);
  });

  it("acknowledges a dropped message without a reason code at MQTT 3.1.1 (mqtt.js and mosquitto_pub), and subscribers get exactly the hook's version", async () => {
    const watcher = mosquittoSub(["-h", server.host, "-p", String(server.port), "-V", "5", "-i", "m-sub", "-u", "x", "-P", await credential("main", "m-sub"), "-t", "mod/#", "-t", "drop/#", "-v", "-q", "1"]);
    await sleep(500);
    const old = await client("main", "v4-pub", 4);
    expect(await pubackCode(old, "drop/v4", "gone")).toBe(0);
    old.end(true);
    const dropped = await mosquittoPub(["-h", server.host, "-p", String(server.port), "-V", "mqttv311", "-q", "1", "-i", "m-pub", "-u", "x", "-P", await credential("main", "m-pub"), "-t", "drop/m", "-m", "gone"]);
    expect(dropped.code).toBe(0);
    const changed = await mosquittoPub(["-h", server.host, "-p", String(server.port), "-V", "mqttv311", "-q", "1", "-i", "m-pub", "-u", "x", "-P", await credential("main", "m-pub"), "-t", "mod/m", "-m", "quiet"]);
    expect(changed.code).toBe(0);
    await waitFor(() => watcher.lines().length >= 1, 5000, "mosquitto_sub's line");
    await sleep(200);
    await watcher.stop();
    expect(watcher.lines()).toEqual(["mod/m QUIET"]);
  });

  it("drops a batch the hook does not answer within the timeout with 0x80, and delivers it unchanged on a fail-open broker", async () => {
    const pub = await client("main", "slow-pub");
    const started = Date.now();
    expect(await pubackCode(pub, "slow/x", "late")).toBe(0x80);
    const waited = Date.now() - started;
    // The configured timeout is honoured: not before it, and not Cloudflare's 10 s.
    expect(waited).toBeGreaterThanOrEqual(HOOK_TIMEOUT_MS - 50);
    expect(waited).toBeLessThan(HOOK_TIMEOUT_MS + 2500);
    pub.end(true);

    const sub = await client("open", "open-sub");
    const got = collect(sub);
    await sub.subscribeAsync("slow/#", { qos: 1 });
    const openPub = await client("open", "open-pub");
    expect(await pubackCode(openPub, "slow/y", "late but kept")).toBe(0);
    await waitFor(() => got.length === 1);
    expect(got[0]!.payload).toBe("late but kept");
    sub.end(true);
    openPub.end(true);
  }, 15_000);

  it("drops a batch answered with 500 or with a body that is not JSON, with 0x80", async () => {
    const pub = await client("main", "fail-pub");
    expect(await pubackCode(pub, "fail500/x", "a")).toBe(0x80);
    expect(await pubackCode(pub, "badjson/x", "b")).toBe(0x80);
    pub.end(true);
  });

  it("batches messages published together and routes them in the order sent, though verdicts return out of order", async () => {
    const sub = await client("main", "order-sub");
    const got = collect(sub);
    await sub.subscribeAsync("order/#", { qos: 1 });
    const pub = await client("main", "order-pub");
    const before = requests.length;
    const n = 200;
    const acks = await Promise.all(Array.from({ length: n }, (_, i) => pub.publishAsync("order/x", String(i), { qos: i % 2 === 0 ? 1 : 0 })));
    expect(acks.filter((a) => a !== undefined).every((a) => ((a as { reasonCode?: number }).reasonCode ?? 0) === 0)).toBe(true);
    await waitFor(() => got.length === n, 10_000, `${n} messages`);
    expect(got.map((m) => m.payload)).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    const calls = requests.slice(before).filter((r) => r.messages[0]!.topic === "order/x");
    expect(calls.length).toBeLessThan(n); // batched
    expect(Math.max(...calls.map((c) => c.messages.length))).toBeGreaterThan(1);
    // Each message went to the hook once; within a call they are in the order sent (calls run concurrently).
    const numbers = calls.map((c) => c.messages.map((m) => Number(new TextDecoder().decode(new Uint8Array(m.payload as number[])))));
    expect(numbers.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    for (const batch of numbers) expect(batch).toEqual([...batch].sort((a, b) => a - b));
    sub.end(true);
    pub.end(true);
  }, 20_000);

  it("leaves a broker without a hook alone while another broker's hook is slow", async () => {
    const slow = await client("main", "busy-pub");
    const pending = pubackCode(slow, "slow/busy", "x");
    const sub = await client("plain", "plain-sub");
    const got = collect(sub);
    await sub.subscribeAsync("t", { qos: 1 });
    const pub = await client("plain", "plain-pub");
    const started = Date.now();
    expect(await pubackCode(pub, "t", "fast")).toBe(0);
    await waitFor(() => got.length === 1);
    expect(Date.now() - started).toBeLessThan(HOOK_TIMEOUT_MS);
    expect(await pending).toBe(0x80);
    for (const c of [slow, sub, pub]) c.end(true);
  }, 10_000);

  it("keeps a flooding publisher's waiting messages within the bound while the hook is slow", async () => {
    const pub = await client("main", "flood-pub");
    const n = 5000;
    for (let i = 0; i < n; i++) pub.publish("slow/flood", String(i), { qos: 0 });
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      await sleep(250);
      const text = await (await fetch(`http://127.0.0.1:${server.ports.http}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } })).text();
      seen.push(Number(/edgemq_hook_pending_messages\{namespace="hooks",broker="main"\} (\d+)/.exec(text)![1]));
    }
    // Reading stopped at the per-connection bound (1000) instead of taking all 5000 in.
    expect(Math.max(...seen)).toBeGreaterThan(0);
    expect(Math.max(...seen)).toBeLessThanOrEqual(1000);
    pub.end(true);
  }, 15_000);

  it("stops reading the socket of a publisher that floods a slow hook, so its bytes wait in TCP, not in the broker", async () => {
    // Raw TCP to the server's own TCP listener (whatever the transport under test), as fast as the socket takes it.
    const socket = tcpConnect(server.ports.tcp!, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    const password = enc.encode(await credential("main", "raw-flood"));
    socket.write(encodePacket({ type: "connect", protocolName: "MQTT", protocolVersion: 5, cleanStart: true, keepAlive: 0, clientId: "raw-flood", username: "x", password } as never));
    const publish = encodePacket({ type: "publish", topic: "slow/raw", payload: new Uint8Array(1024), qos: 0, retain: false, dup: false } as never);
    const chunk = Buffer.concat(Array.from({ length: 64 }, () => publish));
    const total = 100 * 1024 * 1024;
    const until = Date.now() + 1200; // before the first call's timeout frees anything
    let offered = 0;
    while (offered < total && Date.now() < until) {
      offered += chunk.byteLength;
      if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once("drain", r)), sleep(Math.max(0, until - Date.now()))]);
    }
    // What left this process: at most the kernel's buffers on both sides plus the 1000 messages the broker took in.
    const taken = socket.bytesWritten - socket.writableLength;
    socket.destroy();
    expect(taken).toBeGreaterThan(1024 * 1024);
    expect(taken).toBeLessThan(40 * 1024 * 1024);
  }, 15_000);

  it("counts outcomes and call latency per broker on /metrics", async () => {
    const res = await fetch(`http://127.0.0.1:${server.ports.http}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } });
    const text = await res.text();
    const value = (outcome: string, broker = "main") => Number(new RegExp(`edgemq_hook_messages_total\\{namespace="hooks",broker="${broker}",outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1]);
    expect(value("modified")).toBeGreaterThanOrEqual(3);
    expect(value("dropped")).toBeGreaterThanOrEqual(4);
    expect(value("failed")).toBeGreaterThanOrEqual(4);
    expect(value("delivered")).toBeGreaterThanOrEqual(200);
    expect(value("failed_open", "open")).toBe(1);
    expect(text).toMatch(/edgemq_hook_latency_seconds_count\{namespace="hooks",broker="main"\} [1-9]/);
  });

  it("takes fail_open through the admin API and refuses a value that is not a boolean with a clear 400", async () => {
    const bad = await api("PATCH", "/namespaces/hooks/brokers/plain", { on_publish: { url: `${hookBase}/plain`, fail_open: "yes" } });
    expect(bad.status).toBe(400);
    expect(bad.json.errors[0].message).toMatch(/on_publish\.fail_open must be true or false/);
    const none = await api("PATCH", "/namespaces/hooks/brokers/plain", { on_publish: { fail_open: true } });
    expect(none.status).toBe(400);
    expect(none.json.errors[0].message).toMatch(/needs a hook/);
    const set = await ok("PATCH", "/namespaces/hooks/brokers/main", { on_publish: { fail_open: true } });
    expect(set.on_publish).toEqual({ url: `${hookBase}/main`, fail_open: true });
    // Applied at once to the running broker: a failing hook now delivers.
    const sub = await client("main", "flip-sub");
    const got = collect(sub);
    await sub.subscribeAsync("fail500/#", { qos: 1 });
    const pub = await client("main", "flip-pub");
    expect(await pubackCode(pub, "fail500/y", "through")).toBe(0);
    await waitFor(() => got.length === 1);
    await ok("PATCH", "/namespaces/hooks/brokers/main", { on_publish: { fail_open: false } });
    expect(await pubackCode(pub, "fail500/z", "not")).toBe(0x80);
    sub.end(true);
    pub.end(true);
  });
});

describe("an on-publish hook registered in-process by an embedding program", () => {
  it("runs the same contract as a function, without HTTP: changed messages delivered, left-out ones refused with 0x87", async () => {
    const config = resolveConfig(["--port", "0", "--host", "127.0.0.1", "--sys-interval", "0"], {}, () => "");
    if (config === "help") throw new Error("unexpected help");
    const seen: HookMessage[] = [];
    config.onPublish = {
      handler: async (messages) => {
        seen.push(...messages);
        // Without a Payload Format Indicator the payload comes as bytes.
        const text = (p: string | Uint8Array) => (typeof p === "string" ? p : new TextDecoder().decode(p));
        return messages.filter((m) => m.topic !== "secret").map((m) => ({ ...m, payload: `${text(m.payload)}!`, payloadFormatIndicator: 1 as const }));
      },
    };
    const embedded = await startServer(config);
    try {
      const url = `mqtt://127.0.0.1:${embedded.listeners[0]!.port}`;
      const sub = await connect(url, { clientId: "emb-sub", reconnectPeriod: 0 });
      const got = collect(sub);
      await sub.subscribeAsync("#", { qos: 1 });
      const pub = await connect(url, { clientId: "emb-pub", reconnectPeriod: 0 });
      const code = async (topic: string) => {
        try {
          await pub.publishAsync(topic, "hi", { qos: 1 });
          return 0;
        } catch (e) {
          return (e as { code?: number }).code;
        }
      };
      expect(await code("secret")).toBe(0x87);
      expect(await code("open")).toBe(0);
      await waitFor(() => got.length === 1);
      expect(got.map((m) => `${m.topic}=${m.payload}`)).toEqual(["open=hi!"]);
      expect(got[0]!.packet.properties?.payloadFormatIndicator).toBe(true);
      expect(seen.map((m) => [m.broker, m.clientId, m.topic])).toEqual([["default", "emb-pub", "secret"], ["default", "emb-pub", "open"]]);
      sub.end(true);
      pub.end(true);
    } finally {
      await embedded.close();
    }
  });
});
