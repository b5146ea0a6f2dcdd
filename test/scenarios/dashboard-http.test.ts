// The web dashboard over real HTTP: served at / on the admin port with a CSP
// that allows only the server's own files, turned off by --no-dashboard, and
// its /stats endpoint, which follows /metrics' rule on what a token may see.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admin } from "../support/admin-api.ts";
import { connect } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let server: RunningBroker;
let admin: Admin;
let root: string;

beforeAll(async () => {
  server = await startBroker(["--admin-port", "0", "--sys-interval", "0"]);
  admin = new Admin(server);
  root = `http://127.0.0.1:${server.ports.http}`;
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

describe("the dashboard on the admin port", () => {
  it("serves its page at / and its script and styles under /dashboard/, each with its content type", async () => {
    const page = await fetch(`${root}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/dashboard/app.js"></script>');
    for (const [path, type] of [["/dashboard/app.js", "text/javascript"], ["/dashboard/chart.js", "text/javascript"], ["/dashboard/style.css", "text/css"], ["/dashboard/mqtt.min.js", "text/javascript"]]) {
      const res = await fetch(`${root}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toContain(type);
      expect((await res.text()).length, path).toBeGreaterThan(100);
    }
    const missing = await fetch(`${root}/dashboard/secrets.json`);
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();
  });

  it("answers with security headers and a Content-Security-Policy that allows only the server itself, and WebSockets for the Try it client", async () => {
    const res = await fetch(`${root}/`);
    await res.arrayBuffer();
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    // Only 'self' and 'none' are ever named: no other origin, no inline code.
    expect(csp.match(/'[^']+'|\S+:\/\/\S+/g)!.every((source) => source === "'self'" || source === "'none'")).toBe(true);
    // But for WebSockets to any host: the Try it client connects to the broker's WebSocket URL the user gives.
    expect(csp).toContain("connect-src 'self' ws: wss:");
    // The API keeps its own, stricter policy.
    const healthz = await fetch(`${root}/healthz`);
    await healthz.arrayBuffer();
    expect(healthz.headers.get("content-security-policy")).toContain("default-src 'none'");
  });

  it("answers /stats only to a token, with its role, and shows a scoped token only its namespaces' brokers", async () => {
    const none = await fetch(`${root}/stats`);
    expect(none.status).toBe(401);
    expect(await none.text()).toContain("Authorization: Bearer");
    await admin.ok("POST", "/namespaces", { name: "acme" });
    await admin.ok("POST", "/namespaces/acme/brokers", { name: "sensors", authType: "TOKEN" });
    const cred = await admin.credential("acme", "sensors", "stats-1");
    const client = await connect(server.url, { clientId: "stats-1", username: "x", password: cred });
    const stats = async (token: string) => {
      const res = await fetch(`${root}/stats`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      return await res.json() as { token: { role: string }; brokers: { namespace: string; broker: string; connections: number; hook: unknown }[]; store: unknown; cluster: unknown };
    };
    const all = await stats(admin.token);
    expect(all.token.role).toBe("Admin");
    expect(all.brokers.map((b) => [b.namespace, b.broker])).toEqual([["", "default"], ["acme", "sensors"]]);
    expect(all.brokers.find((b) => b.namespace === "acme")!.connections).toBe(1);
    // No hook on these brokers; the store (memory only here) is shown to a token that sees the whole server.
    expect(all.brokers.map((b) => b.hook)).toEqual([null, null]);
    expect(all.store).toEqual({ mode: "memory (not durable)", durable: false, commits: 0, commit_ms_mean: null });
    // Not clustered: no cluster to show.
    expect(all.cluster).toBeNull();
    const viewerOfOther = await stats(await admin.apiToken("Viewer", ["other"]));
    expect(viewerOfOther.token.role).toBe("Viewer");
    expect(viewerOfOther.brokers).toEqual([]);
    const viewerOfAcme = await stats(await admin.apiToken("Viewer", ["acme"]));
    expect(viewerOfAcme.brokers.map((b) => b.namespace)).toEqual(["acme"]);
    expect(viewerOfAcme.store).toBeNull();
    expect(viewerOfAcme.cluster).toBeNull();
    client.end();
  });

  it("names a durable store's mode in /stats without its data path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgemq-stats-"));
    const durable = await startBroker(["--admin-port", "0", "--sys-interval", "0", "--data", dir]);
    try {
      const res = await fetch(`http://127.0.0.1:${durable.ports.http}/stats`, { headers: { authorization: `Bearer ${new Admin(durable).token}` } });
      const { store } = await res.json() as { store: { mode: string; durable: boolean } };
      expect(store.durable).toBe(true);
      expect(store.mode).toMatch(/^sqlite \((fsync|batched \d+ ms)\)$/);
      expect(store.mode).not.toContain(dir);
    } finally {
      await durable.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe("--no-dashboard", () => {
  it("turns / and the dashboard's files into the admin API's 404, and leaves the API as it was", async () => {
    const off = await startBroker(["--admin-port", "0", "--sys-interval", "0", "--no-dashboard"]);
    try {
      const base = `http://127.0.0.1:${off.ports.http}`;
      for (const path of ["/", "/dashboard/app.js"]) {
        const res = await fetch(`${base}${path}`);
        expect(res.status, path).toBe(404);
        expect(res.headers.get("content-security-policy"), path).toContain("default-src 'none'");
        await res.arrayBuffer();
      }
      expect((await new Admin(off).call("GET", "/namespaces")).status).toBe(200);
    } finally {
      await off.stop();
    }
  }, 30_000);
});
