// Operating edgemq: /healthz, /readyz and /metrics on the admin port, and
// structured logs, checked on a running server with real clients.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, connect, mosquittoPub, waitFor } from "../support/clients.ts";
import { generatedAdminToken, type RunningBroker, runBrokerExpectingExit, startBroker } from "../support/server.ts";

let server: RunningBroker;
let http: string;
let token: string;

/** Reads one sample's value from Prometheus text, or undefined. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
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
  it("needs an API token for every namespace", async () => {
    expect((await fetch(`${http}/metrics`)).status).toBe(401);
    const api = `${http}/client/v4/accounts/acct/pubsub`;
    const headers = { authorization: `Bearer ${token}` };
    await fetch(`${api}/namespaces`, { method: "POST", headers, body: JSON.stringify({ name: "obs" }) });
    const created = await (await fetch(`${api}/tokens`, { method: "POST", headers, body: JSON.stringify({ name: "scoped", role: "Viewer", namespaces: ["obs"] }) })).json() as { result: { value: string } };
    const scoped = await fetch(`${http}/metrics`, { headers: { authorization: `Bearer ${created.result.value}` } });
    expect(scoped.status).toBe(403);
  });

  it("counts connections, messages and bytes per broker in Prometheus text format", async () => {
    const headers = { authorization: `Bearer ${token}` };
    const api = `${http}/client/v4/accounts/acct/pubsub`;
    await fetch(`${api}/namespaces/obs/brokers`, { method: "POST", headers, body: JSON.stringify({ name: "meters" }) });
    const issued = await (await fetch(`${api}/namespaces/obs/brokers/meters/credentials?type=TOKEN&clientid=m-1`, { headers })).json() as { result: Record<string, string> };
    const before = await (await fetch(`${http}/metrics`, { headers })).text();
    const received0 = sample(before, "edgemq_messages_received_total", `broker="default"`)!;
    const sub = await connect(server.url, { clientId: "m-1", username: "x", password: issued.result["m-1"] });
    await sub.subscribeAsync("m/#", { qos: 1 });
    for (let i = 0; i < 3; i++) expect((await mosquittoPub(["-h", "127.0.0.1", "-p", String(server.port), "-t", "d/x", "-m", `m${i}`, "-q", "1"])).code).toBe(0);
    const got = collect(sub);
    await sub.publishAsync("m/x", "tenant", { qos: 1 });
    await waitFor(() => got.length === 1);
    const res = await fetch(`${http}/metrics`, { headers });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = await res.text();
    expect(sample(text, "edgemq_messages_received_total", `broker="default"`)).toBe(received0 + 3);
    expect(sample(text, "edgemq_connections", `broker="meters.obs"`)).toBe(1);
    expect(sample(text, "edgemq_messages_received_total", `broker="meters.obs"`)).toBe(1);
    expect(sample(text, "edgemq_messages_sent_total", `broker="meters.obs"`)).toBe(1);
    expect(sample(text, "edgemq_bytes_received_total", `broker="meters.obs"`)).toBeGreaterThan(0);
    expect(sample(text, "edgemq_messages_dropped_total", `broker="meters.obs",reason="denied"`)).toBe(0);
    expect(text).toMatch(/^edgemq_event_loop_lag_seconds_bucket\{le="\+Inf"\} \d+$/m);
    for (const line of text.split("\n").filter((l) => l !== "" && !l.startsWith("#"))) {
      expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? -?[\d.e+-]+$/); // every sample parses
    }
    sub.end(true);
  });
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
