// What an operator reads in the log when clients misbehave or parts fail: one
// record per refused connection, denial, malformed packet, protocol error,
// failing hook and slow consumer's drop, with client id, address and reason
// code, at most 10 a second per kind and a summary of the rest. Checked on a
// running server with real clients.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admin } from "../support/admin-api.ts";
import { connect, mosquittoPub, RawClient, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker, writeConfig } from "../support/server.ts";
import { freePort } from "../support/ports.ts";

const enc = new TextEncoder();
let server: RunningBroker;

/** The JSON log records of one event kind, written so far. */
function records(kind: string, of: RunningBroker = server): Record<string, unknown>[] {
  return of.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.event === kind);
}

beforeAll(async () => {
  const config = writeConfig({
    users: [{ username: "alice", password: "alice-pw" }],
    acl: { rules: [{ username: "alice", topics: ["a/#"], access: "all", effect: "allow" }], defaultEffect: "deny" },
  });
  server = await startBroker(["--config", config, "--log-format", "json", "--sys-interval", "0", "--max-client-id-length", "16", "--max-queued", "5", "--admin-port", "0", "--hook-allow", "127.0.0.1"]);
});
afterAll(async () => {
  await server?.stop();
});

describe("the log's record of refused connections", () => {
  it("names the client id, the address and the reason code of a bad credential, an anonymous client and a refused client id", async () => {
    const bad = await RawClient.open(server.port, 5);
    expect((await bad.connect("bad-pw", { username: "alice", password: enc.encode("nope") })).reasonCode).toBe(0x86);
    const anon = await RawClient.open(server.port, 5);
    expect((await anon.connect("anonymous-1")).reasonCode).toBe(0x87);
    const long = await RawClient.open(server.port, 5);
    expect((await long.connect("a-client-id-longer-than-16", { username: "alice", password: enc.encode("alice-pw") })).reasonCode).toBe(0x85);
    await waitFor(() => records("connect_refused").length >= 3);
    const byId = (id: string) => records("connect_refused").find((r) => r.client_id === id);
    expect(byId("bad-pw")).toMatchObject({ level: "warn", msg: "edgemq: connection refused", broker: "default", reason_code: "0x86", remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(byId("anonymous-1")).toMatchObject({ reason_code: "0x87", remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(byId("a-client-id-longer-than-16")).toMatchObject({ reason_code: "0x85", reason: "client identifier longer than 16" });
    const ts = records("connect_refused")[0]!.time as string;
    expect(ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("writes at most 10 records a second of one kind, then one line counting the ones held back", async () => {
    // A fresh second for this kind: the previous test's records are over a second old by then.
    await new Promise((r) => setTimeout(r, 1100));
    const before = records("connect_refused").length;
    const attempts = 25;
    await Promise.all(Array.from({ length: attempts }, async (_, i) => {
      const c = await RawClient.open(server.port, 5);
      await c.connect(`flood-${i}`, { username: "alice", password: enc.encode("wrong") });
    }));
    await waitFor(() => records("connect_refused").some((r) => typeof r.suppressed === "number"), 3000, "the summary line");
    const all = records("connect_refused").slice(before);
    const written = all.filter((r) => r.suppressed === undefined);
    const summaries = all.filter((r) => r.suppressed !== undefined);
    expect(written.length).toBeLessThanOrEqual(10);
    expect(written.length + summaries.reduce((n, r) => n + (r.suppressed as number), 0)).toBe(attempts);
    expect(summaries[0]!.msg).toMatch(/^edgemq: suppressed \d+ similar events \(connect_refused\) in the last \d+ s$/);
  });
});

describe("the log's record of denials and bad packets", () => {
  it("names the topic of a denied publish and the filter of a denied subscription", async () => {
    const alice = await connect(server.url, { clientId: "alice-1", username: "alice", password: "alice-pw", protocolVersion: 5 });
    await expect(alice.publishAsync("b/forbidden", "x", { qos: 1 })).rejects.toThrow(/Not authorized/);
    await expect(alice.subscribeAsync("b/#", { qos: 1 })).rejects.toThrow(/Not authorized/);
    await waitFor(() => records("publish_denied").length > 0 && records("subscribe_denied").length > 0);
    expect(records("publish_denied")[0]).toMatchObject({ msg: "edgemq: publish denied", client_id: "alice-1", topic: "b/forbidden", reason_code: "0x87", remote: expect.stringMatching(/^127\.0\.0\.1:/) });
    expect(records("subscribe_denied")[0]).toMatchObject({ msg: "edgemq: subscribe denied", client_id: "alice-1", filter: "b/#", reason_code: "0x87" });
    alice.end(true);
  });

  it("records a malformed packet and a protocol error with the reason the connection was closed", async () => {
    const malformed = await RawClient.open(server.port, 5);
    malformed.sendBytes([0x10, 0x05, 0x00, 0x04, 0x4d, 0x51, 0x54]); // a CONNECT that ends inside its protocol name
    await malformed.waitClosed();
    const twice = await RawClient.open(server.port, 5);
    expect((await twice.connect("twice-1", { username: "alice", password: enc.encode("alice-pw") })).reasonCode).toBe(0);
    twice.send({ type: "connect", protocolVersion: 5, clientId: "twice-1", cleanStart: true, keepAlive: 0, username: "alice", password: enc.encode("alice-pw") } as never);
    await twice.waitClosed();
    await waitFor(() => records("malformed_packet").length > 0 && records("protocol_error").some((r) => r.client_id === "twice-1"), 3000, `both records in:\n${server.output().slice(-3000)}`);
    expect(records("malformed_packet")[0]).toMatchObject({ msg: "edgemq: malformed packet: connection closed", reason_code: "0x81", remote: expect.stringMatching(/^127\.0\.0\.1:/) });
    expect(records("protocol_error").find((r) => r.client_id === "twice-1")).toMatchObject({ reason_code: "0x82", reason: expect.stringMatching(/CONNECT/i) });
  });
});

describe("the log's record of failures and drops", () => {
  it("records a slow consumer's dropped messages with its client id and the topic", async () => {
    // A subscriber that never reads: its socket fills, then its queue of 5.
    const slow = await RawClient.open(server.port, 5);
    await slow.connect("slow-1", { username: "alice", password: enc.encode("alice-pw"), properties: { receiveMaximum: 1 } } as never);
    slow.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "a/slow", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] } as never);
    await slow.next("suback");
    for (let i = 0; i < 20; i++) {
      expect((await mosquittoPub(["-h", "127.0.0.1", "-p", String(server.port), "-u", "alice", "-P", "alice-pw", "-t", "a/slow", "-m", `m${i}`, "-q", "1"])).code).toBe(0);
      if (records("queue_full").length > 0) break;
    }
    await waitFor(() => records("queue_full").length > 0);
    expect(records("queue_full")[0]).toMatchObject({
      msg: "edgemq: message dropped: the session's queue is full (a slow or absent consumer)", client_id: "slow-1", topic: "a/slow", reason_code: "0x97",
      remote: expect.stringMatching(/^127\.0\.0\.1:/),
    });
    slow.close();
  });

  it("records an on-publish hook that fails, with the broker and the publisher", async () => {
    const admin = new Admin(server);
    const port = await freePort();
    await admin.ok("POST", "/namespaces", { name: "ev" });
    await admin.ok("POST", "/namespaces/ev/brokers", { name: "hooked", on_publish: { url: `http://127.0.0.1:${port}/hook` } });
    const c = await connect(server.url, { clientId: "pub-1", username: "x", password: await admin.credential("ev", "hooked", "pub-1"), protocolVersion: 5 });
    await c.publishAsync("t", "x", { qos: 1 }).catch(() => {}); // refused with 0x80: the call failed
    await waitFor(() => records("hook_failed").length > 0);
    expect(records("hook_failed")[0]).toMatchObject({ level: "error", msg: "edgemq: on-publish hook failed", broker: "hooked.ev", client_id: "pub-1", reason: expect.any(String) });
    c.end(true);
  });
});

describe("text logs", () => {
  it("start each line with the time (UTC, ISO 8601) and the level", async () => {
    const text = await startBroker(["--sys-interval", "0"]);
    try {
      const bad = await RawClient.open(text.port, 5);
      bad.sendBytes([0x10, 0x05, 0x00, 0x04, 0x4d, 0x51, 0x54]);
      await bad.waitClosed();
      await waitFor(() => text.output().includes("malformed packet"));
      const lines = text.output().split("\n").filter((l) => l.includes("edgemq"));
      expect(lines.find((l) => l.includes("listening on"))).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info edgemq 0\.\d+\.\d+ on /);
      expect(lines.find((l) => l.includes("malformed packet"))).toMatch(/^\S+Z warn edgemq: malformed packet: connection closed \(event=malformed_packet broker=default client_id="" remote=127\.0\.0\.1:\d+ reason_code=0x81 reason=/);
    } finally {
      await text.stop();
    }
  });
});

