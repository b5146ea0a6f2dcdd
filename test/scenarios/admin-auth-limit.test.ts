// Issue 18, defect 11: failed API token checks are limited per client
// address (10 in 10 s, then 429 with Retry-After), over real HTTP to the
// server started as a process. Each test speaks from its own loopback address
// (127.0.0.x), which is how the server tells clients apart.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCOUNT, Admin } from "../support/admin-api.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let server: RunningBroker;
let admin: Admin;

beforeAll(async () => {
  server = await startBroker(["--admin-port", "0", "--sys-interval", "0"]);
  admin = new Admin(server);
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: string }

/** GET a path of the admin listener from a given local address, with a token and extra headers. */
function get(path: string, from: string, token: string | undefined, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1", port: server.ports.http, path, localAddress: from, agent: false,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const NAMESPACES = `/client/v4/accounts/${ACCOUNT}/pubsub/namespaces`;
const BAD = "emq_not-a-valid-token";

describe("failed API token checks", () => {
  it("are answered 401 ten times from one address, then 429 with Retry-After in Cloudflare's envelope, while a valid token from there still gets 200", async () => {
    const from = "127.0.0.2";
    for (let i = 1; i <= 10; i++) expect((await get(NAMESPACES, from, BAD)).status, `bad token ${i}`).toBe(401);
    const limited = await get(NAMESPACES, from, BAD);
    expect(limited.status).toBe(429);
    const wait = Number(limited.headers["retry-after"]);
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(10);
    const envelope = JSON.parse(limited.body);
    expect(envelope.success).toBe(false);
    expect(envelope.errors[0].code).toBe(971);
    expect(envelope.errors[0].message).toMatch(/too many failed API token checks from this address: wait \d+ s/);
    expect((await get(NAMESPACES, from, admin.token)).status).toBe(200);
    // A header the client sends does not change its address.
    expect((await get(NAMESPACES, from, BAD, { "x-forwarded-for": "10.9.8.7" })).status).toBe(429);
  });

  it("are counted per address: another address still gets 401, and /metrics counts failures and 429s", async () => {
    expect((await get(NAMESPACES, "127.0.0.3", BAD)).status).toBe(401);
    const metrics = await get("/metrics", "127.0.0.4", admin.token);
    expect(metrics.status).toBe(200);
    expect(Number(/^edgemq_admin_auth_failures_total (\d+)$/m.exec(metrics.body)?.[1])).toBeGreaterThanOrEqual(13);
    expect(Number(/^edgemq_admin_auth_rate_limited_total (\d+)$/m.exec(metrics.body)?.[1])).toBeGreaterThanOrEqual(2);
  });

  it("on /metrics are limited the same way", async () => {
    const from = "127.0.0.5";
    for (let i = 1; i <= 10; i++) expect((await get("/metrics", from, BAD)).status, `bad token ${i}`).toBe(401);
    const limited = await get("/metrics", from, BAD);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect((await get("/metrics", from, admin.token)).status).toBe(200);
  });
});
