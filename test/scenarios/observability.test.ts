// Operating edgemq: /healthz, /readyz and /metrics on the admin port, and
// structured logs, checked on a running server with real clients.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, connect, mosquittoPub, waitFor } from "../support/clients.ts";
import { Admin } from "../support/admin-api.ts";
import { namingProblems, parseExposition, valueOf } from "../support/exposition.ts";
import { generatedAdminToken, RUNTIME, type RunningBroker, runBrokerExpectingExit, startBroker } from "../support/server.ts";

let server: RunningBroker;
let http: string;
let token: string;

/** The default broker's labels: it belongs to no namespace. */
const DEFAULT = { namespace: "", broker: "default" };

/** One scrape of /metrics with a token (of this file's server unless a port is given). */
async function scrape(bearer: string, port = server.ports.http): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${bearer}` } });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${await res.text()}`);
  return res.text();
}

beforeAll(async () => {
  server = await startBroker(["--admin-port", "0", "--log-format", "json", "--log-level", "debug", "--sys-interval", "0"]);
  http = `http://127.0.0.1:${server.ports.http}`;
  token = generatedAdminToken(server.output());
});
afterAll(async () => {
  await server?.stop();
});

describe("health and readiness", () => {
  it("answers /healthz and /readyz without a token", async () => {
    const health = await fetch(`${http}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const ready = await fetch(`${http}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready" });
  });
});

describe("the /metrics endpoint", () => {
  it("needs an API token", async () => {
    expect((await fetch(`${http}/metrics`)).status).toBe(401);
    expect((await fetch(`${http}/metrics`, { headers: { authorization: "Bearer emq_not-a-token" } })).status).toBe(401);
  });

  it("counts connections, messages and bytes per broker, labelled with namespace and broker", async () => {
    const admin = new Admin(server, token);
    await admin.ok("POST", "/namespaces", { name: "obs" });
    await admin.ok("POST", "/namespaces/obs/brokers", { name: "meters" });
    const credential = await admin.credential("obs", "meters", "m-1");
    const received0 = valueOf(parseExposition(await scrape(token)), "edgemq_messages_received_total", DEFAULT)!;
    const sub = await connect(server.url, { clientId: "m-1", username: "x", password: credential });
    await sub.subscribeAsync("m/#", { qos: 1 });
    for (let i = 0; i < 3; i++) expect((await mosquittoPub(["-h", "127.0.0.1", "-p", String(server.port), "-t", "d/x", "-m", `m${i}`, "-q", "1"])).code).toBe(0);
    const got = collect(sub);
    await sub.publishAsync("m/x", "tenant", { qos: 1 });
    await waitFor(() => got.length === 1);
    const res = await fetch(`${http}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const m = parseExposition(await res.text());
    const meters = { namespace: "obs", broker: "meters" };
    expect(valueOf(m, "edgemq_messages_received_total", DEFAULT)).toBe(received0 + 3);
    expect(valueOf(m, "edgemq_connections_current", meters)).toBe(1);
    expect(valueOf(m, "edgemq_connections_opened_total", meters)).toBe(1);
    expect(valueOf(m, "edgemq_messages_received_total", meters)).toBe(1);
    expect(valueOf(m, "edgemq_messages_sent_total", meters)).toBe(1);
    expect(valueOf(m, "edgemq_received_bytes_total", meters)).toBeGreaterThan(0);
    expect(valueOf(m, "edgemq_access_denials_total", meters)).toBe(0);
    sub.end(true);
  });

  it("follows Prometheus and OpenMetrics naming: HELP and TYPE for every family, counters in _total, units in names, no family twice, no collisions", async () => {
    const text = await (await fetch(`${http}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    const m = parseExposition(text); // throws on a family announced twice or a sample of no family
    expect(namingProblems(m)).toEqual([]);
    expect(m.has("edgemq_connections")).toBe(false);
    for (const name of m.keys()) if (/bytes|seconds/.test(name)) expect(name).toMatch(/_(bytes|seconds)(_total)?$/);
  });

  it("reports CPU time, resident memory, open file descriptors, event-loop lag, and GC pauses where the runtime has them", async () => {
    // Garbage for the collector to pause on: 400 QoS 0 messages of 64 KiB through the broker.
    const loader = await connect(server.url, { clientId: "gc-loader" });
    const payload = Buffer.alloc(64 * 1024);
    for (let i = 0; i < 400; i++) loader.publish("gc/load", payload);
    await loader.endAsync();
    // One event-loop lag sample at least (a timer every 200 ms, later on a loaded machine), and on Node one GC.
    let m = parseExposition(await scrape(token));
    for (let i = 0; i < 40 && !((valueOf(m, "edgemq_event_loop_lag_seconds_count") ?? 0) > 0 && (RUNTIME !== "node" || (m.get("edgemq_gc_pause_seconds")?.samples.length ?? 0) > 0)); i++) {
      await new Promise((r) => setTimeout(r, 250));
      m = parseExposition(await scrape(token));
    }
    expect(m.get("process_cpu_seconds_total")?.type).toBe("counter");
    expect(valueOf(m, "process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(valueOf(m, "process_resident_memory_bytes")).toBeGreaterThan(10 * 1024 * 1024);
    expect(valueOf(m, "process_open_fds")).toBeGreaterThan(3);
    expect(valueOf(m, "process_max_fds")).toBeGreaterThan(valueOf(m, "process_open_fds")!);
    expect(valueOf(m, "process_start_time_seconds")).toBeGreaterThan(Date.now() / 1000 - 300);
    expect(valueOf(m, "edgemq_event_loop_lag_seconds_count")).toBeGreaterThan(0);
    // Node reports GC pauses; Bun has no "gc" performance entries, and Deno lists the type but sends none.
    expect(m.has("edgemq_gc_pause_seconds")).toBe(RUNTIME === "node");
    if (RUNTIME === "node") expect(m.get("edgemq_gc_pause_seconds")!.samples.length).toBeGreaterThan(0);
  });

  it("shows a token scoped to namespaces only their brokers' series, and the default broker and server-wide series only to tokens of every namespace", async () => {
    const admin = new Admin(server, token);
    await admin.ok("POST", "/namespaces", { name: "elsewhere" });
    await admin.ok("POST", "/namespaces/elsewhere/brokers", { name: "far" });
    await admin.ok("POST", "/namespaces", { name: "scoped" });
    await admin.ok("POST", "/namespaces/scoped/brokers", { name: "near" });
    // A tenant broker is metered once something reached it.
    for (const [ns, b] of [["elsewhere", "far"], ["scoped", "near"]] as const) {
      const c = await connect(server.url, { clientId: `${b}-1`, username: "x", password: await admin.credential(ns, b, `${b}-1`) });
      c.end(true);
    }
    const viewer = await admin.apiToken("Viewer", ["scoped"]);
    const res = await fetch(`${http}/metrics`, { headers: { authorization: `Bearer ${viewer}` } });
    expect(res.status).toBe(200);
    const mine = parseExposition(await res.text());
    expect(namingProblems(mine)).toEqual([]);
    expect(valueOf(mine, "edgemq_connections_opened_total", { namespace: "scoped", broker: "near" })).toBe(1);
    const namespaces = new Set([...mine.values()].flatMap((f) => f.samples.map((s) => s.labels.namespace)));
    expect([...namespaces]).toEqual(["scoped"]);
    expect([...mine.keys()].filter((n) => n.startsWith("process_") || n === "edgemq_event_loop_lag_seconds" || n.startsWith("edgemq_admin_auth"))).toEqual([]);
    const everything = parseExposition(await scrape(token));
    expect(valueOf(everything, "edgemq_connections_opened_total", { namespace: "elsewhere", broker: "far" })).toBe(1);
    expect(valueOf(everything, "edgemq_connections_current", DEFAULT)).toBeGreaterThanOrEqual(0);
    expect(everything.has("process_cpu_seconds_total")).toBe(true);
  });

  it("does not count the broker's own $SYS values as retained messages", async () => {
    const sys = await startBroker(["--admin-port", "0", "--sys-interval", "1"]);
    try {
      const watcher = await connect(sys.url, { clientId: "sys-watch" });
      const counts = collect(watcher);
      await watcher.subscribeAsync("$SYS/broker/retained messages/count");
      expect((await mosquittoPub(["-h", "127.0.0.1", "-p", String(sys.port), "-t", "users/kept", "-m", "1", "-r"])).code).toBe(0);
      // Two intervals after the retained message: $SYS values are retained by then, and would be counted if they were.
      await waitFor(() => counts.filter((m) => m.payload.toString() === "1").length >= 2, 5000);
      expect(counts.at(-1)!.payload.toString()).toBe("1");
      const m = parseExposition(await scrape(generatedAdminToken(sys.output()), sys.ports.http));
      expect(valueOf(m, "edgemq_retained_messages", DEFAULT)).toBe(1);
      watcher.end(true);
    } finally {
      await sys.stop();
    }
  }, 15_000);
});

describe("logs", () => {
  it("writes one JSON object per line, with connections at debug level", async () => {
    const c = await connect(server.url, { clientId: "logged-1" });
    c.end(true);
    await waitFor(() => server.output().includes(`"client_id":"logged-1","reason_code"`));
    const lines = server.output().split("\n").filter((l) => l.startsWith("{"));
    expect(lines.length).toBeGreaterThan(2);
    for (const l of lines) {
      const rec = JSON.parse(l) as { time: string; level: string; msg: string };
      expect(new Date(rec.time).toString()).not.toBe("Invalid Date");
      expect(["debug", "info", "warn", "error"]).toContain(rec.level);
    }
    const connected = lines.map((l) => JSON.parse(l)).find((r) => r.msg === "edgemq: client connected" && r.client_id === "logged-1");
    expect(connected).toMatchObject({ level: "debug", broker: "default", protocol: expect.any(Number), transport: expect.any(String) });
  });

  it("refuses an unknown log format with exit code 2", async () => {
    const { code, output } = await runBrokerExpectingExit(["--port", "0", "--log-format", "xml"]);
    expect(code).toBe(2);
    expect(output).toContain(`--log-format must be text or json, got "xml"`);
  });
});
