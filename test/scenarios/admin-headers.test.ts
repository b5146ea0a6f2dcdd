// The admin listener's security headers, on every answer: over real HTTP to the
// server started as a process.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admin } from "../support/admin-api.ts";
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

function expectSecurityHeaders(headers: Headers, what: string): void {
  expect(headers.get("x-content-type-options"), what).toBe("nosniff");
  expect(headers.get("x-frame-options"), what).toBe("DENY");
  expect(headers.get("referrer-policy"), what).toBe("no-referrer");
  expect(headers.get("content-security-policy"), what).toMatch(/default-src 'none'/);
  expect(headers.get("content-security-policy"), what).toMatch(/frame-ancestors 'none'/);
}

describe("the admin listener's security headers", () => {
  it("are on successes, refusals and errors of the API, and on /healthz, /readyz, /metrics and /openapi.json", async () => {
    expectSecurityHeaders((await admin.call("GET", "/namespaces")).headers, "200");
    expectSecurityHeaders((await admin.call("GET", "/namespaces", undefined, null)).headers, "401");
    expectSecurityHeaders((await admin.call("GET", "/namespaces", undefined, "emq_not-a-token")).headers, "401 bad token");
    expectSecurityHeaders((await admin.call("GET", "/namespaces/ghost")).headers, "404");
    const root = `http://127.0.0.1:${server.ports.http}`;
    for (const path of ["/healthz", "/readyz", "/metrics", "/openapi.json", "/no/such/route"]) {
      const res = await fetch(`${root}${path}`);
      await res.arrayBuffer();
      expectSecurityHeaders(res.headers, path);
    }
  });
});
