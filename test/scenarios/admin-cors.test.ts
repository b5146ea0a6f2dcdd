// CORS on the admin API over real HTTP: the admin app (as the server builds
// it from --admin-cors-origin) served on a socket, asked as a browser asks.
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrap, createAdminApp } from "@edgemq/admin";
import { Registry } from "@edgemq/tenancy";

const CONSOLE = "https://console.example.com";
const servers: ReturnType<typeof createAdaptorServer>[] = [];

const tokens = new Map<string, string>();

// The API's base URL on a new server; its Admin token in `tokens`.
async function serve(corsOrigins: string[] | undefined): Promise<string> {
  const registry = await Registry.open({});
  const token = (await bootstrap(registry)).token!;
  const server = createAdaptorServer({ fetch: createAdminApp(registry, { corsOrigins }).fetch });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4/accounts/acct/pubsub`;
  tokens.set(base, token);
  return base;
}

let named: string, none: string, any: string;
beforeAll(async () => {
  named = await serve([CONSOLE]);
  none = await serve(undefined);
  any = await serve(["*"]);
});
afterAll(async () => {
  for (const s of servers) await new Promise((done) => s.close(done));
});

const preflight = (base: string, origin: string) => fetch(`${base}/namespaces`, {
  method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
});
const cors = (res: Response) => Object.fromEntries([...res.headers].filter(([k]) => k.startsWith("access-control-")));

describe("CORS over HTTP", () => {
  it("answers a named origin's preflight, and lets it read answers and refusals", async () => {
    const pre = await preflight(named, CONSOLE);
    expect(pre.status).toBe(204);
    expect(cors(pre)).toMatchObject({
      "access-control-allow-origin": CONSOLE, "access-control-allow-credentials": "true",
      "access-control-allow-methods": "GET,HEAD,POST,PATCH,DELETE", "access-control-allow-headers": "Authorization,Content-Type",
    });
    expect(pre.headers.get("vary")).toMatch(/Origin/);
    const created = await fetch(`${named}/namespaces`, { method: "POST", headers: { origin: CONSOLE, authorization: `Bearer ${tokens.get(named)}`, "content-type": "application/json" }, body: '{"name":"web"}' });
    expect(created.status).toBe(200);
    expect(created.headers.get("access-control-allow-origin")).toBe(CONSOLE);
    const refused = await fetch(`${named}/namespaces`, { headers: { origin: CONSOLE } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe(CONSOLE);
  });

  it("gives an origin it does not name no Access-Control-Allow-Origin", async () => {
    expect(cors(await preflight(named, "https://evil.example"))["access-control-allow-origin"]).toBeUndefined();
  });

  it("sends no CORS header at all when no origin is named", async () => {
    expect(cors(await preflight(none, CONSOLE))).toEqual({});
    expect(cors(await fetch(`${none}/namespaces`, { headers: { origin: CONSOLE, authorization: `Bearer ${tokens.get(none)}` } }))).toEqual({});
  });

  it("allows any origin with *, without credentials", async () => {
    const pre = await preflight(any, "https://anywhere.example");
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    expect(pre.headers.get("access-control-allow-credentials")).toBeNull();
  });
});
