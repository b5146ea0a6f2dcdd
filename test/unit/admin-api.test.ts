// Unit tests of the admin HTTP API through app.request() (no sockets):
// every route for every role, for no token, for an MQTT credential used as an
// API token and for a token of another namespace; Cloudflare's envelope,
// fields and query parameters; credentials, public keys, revocations and
// API tokens; the live effect of revocation on a broker's clients; a
// broker's clients, sessions, subscriptions and retained messages,
// publishing over HTTP; and the OpenAPI document, walked against the routes.
import { createHash } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import {
  Broker, type ConnectPacket, encodePacket, FrameDecoder, MemoryStore, type Message, type Packet, type ProtocolVersion,
} from "@edgemq/core";
import { MemoryDuplex } from "@edgemq/core/testing";
import { isRefusal, JTI_ATTRIBUTE, verifyCredential } from "@edgemq/credentials";
import { MemoryTenancyStore, Registry, type RegistryOptions } from "@edgemq/tenancy";
import {
  adminOpenApiDocument, type AdminOptions, API_BASE, bootstrap, createAdminApp, createApiToken, hashApiToken, TOKEN_PREFIX, topicAclParam,
} from "@edgemq/admin";

const BASE = "/client/v4/accounts/0123456789abcdef0123456789abcdef/pubsub";
const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);

interface Reply {
  status: number;
  body: {
    result: unknown; success: boolean; errors: { code: number; message: string }[]; messages: unknown[];
    result_info?: { page: number; per_page: number; count: number; total_count: number; total_pages: number };
  };
  headers: Headers;
}

type App = ReturnType<typeof createAdminApp>;

async function call(app: App, method: string, path: string, options: { token?: string; auth?: string; body?: unknown; raw?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.auth !== undefined) headers.authorization = options.auth;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await app.request(path.startsWith("/") ? path : `${BASE}/${path}`, { method, headers, body });
  return { status: res.status, body: (await res.json()) as Reply["body"], headers: res.headers };
}

/** A server with namespaces acme (broker sensors), spare (empty) and other (broker gadgets), and a token of each kind. */
async function world(options: { registry?: RegistryOptions; admin?: AdminOptions } = {}) {
  let t = T0;
  const registry = await Registry.open({ now: () => t, ...options.registry });
  const { token: admin } = await bootstrap(registry);
  await registry.createNamespace({ name: "acme" });
  await registry.createNamespace({ name: "spare" });
  await registry.createNamespace({ name: "other" });
  await registry.createBroker("acme", { name: "sensors" });
  await registry.createBroker("other", { name: "gadgets" });
  const make = async (name: string, role: "Admin" | "User" | "Viewer", namespaces: "*" | string[]) =>
    (await createApiToken(registry, { name, role, namespaces })).token;
  const tokens = {
    admin: admin!,
    user: await make("user", "User", ["acme", "spare"]),
    viewer: await make("viewer", "Viewer", "*"),
    otherAdmin: await make("other admin", "Admin", ["other"]),
    otherUser: await make("other user", "User", ["other"]),
  };
  const viewerId = registry.apiTokens().find((x) => x.name === "viewer")!.id;
  const [credential] = await registry.issueCredentials("acme", "sensors", { clientIds: ["dev-1"] });
  const deleted = await make("deleted", "Admin", "*");
  await registry.deleteApiToken(registry.apiTokens().find((x) => x.name === "deleted")!.id);
  // The server's default broker: connections no tenant broker claims.
  const defaultBroker = new Broker();
  const app = createAdminApp(registry, { defaultBroker, ...options.admin });
  return { registry, app, tokens, viewerId, credential: credential!, deleted, defaultBroker, advance: (ms: number) => (t += ms), peers: new Map<string, Peer>() };
}

type World = Awaited<ReturnType<typeof world>>;

function expectFailure(r: Reply, status: number, code?: number, message?: RegExp) {
  expect(r.status).toBe(status);
  expect(r.body).toEqual({ result: null, success: false, errors: [{ code: expect.any(Number), message: expect.any(String) }], messages: [] });
  if (code !== undefined) expect(r.body.errors[0]!.code).toBe(code);
  if (message !== undefined) expect(r.body.errors[0]!.message).toMatch(message);
}

function expectSuccess(r: Reply): unknown {
  expect(r.body.errors, JSON.stringify(r.body.errors)).toEqual([]);
  expect(r.status).toBe(200);
  // result_info only beside a page of a paginated list, as Cloudflare's API has it.
  const keys = ["errors", "messages", "result", ...("result_info" in r.body ? ["result_info"] : []), "success"];
  expect(Object.keys(r.body).sort()).toEqual(keys);
  if (r.body.result_info !== undefined) {
    expect(Array.isArray(r.body.result)).toBe(true);
    expect(Object.keys(r.body.result_info).sort()).toEqual(["count", "page", "per_page", "total_count", "total_pages"]);
    expect(r.body.result_info.count).toBe((r.body.result as unknown[]).length);
  }
  expect(r.body.success).toBe(true);
  expect(r.body.messages).toEqual([]);
  return r.body.result;
}

// ------------------------------------------------------------ role matrix

type Need = "any" | "user" | "admin" | "superadmin";
interface Route {
  method: string;
  path: (w: World) => string;
  body?: unknown;
  need: Need;
  /** The namespace the route acts on (for scope), if any. */
  namespace?: string;
  /** Prepares the world (connects clients, stores retained messages). */
  setup?: (w: World) => Promise<unknown> | void;
  /** Checks a successful answer and what it did. */
  check: (result: any, w: World, caller: Caller) => void | Promise<void>;
  /** Checks that a refused request changed nothing. */
  unchanged?: (w: World) => void | Promise<void>;
}

type Caller = "admin" | "user" | "viewer" | "otherAdmin" | "otherUser" | "no token" | "an MQTT credential" | "a Basic header" | "a deleted API token";
const CALLERS: Caller[] = ["admin", "user", "viewer", "otherAdmin", "otherUser", "no token", "an MQTT credential", "a Basic header", "a deleted API token"];
const ROLE_OF: Partial<Record<Caller, "Admin" | "User" | "Viewer">> = { admin: "Admin", user: "User", viewer: "Viewer", otherAdmin: "Admin", otherUser: "User" };
const SCOPE_OF: Partial<Record<Caller, string[] | "*">> = { admin: "*", user: ["acme", "spare"], viewer: "*", otherAdmin: ["other"], otherUser: ["other"] };

function authFor(w: World, caller: Caller): { token?: string; auth?: string } {
  switch (caller) {
    case "no token": return {};
    case "an MQTT credential": return { token: w.credential.token };
    case "a Basic header": return { auth: `Basic ${btoa(`x:${w.tokens.admin}`)}` };
    case "a deleted API token": return { token: w.deleted };
    default: return { token: w.tokens[caller] };
  }
}

// What a caller should get, and why: 401 without a valid token, 403 for the role (checked first) or the namespace scope.
function expected(route: Route, caller: Caller): { status: number; why?: "role" | "scope" } {
  const role = ROLE_OF[caller];
  if (role === undefined) return { status: 401 };
  const scope = SCOPE_OF[caller]!;
  const allowed = route.need === "any" || (route.need === "user" && role !== "Viewer") || (route.need === "admin" && role === "Admin") ||
    (route.need === "superadmin" && role === "Admin" && scope === "*");
  if (!allowed) return { status: 403, why: "role" };
  if (route.namespace !== undefined && scope !== "*" && !scope.includes(route.namespace)) return { status: 403, why: "scope" };
  return { status: 200 };
}

const SENSORS = "namespaces/acme/brokers/sensors";
const ROUTES: Record<string, Route> = {
  "GET /namespaces": {
    method: "GET", path: () => "namespaces", need: "any",
    check: (result, _w, caller) => {
      const seen = (result as { name: string }[]).map((n) => n.name);
      const scope = SCOPE_OF[caller]!;
      const all = ["acme", "other", "spare"]; // created together: by name
      expect(seen).toEqual(scope === "*" ? all : all.filter((n) => scope.includes(n)));
    },
  },
  "POST /namespaces": {
    method: "POST", path: () => "namespaces", body: { name: "fresh", description: "new" }, need: "admin", namespace: "fresh",
    check: (result, w) => {
      expect(result).toMatchObject({ name: "fresh", description: "new" });
      expect(w.registry.hasNamespace("fresh")).toBe(true);
    },
  },
  "GET /namespaces/:namespace": {
    method: "GET", path: () => "namespaces/acme", need: "any", namespace: "acme",
    check: (result) => expect(result).toMatchObject({ name: "acme" }),
  },
  "DELETE /namespaces/:namespace": {
    method: "DELETE", path: () => "namespaces/spare", need: "admin", namespace: "spare",
    check: (result, w) => {
      expect(result).toBeNull();
      expect(w.registry.hasNamespace("spare")).toBe(false);
    },
  },
  "GET /namespaces/:namespace/brokers": {
    method: "GET", path: () => "namespaces/acme/brokers", need: "any", namespace: "acme",
    check: (result) => expect((result as { name: string }[]).map((b) => b.name)).toEqual(["sensors"]),
  },
  "POST /namespaces/:namespace/brokers": {
    method: "POST", path: () => "namespaces/acme/brokers", body: { name: "lights", authType: "TOKEN" }, need: "user", namespace: "acme",
    check: (result, w) => {
      expect(result).toMatchObject({ name: "lights", authType: "TOKEN", auth_type: "TOKEN" });
      expect(w.registry.listBrokers("acme")).toHaveLength(2);
    },
  },
  "GET /namespaces/:namespace/brokers/:broker": {
    method: "GET", path: () => SENSORS, need: "any", namespace: "acme",
    check: (result) => expect(result).toMatchObject({ name: "sensors" }),
  },
  "PATCH /namespaces/:namespace/brokers/:broker": {
    method: "PATCH", path: () => SENSORS, body: { description: "patched" }, need: "user", namespace: "acme",
    check: (result, w) => {
      expect(result).toMatchObject({ description: "patched" });
      expect(w.registry.getBroker("acme", "sensors").description).toBe("patched");
    },
  },
  "DELETE /namespaces/:namespace/brokers/:broker": {
    method: "DELETE", path: () => SENSORS, need: "user", namespace: "acme",
    check: (result, w) => {
      expect(result).toBeNull();
      expect(w.registry.listBrokers("acme")).toEqual([]);
    },
  },
  "GET /namespaces/:namespace/brokers/:broker/credentials": {
    method: "GET", path: () => `${SENSORS}/credentials?clientid=dev-9`, need: "user", namespace: "acme",
    check: (result) => expect(Object.keys(result as object)).toEqual(["dev-9"]),
  },
  "GET /namespaces/:namespace/brokers/:broker/publickeys": {
    method: "GET", path: () => `${SENSORS}/publickeys`, need: "any", namespace: "acme",
    check: (result, w) => expect(result).toEqual({ keys: w.registry.publicKeys("acme", "sensors") }),
  },
  "POST /namespaces/:namespace/brokers/:broker/keys/rotate": {
    method: "POST", path: () => `${SENSORS}/keys/rotate`, need: "user", namespace: "acme",
    check: (result, w) => {
      expect((result as { keys: unknown[] }).keys).toHaveLength(2);
      expect(w.registry.keys("acme", "sensors").previous).toBeDefined();
    },
  },
  "GET /namespaces/:namespace/brokers/:broker/revocations": {
    method: "GET", path: () => `${SENSORS}/revocations`, need: "any", namespace: "acme",
    check: (result) => expect(result).toEqual([]),
  },
  "POST /namespaces/:namespace/brokers/:broker/revocations": {
    method: "POST", path: () => `${SENSORS}/revocations?jti=J1`, need: "user", namespace: "acme",
    check: (result, w) => {
      expect(result).toBeNull();
      expect(w.registry.isRevoked("acme", "sensors", "J1")).toBe(true);
    },
  },
  "DELETE /namespaces/:namespace/brokers/:broker/revocations": {
    method: "DELETE", path: () => `${SENSORS}/revocations?jti=J1`, need: "user", namespace: "acme",
    check: (result) => expect(result).toBeNull(),
  },
  "GET /namespaces/:namespace/brokers/:broker/scram-users": {
    method: "GET", path: () => `${SENSORS}/scram-users`, need: "any", namespace: "acme",
    setup: (w) => w.registry.putScramUser("acme", "sensors", "meter-1", "long enough password").then(() => {}),
    check: (result) => expect((result as { username: string }[]).map((u) => u.username)).toEqual(["meter-1"]),
  },
  "POST /namespaces/:namespace/brokers/:broker/scram-users": {
    method: "POST", path: () => `${SENSORS}/scram-users`, body: { username: "meter-2", password: "long enough password" }, need: "user", namespace: "acme",
    check: (result, w) => {
      expect(result).toMatchObject({ username: "meter-2", iterations: 4096 });
      expect(w.registry.scramUsers("acme", "sensors").map((u) => u.username)).toContain("meter-2");
    },
  },
  "DELETE /namespaces/:namespace/brokers/:broker/scram-users/:username": {
    method: "DELETE", path: () => `${SENSORS}/scram-users/meter-3`, need: "user", namespace: "acme",
    setup: (w) => w.registry.putScramUser("acme", "sensors", "meter-3", "long enough password").then(() => {}),
    check: (result, w) => {
      expect(result).toBeNull();
      expect(w.registry.scramUsers("acme", "sensors").map((u) => u.username)).not.toContain("meter-3");
    },
  },
  "GET /namespaces/:namespace/brokers/:broker/clients": {
    method: "GET", path: () => `${SENSORS}/clients`, need: "any", namespace: "acme",
    setup: (w) => online(w, "dev-1"),
    check: (result) => expect((result as { client_id: string }[]).map((c) => c.client_id)).toEqual(["dev-1"]),
  },
  "DELETE /namespaces/:namespace/brokers/:broker/clients/:client_id": {
    method: "DELETE", path: () => `${SENSORS}/clients/dev-1`, need: "user", namespace: "acme",
    setup: (w) => online(w, "dev-1"),
    check: async (result, w) => {
      expect(result).toEqual({ client_id: "dev-1", reason_code: 0x98, session: "kept" });
      expect(await w.peers.get("dev-1")!.next("disconnect")).toMatchObject({ reasonCode: 0x98 });
      expect(sensors(w).clients()).toEqual([]);
    },
    unchanged: (w) => expect(sensors(w).clients().map((c) => c.clientId)).toEqual(["dev-1"]),
  },
  "GET /namespaces/:namespace/brokers/:broker/sessions": {
    method: "GET", path: () => `${SENSORS}/sessions`, need: "any", namespace: "acme",
    setup: (w) => online(w, "dev-1"),
    check: (result) => expect(result).toMatchObject([{ client_id: "dev-1", connected: true }]),
  },
  "DELETE /namespaces/:namespace/brokers/:broker/sessions/:client_id": {
    method: "DELETE", path: () => `${SENSORS}/sessions/dev-1`, need: "user", namespace: "acme",
    setup: async (w) => {
      (await online(w, "dev-1", { connect: { properties: { sessionExpiryInterval: 90 } } })).duplex.close();
    },
    check: (result, w) => {
      expect(result).toEqual({ client_id: "dev-1", was_connected: false, session: "discarded" });
      expect(sensors(w).sessions()).toEqual([]);
    },
    unchanged: (w) => expect(sensors(w).sessions().map((s) => s.clientId)).toEqual(["dev-1"]),
  },
  "GET /namespaces/:namespace/brokers/:broker/subscriptions": {
    method: "GET", path: () => `${SENSORS}/subscriptions`, need: "any", namespace: "acme",
    setup: async (w) => {
      await (await online(w, "dev-1")).subscribe("a/#", 1);
    },
    check: (result) => expect(result).toMatchObject([{ client_id: "dev-1", topic_filter: "a/#", qos: 1 }]),
  },
  "GET /namespaces/:namespace/brokers/:broker/retained": {
    method: "GET", path: () => `${SENSORS}/retained`, need: "any", namespace: "acme",
    setup: async (w) => retain(w, "a/b", "v"),
    check: (result) => expect(result).toMatchObject([{ topic: "a/b", payload_utf8: "v" }]),
  },
  "DELETE /namespaces/:namespace/brokers/:broker/retained": {
    method: "DELETE", path: () => `${SENSORS}/retained?topic=%23`, need: "user", namespace: "acme",
    setup: async (w) => retain(w, "a/b", "v"),
    check: (result, w) => {
      expect(result).toEqual({ deleted: 1 });
      expect(sensors(w).retainedMessages()).toEqual([]);
    },
    unchanged: (w) => expect(sensors(w).retainedMessages()).toHaveLength(1),
  },
  "POST /namespaces/:namespace/brokers/:broker/publish": {
    method: "POST", path: () => `${SENSORS}/publish`, body: { topic: "a/b", payload: "hi", retain: true }, need: "user", namespace: "acme",
    check: (result, w) => {
      expect(result).toEqual({ matched: 0 });
      expect(sensors(w).retainedMessages().map((m) => m.topic)).toEqual(["a/b"]);
    },
    unchanged: (w) => expect(sensors(w).retainedMessages()).toEqual([]),
  },
  "GET /default/clients": {
    method: "GET", path: () => "default/clients", need: "superadmin",
    setup: (w) => onDefault(w, "plain-1"),
    check: (result) => expect((result as { client_id: string }[]).map((c) => c.client_id)).toEqual(["plain-1"]),
  },
  "DELETE /default/clients/:client_id": {
    method: "DELETE", path: () => "default/clients/plain-1", need: "superadmin",
    setup: (w) => onDefault(w, "plain-1"),
    check: async (result, w) => {
      expect(result).toEqual({ client_id: "plain-1", reason_code: 0x98, session: "kept" });
      expect(await w.peers.get("plain-1")!.next("disconnect")).toMatchObject({ reasonCode: 0x98 });
      expect(w.defaultBroker.clients()).toEqual([]);
    },
    unchanged: (w) => expect(w.defaultBroker.clients().map((c) => c.clientId)).toEqual(["plain-1"]),
  },
  "GET /default/sessions": {
    method: "GET", path: () => "default/sessions", need: "superadmin",
    setup: (w) => onDefault(w, "plain-1"),
    check: (result) => expect(result).toMatchObject([{ client_id: "plain-1", connected: true }]),
  },
  "DELETE /default/sessions/:client_id": {
    method: "DELETE", path: () => "default/sessions/plain-1", need: "superadmin",
    setup: async (w) => {
      (await onDefault(w, "plain-1", { properties: { sessionExpiryInterval: 90 } })).duplex.close();
    },
    check: (result, w) => {
      expect(result).toEqual({ client_id: "plain-1", was_connected: false, session: "discarded" });
      expect(w.defaultBroker.sessions()).toEqual([]);
    },
    unchanged: (w) => expect(w.defaultBroker.sessions().map((s) => s.clientId)).toEqual(["plain-1"]),
  },
  "GET /default/subscriptions": {
    method: "GET", path: () => "default/subscriptions", need: "superadmin",
    setup: async (w) => {
      await (await onDefault(w, "plain-1")).subscribe("a/#", 1);
    },
    check: (result) => expect(result).toMatchObject([{ client_id: "plain-1", topic_filter: "a/#", qos: 1 }]),
  },
  "GET /default/retained": {
    method: "GET", path: () => "default/retained", need: "superadmin",
    setup: (w) => retain(w, "a/b", "v", {}, w.defaultBroker),
    check: (result) => expect(result).toMatchObject([{ topic: "a/b", payload_utf8: "v" }]),
  },
  "DELETE /default/retained": {
    method: "DELETE", path: () => "default/retained?topic=%23", need: "superadmin",
    setup: (w) => retain(w, "a/b", "v", {}, w.defaultBroker),
    check: (result, w) => {
      expect(result).toEqual({ deleted: 1 });
      expect(w.defaultBroker.retainedMessages()).toEqual([]);
    },
    unchanged: (w) => expect(w.defaultBroker.retainedMessages()).toHaveLength(1),
  },
  "POST /default/publish": {
    method: "POST", path: () => "default/publish", body: { topic: "a/b", payload: "hi", retain: true }, need: "superadmin",
    check: (result, w) => {
      expect(result).toEqual({ matched: 0 });
      expect(w.defaultBroker.retainedMessages().map((m) => m.topic)).toEqual(["a/b"]);
      // The tenant brokers are another matter.
      expect(sensors(w).retainedMessages()).toEqual([]);
    },
    unchanged: (w) => expect(w.defaultBroker.retainedMessages()).toEqual([]),
  },
  "GET /tokens": {
    method: "GET", path: () => "tokens", need: "superadmin",
    check: (result) => expect((result as { name: string }[]).map((t) => t.name)).toEqual(["admin (generated at first start)", "other admin", "other user", "user", "viewer"]), // created together: by name,
  },
  "POST /tokens": {
    method: "POST", path: () => "tokens", body: { name: "ci", role: "Viewer" }, need: "superadmin",
    check: (result) => expect(result).toMatchObject({ name: "ci", role: "Viewer", namespaces: "*", value: expect.stringMatching(/^emq_/) }),
  },
  "GET /tokens/:token_id": {
    method: "GET", path: (w) => `tokens/${w.viewerId}`, need: "superadmin",
    check: (result, w) => expect(result).toMatchObject({ id: w.viewerId, name: "viewer", role: "Viewer" }),
  },
  "DELETE /tokens/:token_id": {
    method: "DELETE", path: (w) => `tokens/${w.viewerId}`, need: "superadmin",
    check: (result, w) => {
      expect(result).toBeNull();
      expect(w.registry.apiTokens().some((t) => t.name === "viewer")).toBe(false);
    },
  },
};

describe("every route for every role, no token, an MQTT credential and a token of another namespace", () => {
  for (const [name, route] of Object.entries(ROUTES)) {
    const who = { any: "every role", user: "Admin and User", admin: "Admin", superadmin: "an Admin of every namespace" }[route.need];
    it(`${name} is allowed to ${who}${route.namespace ? " in scope" : ""}, 403 to the others and 401 without a valid API token`, async () => {
      for (const caller of CALLERS) {
        const w = await world();
        await route.setup?.(w);
        const r = await call(w.app, route.method, route.path(w), { ...authFor(w, caller), body: route.body });
        const want = expected(route, caller);
        expect(r.status, `${caller}: ${JSON.stringify(r.body)}`).toBe(want.status);
        if (want.status === 200) await route.check(expectSuccess(r), w, caller);
        else {
          expectFailure(r, want.status, want.status === 401 ? 10000 : 10001);
          await route.unchanged?.(w);
        }
        if (want.status === 401) expect(r.headers.get("www-authenticate")).toMatch(/^Bearer/);
        if (want.why === "scope") expect(r.body.errors[0]!.message).toBe(`this API token is not allowed in namespace "${route.namespace}"`);
        if (want.why === "role") expect(r.body.errors[0]!.message).toMatch(new RegExp(`^a ${ROLE_OF[caller]} token cannot |^only an Admin token for every namespace`));
      }
    });
  }

  it("says why a role is refused", async () => {
    const w = await world();
    expectFailure(await call(w.app, "GET", `${SENSORS}/credentials`, { token: w.tokens.viewer }), 403, 10001, /^a Viewer token cannot issue credentials$/);
    expectFailure(await call(w.app, "POST", "namespaces", { token: w.tokens.user, body: { name: "x" } }), 403, 10001, /^a User token cannot create or delete namespaces$/);
    expectFailure(await call(w.app, "GET", "tokens", { token: w.tokens.otherAdmin }), 403, 10001, /only an Admin token for every namespace can manage API tokens/);
    expectFailure(await call(w.app, "GET", "namespaces", {}), 401, 10000, /Authorization: Bearer <token>/);
    expectFailure(await call(w.app, "GET", "namespaces", { token: w.credential.token }), 401, 10000, /MQTT credentials are not API tokens/);
    expectFailure(await call(w.app, "GET", "namespaces", { auth: "Basic abc" }), 401, 10000, /must be "Bearer <API token>"/);
  });

  it("keeps the default broker to an Admin of every namespace, and says so when the server has none", async () => {
    const w = await world();
    expectFailure(await call(w.app, "GET", "default/clients", { token: w.tokens.otherAdmin }), 403, 10001,
      /^only an Admin token for every namespace can view or act on the default broker: it belongs to no tenant$/);
    expectFailure(await call(w.app, "GET", "default/retained", { token: w.tokens.viewer }), 403, 10001, /^a Viewer token cannot view or act on the default broker$/);
    expectFailure(await call(w.app, "DELETE", "default/clients/nobody", { token: w.tokens.admin }), 404, 1004, /no client "nobody" is connected to the default broker/);
    const bare = createAdminApp(w.registry);
    for (const [method, path] of [["GET", "default/clients"], ["DELETE", "default/retained?topic=%23"], ["POST", "default/publish"]] as const) {
      expectFailure(await call(bare, method, path, { token: w.tokens.admin, body: method === "POST" ? { topic: "a", payload: "b" } : undefined }), 404, 1004,
        /has no default broker: use a tenant broker's paths, \/namespaces\/\{namespace\}\/brokers\/\{broker\}/);
    }
  });

  it("lets a scoped Admin manage its own namespaces, brokers and credentials, and nothing elsewhere", async () => {
    const w = await world();
    const t = { token: w.tokens.otherAdmin };
    expectSuccess(await call(w.app, "POST", "namespaces/other/brokers", { ...t, body: { name: "more" } }));
    expectSuccess(await call(w.app, "GET", "namespaces/other/brokers/gadgets/credentials", t));
    expectFailure(await call(w.app, "GET", "namespaces/acme/brokers/sensors", t), 403);
    expectFailure(await call(w.app, "GET", "namespaces/ghost", t), 403); // out of scope, whether it exists or not
  });
});

// -------------------------------------------------------------- envelope

describe("Cloudflare's envelope and fields", () => {
  it("wraps every answer in {result, success, errors, messages}, JSON", async () => {
    const w = await world();
    const ok = await w.app.request(`${BASE}/namespaces`, { headers: { authorization: `Bearer ${w.tokens.admin}` } });
    expect(ok.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await ok.json()).toEqual({ result: expect.any(Array), success: true, errors: [], messages: [], result_info: expect.objectContaining({ page: 1 }) });
    expectFailure(await call(w.app, "GET", "namespaces/ghost", { token: w.tokens.admin }), 404, 1004, /^no namespace "ghost"$/);
    expectFailure(await call(w.app, "GET", "namespaces/acme/nothing-here", { token: w.tokens.admin }), 404, 7000, /no route for GET/);
    expectFailure(await call(w.app, "GET", "/somewhere/else"), 404, 7000);
  });

  it("shows namespaces and brokers with Cloudflare's field names, both authType spellings and the endpoint", async () => {
    const w = await world({ registry: { domain: "pubsub.example.com" }, admin: { endpointPort: 9883 } });
    const ns = expectSuccess(await call(w.app, "GET", "namespaces/acme", { token: w.tokens.admin }));
    expect(Object.keys(ns as object).sort()).toEqual(["created_on", "description", "id", "modified_on", "name"]);
    expect(ns).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{32}$/), created_on: "2026-06-01T12:00:00.000000Z" });
    const b = expectSuccess(await call(w.app, "GET", SENSORS, { token: w.tokens.admin }));
    expect(b).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/), name: "sensors", authType: "TOKEN", auth_type: "TOKEN", description: "",
      created_on: "2026-06-01T12:00:00.000000Z", modified_on: "2026-06-01T12:00:00.000000Z", expiration: null,
      endpoint: "mqtts://sensors.acme.pubsub.example.com:9883", preset: "full", limits: expect.objectContaining({ max_message_size: 1024 * 1024 }),
    });
    const patched = expectSuccess(await call(w.app, "PATCH", SENSORS, { token: w.tokens.admin, body: { on_publish: { url: "https://hook.example/p" }, expiration: 3600 } }));
    expect(patched).toMatchObject({ on_publish: { url: "https://hook.example/p" }, expiration: 3600 });
    const cleared = expectSuccess(await call(w.app, "PATCH", SENSORS, { token: w.tokens.admin, body: { on_publish: { url: null }, expiration: null } }));
    expect(cleared).not.toHaveProperty("on_publish");
    expect(cleared).toMatchObject({ expiration: null });
  });

  it("accepts authType or auth_type, in any case, and refuses the two disagreeing or an unknown one", async () => {
    const w = await world();
    const t = { token: w.tokens.admin };
    expect(expectSuccess(await call(w.app, "POST", "namespaces/acme/brokers", { ...t, body: { name: "a", auth_type: "TOKEN" } }))).toMatchObject({ authType: "TOKEN", auth_type: "TOKEN" });
    expect(expectSuccess(await call(w.app, "POST", "namespaces/acme/brokers", { ...t, body: { name: "b", authType: "token" } }))).toMatchObject({ authType: "TOKEN" });
    expect(expectSuccess(await call(w.app, "POST", "namespaces/acme/brokers", { ...t, body: { name: "c", authType: "TOKEN", auth_type: "TOKEN" } }))).toMatchObject({ authType: "TOKEN" });
    expect(expectSuccess(await call(w.app, "POST", "namespaces/acme/brokers", { ...t, body: { name: "d" } }))).toMatchObject({ authType: "TOKEN" });
    expectFailure(await call(w.app, "POST", "namespaces/acme/brokers", { ...t, body: { name: "e", authType: "TOKEN", auth_type: "MTLS" } }), 400, 1001, /disagree/);
    expectFailure(await call(w.app, "POST", "namespaces/acme/brokers", { ...t, body: { name: "f", authType: "PASSWORD" } }), 400, 1001, /authType must be one of TOKEN, MTLS, MTLS_AND_TOKEN/);
    expectFailure(await call(w.app, "POST", "namespaces/acme/brokers", { ...t, body: { name: "g", authType: "MTLS" } }), 400, 1015, /MTLS is not enabled/);
    expectFailure(await call(w.app, "PATCH", SENSORS, { ...t, body: { auth_type: "MTLS" } }), 400, 1001, /authType cannot be changed/);
    expectSuccess(await call(w.app, "PATCH", SENSORS, { ...t, body: { authType: "TOKEN", name: "SENSORS", description: "same type, same name" } }));
    expectFailure(await call(w.app, "PATCH", SENSORS, { ...t, body: { name: "renamed" } }), 400, 1001, /cannot be renamed/);
  });
});

describe("CORS for named origins", () => {
  const preflight = (app: App, origin: string) => app.request(`${BASE}/namespaces`, {
    method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
  });

  it("sends no CORS header at all when no origin is configured, and a preflight is refused as any request without a token", async () => {
    for (const admin of [undefined, { corsOrigins: [] }]) {
      const w = await world({ admin });
      const pre = await preflight(w.app, "https://console.example.com");
      expect(pre.status).toBe(401);
      const got = await w.app.request(`${BASE}/namespaces`, { headers: { origin: "https://console.example.com", authorization: `Bearer ${w.tokens.admin}` } });
      expect(got.status).toBe(200);
      for (const res of [pre, got]) expect([...res.headers.keys()].filter((k) => k.startsWith("access-control-"))).toEqual([]);
    }
  });

  it("answers a named origin's preflight with the methods, Authorization and Content-Type, credentials and Vary: Origin, and its requests with its origin", async () => {
    const w = await world({ admin: { corsOrigins: ["https://console.example.com", "http://localhost:5173"] } });
    const pre = await preflight(w.app, "http://localhost:5173");
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(pre.headers.get("access-control-allow-methods")).toBe("GET,HEAD,POST,PATCH,DELETE");
    expect(pre.headers.get("access-control-allow-headers")).toBe("Authorization,Content-Type");
    expect(pre.headers.get("access-control-allow-credentials")).toBe("true");
    expect(pre.headers.get("vary")).toMatch(/Origin/);
    const got = await w.app.request(`${BASE}/namespaces`, { headers: { origin: "https://console.example.com", authorization: `Bearer ${w.tokens.admin}` } });
    expect(got.status).toBe(200);
    expect(got.headers.get("access-control-allow-origin")).toBe("https://console.example.com");
    expect(got.headers.get("vary")).toMatch(/Origin/);
    // A refusal is readable by the page too, so it can show why.
    const refused = await w.app.request(`${BASE}/namespaces`, { headers: { origin: "https://console.example.com" } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe("https://console.example.com");
  });

  it("gives another origin no Access-Control-Allow-Origin, so its browser keeps the answer from it", async () => {
    const w = await world({ admin: { corsOrigins: ["https://console.example.com"] } });
    expect((await preflight(w.app, "https://evil.example")).headers.get("access-control-allow-origin")).toBeNull();
    const got = await w.app.request(`${BASE}/namespaces`, { headers: { origin: "https://evil.example", authorization: `Bearer ${w.tokens.admin}` } });
    expect(got.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("allows any origin with *, then without credentials", async () => {
    const w = await world({ admin: { corsOrigins: ["*"] } });
    const pre = await preflight(w.app, "https://anywhere.example");
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    expect(pre.headers.get("access-control-allow-credentials")).toBeNull();
  });
});

// ------------------------------------------------------------ validation

describe("names and bodies", () => {
  it("refuses names that are not DNS labels with 400 and says why, and keeps names lower-cased", async () => {
    const w = await world();
    const t = { token: w.tokens.admin };
    for (const [name, message] of [["bad_name", /only the letters a-z/], ["9ns", /start with a letter/], ["x".repeat(64), /at most 63/], ["", /needs a name/]] as const) {
      expectFailure(await call(w.app, "POST", "namespaces", { ...t, body: { name } }), 400, 1001, message);
    }
    expectFailure(await call(w.app, "POST", "namespaces", { ...t, body: {} }), 400, 1001, /^name is required: a DNS label such as "my-namespace"$/);
    expectFailure(await call(w.app, "POST", "namespaces/acme/brokers", { ...t, body: { name: "under_score" } }), 400, 1001, /broker name "under_score"/);
    expect(expectSuccess(await call(w.app, "POST", "namespaces", { ...t, body: { name: "MixedCase" } }))).toMatchObject({ name: "mixedcase" });
    expect(expectSuccess(await call(w.app, "GET", "namespaces/MIXEDCASE", t))).toMatchObject({ name: "mixedcase" });
    expect(expectSuccess(await call(w.app, "GET", "namespaces/ACME/brokers/Sensors", t))).toMatchObject({ name: "sensors" });
  });

  it("answers 400, as Cloudflare did, for a namespace or broker name already taken", async () => {
    const w = await world();
    const t = { token: w.tokens.admin };
    expectFailure(await call(w.app, "POST", "namespaces", { ...t, body: { name: "ACME" } }), 400, 1009, /^namespace "acme" already exists$/);
    expectFailure(await call(w.app, "POST", "namespaces/acme/brokers", { ...t, body: { name: "sensors" } }), 400, 1009, /already exists in namespace "acme"/);
  });

  it("refuses bodies that are not JSON objects, unknown fields and wrong types with 400, and large bodies with 413", async () => {
    const w = await world();
    const t = { token: w.tokens.admin };
    expectFailure(await call(w.app, "POST", "namespaces", { ...t, raw: "{name: acme" }), 400, 1001, /not valid JSON/);
    expectFailure(await call(w.app, "POST", "namespaces", { ...t, raw: "[1]" }), 400, 1001, /must be a JSON object/);
    expectFailure(await call(w.app, "POST", "namespaces", { ...t, body: { name: "n", colour: "red" } }), 400, 1001, /unknown field "colour" in a namespace; it takes name, description/);
    expectFailure(await call(w.app, "POST", "namespaces/acme/brokers", { ...t, body: { name: "n", expiry: 5 } }), 400, 1001, /unknown field "expiry"/);
    expectFailure(await call(w.app, "POST", "namespaces/acme/brokers", { ...t, body: { name: "n", expiration: "60" } }), 400, 1001, /expiration must be a whole number/);
    expectFailure(await call(w.app, "PATCH", SENSORS, { ...t, body: { on_publish: { url: "mailto:x@example.com" } } }), 400, 1001, /on_publish.url/);
    expectFailure(await call(w.app, "PATCH", SENSORS, { ...t, body: { description: 5 } }), 400, 1001, /description must be a string/);
    expectFailure(await call(w.app, "POST", "namespaces", { ...t, body: { name: "n", description: "x".repeat(70_000) } }), 413, 1013);
  });

  it("answers 404 for an unknown namespace or broker on every broker route, before looking at the request", async () => {
    const w = await world();
    const t = { token: w.tokens.admin };
    for (const [method, path] of [
      ["GET", "namespaces/ghost/brokers"], ["POST", "namespaces/ghost/brokers"], ["DELETE", "namespaces/ghost"],
      ["GET", "namespaces/acme/brokers/ghost"], ["PATCH", "namespaces/acme/brokers/ghost"], ["DELETE", "namespaces/acme/brokers/ghost"],
      ["GET", "namespaces/acme/brokers/ghost/credentials?number=500"], ["GET", "namespaces/acme/brokers/ghost/publickeys"],
      ["POST", "namespaces/acme/brokers/ghost/keys/rotate"], ["GET", "namespaces/acme/brokers/ghost/revocations"],
      ["POST", "namespaces/acme/brokers/ghost/revocations"], ["DELETE", "namespaces/acme/brokers/ghost/revocations"],
    ] as const) {
      expectFailure(await call(w.app, method, path, { ...t, body: method === "POST" || method === "PATCH" ? { name: "x", expiration: "bad" } : undefined }), 404, 1004, /ghost/);
    }
  });

  it("refuses to delete a namespace that still has brokers with 409", async () => {
    const w = await world();
    expectFailure(await call(w.app, "DELETE", "namespaces/acme", { token: w.tokens.admin }), 409, 1010, /still has a broker \(sensors\); delete it first/);
  });

  it("serves only the configured account id when one is set, any otherwise", async () => {
    const w = await world({ admin: { accountId: "my-account" } });
    expectSuccess(await call(w.app, "GET", "/client/v4/accounts/my-account/pubsub/namespaces", { token: w.tokens.admin }));
    expectFailure(await call(w.app, "GET", "/client/v4/accounts/someone-else/pubsub/namespaces", { token: w.tokens.admin }), 404, 1004, /no account "someone-else"/);
    expectFailure(await call(w.app, "GET", "/client/v4/accounts/someone-else/pubsub/namespaces", {}), 401);
    const open = await world();
    expectSuccess(await call(open.app, "GET", "/client/v4/accounts/anything/pubsub/namespaces", { token: open.tokens.admin }));
  });
});

// ----------------------------------------------------------- credentials

describe("a broker's limits and preset", () => {
  it("creates a broker with its own limits over a preset, shows the effective ones, and keeps them in the store", async () => {
    const store = new MemoryTenancyStore();
    const w = await world({ registry: { store } });
    const t = { token: w.tokens.user };
    const made = expectSuccess(await call(w.app, "POST", "namespaces/acme/brokers", { ...t, body: { name: "cf", preset: "cloudflare", limits: { max_connections: 50, max_message_size: 4096 } } })) as any;
    expect(made.preset).toBe("cloudflare");
    expect(made.limits).toMatchObject({ max_connections: 50, max_message_size: 4096, max_packets_per_second: 10, max_client_id_length: 23, min_keep_alive: 10 });
    const plain = expectSuccess(await call(w.app, "GET", SENSORS, t)) as any;
    expect(plain.preset).toBe("full");
    expect(plain.limits).toMatchObject({ max_connections: 0, max_message_size: 1024 * 1024, max_packets_per_second: 0, max_retained_messages: 100_000 });
    // The record keeps only the broker's own values, so a reopened registry shows the same.
    const reopened = await Registry.open({ store });
    expect(reopened.getBroker("acme", "cf")).toMatchObject({ preset: "cloudflare", limits: { max_connections: 50, max_message_size: 4096 } });
    expect(reopened.effectiveLimits(reopened.getBroker("acme", "cf"))).toMatchObject({ maximumConnections: 50, maximumPacketSize: 4096, maximumPacketsPerSecond: 10 });
  });

  it("merges PATCHed limits with those set before, returns one to its preset's value with null, and clears them all with null", async () => {
    const w = await world();
    const t = { token: w.tokens.admin };
    expectSuccess(await call(w.app, "PATCH", SENSORS, { ...t, body: { limits: { max_connections: 5, max_topic_levels: 4 } } }));
    const merged = expectSuccess(await call(w.app, "PATCH", SENSORS, { ...t, body: { limits: { max_connections: null, max_queued_messages: 10 } } })) as any;
    expect(merged.limits).toMatchObject({ max_connections: 0, max_topic_levels: 4, max_queued_messages: 10 });
    const switched = expectSuccess(await call(w.app, "PATCH", SENSORS, { ...t, body: { preset: "cloudflare" } })) as any;
    expect(switched.limits).toMatchObject({ max_topic_levels: 4, max_packets_per_second: 10 });
    const cleared = expectSuccess(await call(w.app, "PATCH", SENSORS, { ...t, body: { limits: null, preset: "full" } })) as any;
    expect(cleared.limits).toMatchObject({ max_topic_levels: 128, max_queued_messages: 1000, max_packets_per_second: 0 });
  });

  it("applies a PATCH to the broker's running MQTT instance: its limits and, for a preset, its features", async () => {
    const w = await world();
    const broker = w.registry.broker("acme", "sensors");
    expectSuccess(await call(w.app, "PATCH", SENSORS, { token: w.tokens.user, body: { limits: { max_packets_per_second: 7, max_subscribers_per_topic: 3 } } }));
    expect(broker.limits).toMatchObject({ maximumPacketsPerSecond: 7, maximumSubscribersPerTopic: 3 });
    expectSuccess(await call(w.app, "PATCH", SENSORS, { token: w.tokens.user, body: { preset: "cloudflare" } }));
    expect(broker.features).toMatchObject({ maximumQoS: 0, retainAvailable: false });
    expect(broker.limits).toMatchObject({ maximumPacketsPerSecond: 7, maximumClientIdLength: 23 });
    expectSuccess(await call(w.app, "PATCH", SENSORS, { token: w.tokens.user, body: { preset: "full" } }));
    expect(broker.features).toMatchObject({ maximumQoS: 2, retainAvailable: true });
    expect(broker.limits.maximumClientIdLength).toBe(65535);
  });

  it("refuses a bad limit or preset with a 400 naming the field and its range, and leaves the broker as it was", async () => {
    const w = await world();
    const t = { token: w.tokens.admin };
    const cases: [unknown, RegExp][] = [
      [{ limits: { max_message_size: 63 } }, /^limits\.max_message_size must be a whole number from 64 to 268435455, not 63$/],
      [{ limits: { max_packets_per_second: -1 } }, /^limits\.max_packets_per_second must be a whole number from 0 to 1000000, not -1$/],
      [{ limits: { connect_timeout: 0 } }, /^limits\.connect_timeout must be a whole number from 1 to 3600, not 0$/],
      [{ limits: { max_topic_levels: 2.5 } }, /^limits\.max_topic_levels must be a whole number from 1 to 65535, not 2\.5$/],
      [{ limits: { max_connections: "10" } }, /^limits\.max_connections must be a whole number from 0 to 10000000, not "10"$/],
      [{ limits: { maxConnections: 10 } }, /^unknown limit "maxConnections"; the limits are max_message_size, /],
      [{ limits: [1] }, /^limits must be an object such as/],
      [{ limits: { min_keep_alive: 500 } }, /^limits\.min_keep_alive \(500\) must not be above limits\.max_keep_alive \(300\)$/],
      [{ preset: "aws" }, /^preset must be one of full, cloudflare, not "aws"$/],
    ];
    for (const [body, message] of cases) {
      expectFailure(await call(w.app, "PATCH", SENSORS, { ...t, body }), 400, 1001, message);
      expectFailure(await call(w.app, "POST", "namespaces/acme/brokers", { ...t, body: { name: "fresh", ...(body as object) } }), 400, 1001, message);
    }
    const b = expectSuccess(await call(w.app, "GET", SENSORS, t)) as any;
    expect(b.preset).toBe("full");
    expect(w.registry.getBroker("acme", "sensors").limits).toEqual({});
  });

  it("lets a Viewer see a broker's limits but not change them", async () => {
    const w = await world();
    const seen = expectSuccess(await call(w.app, "GET", SENSORS, { token: w.tokens.viewer })) as any;
    expect(seen.limits.max_message_size).toBe(1024 * 1024);
    expectFailure(await call(w.app, "PATCH", SENSORS, { token: w.tokens.viewer, body: { limits: { max_message_size: 1000 } } }), 403);
    expectFailure(await call(w.app, "PATCH", SENSORS, { token: w.tokens.otherUser, body: { preset: "cloudflare" } }), 403);
    expect(w.registry.getBroker("acme", "sensors").limits).toEqual({});
  });
});

describe("issuing credentials", () => {
  const verify = (w: World, token: string, now = T0) =>
    verifyCredential(token, w.registry.keys("acme", "sensors"), { audience: "sensors.acme", now, isRevoked: () => false });
  const issue = async (w: World, query: string) => expectSuccess(await call(w.app, "GET", `${SENSORS}/credentials${query}`, { token: w.tokens.user })) as Record<string, string>;

  it("maps each client id to a JWT that verifies against the broker's keys with sub = client id", async () => {
    const w = await world();
    const one = await issue(w, "");
    expect(Object.keys(one)).toHaveLength(1);
    const [[clientId, token]] = Object.entries(one) as [[string, string]];
    expect(clientId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(await verify(w, token)).toMatchObject({ sub: clientId, iat: T0 / 1000, exp: undefined, topicAcl: { publish: ["#"], subscribe: ["#"] } });
    const given = await issue(w, "?type=TOKEN&clientid=dev-a&clientid=dev-b&number=3");
    const ids = Object.keys(given);
    expect(ids.slice(0, 2)).toEqual(["dev-a", "dev-b"]);
    expect(ids).toHaveLength(3);
    for (const [id, jwt] of Object.entries(given)) expect(await verify(w, jwt)).toMatchObject({ sub: id });
    expect(Object.keys(await issue(w, "?number=100"))).toHaveLength(100);
  });

  it("applies the shorter of the broker's and the request's expiration, and -1 cannot outlive the broker's", async () => {
    const w = await world();
    const s = T0 / 1000;
    const exp = async (query: string) => (await verify(w, Object.values(await issue(w, query))[0]!) as { exp?: number }).exp;
    expect(await exp("?expiration=60")).toBe(s + 60);
    expectSuccess(await call(w.app, "PATCH", SENSORS, { token: w.tokens.admin, body: { expiration: 3600 } }));
    expect(await exp("")).toBe(s + 3600);
    expect(await exp("?expiration=60")).toBe(s + 60);
    expect(await exp("?expiration=86400")).toBe(s + 3600);
    expect(await exp("?expiration=-1")).toBe(s + 3600);
    const token = Object.values(await issue(w, "?expiration=10"))[0]!;
    expect(await verify(w, token, T0 + 60_000)).toMatchObject({ reasonCode: 0x86, reason: "the credential has expired" });
  });

  it("puts the topicAcl in the credential: empty or missing is #, %2B and a level-filling literal + are the wildcard", async () => {
    const w = await world();
    const acl = async (query: string) => ((await verify(w, Object.values(await issue(w, query))[0]!)) as { topicAcl: unknown }).topicAcl;
    expect(await acl("?topicAcl=")).toEqual({ publish: ["#"], subscribe: ["#"] });
    expect(await acl("?topicAcl=%23")).toEqual({ publish: ["#"], subscribe: ["#"] });
    expect(await acl("?topicAcl=sub:a/+/b,pub:c/%25c")).toEqual({ subscribe: ["a/+/b"], publish: ["c/%c"] });
    expect(await acl("?topicAcl=sub%3Aa%2F%2B%2Fb%20pub%3Ac")).toEqual({ subscribe: ["a/+/b"], publish: ["c"] });
    const params = new URLSearchParams({ topicAcl: "sub:x/+ pub:y/#" }); // encodes + as %2B and the space as +
    expect(await acl(`?${params}`)).toEqual({ subscribe: ["x/+"], publish: ["y/#"] });
    expectFailure(await call(w.app, "GET", `${SENSORS}/credentials?topicAcl=sub:a/%23/b`, { token: w.tokens.user }), 400, 1001, /topicAcl filter "a\/#\/b" is not a valid topic filter/);
  });

  it("reads topicAcl query values as documented", () => {
    expect(topicAclParam("?a=1&topicAcl=+")).toBe("+");
    expect(topicAclParam("?topicAcl=sub:+/x")).toBe("sub:+/x");
    expect(topicAclParam("?topicAcl=a/%23+b")).toBe("a/# b");
    expect(topicAclParam("?topicAcl=%2B+x")).toBe("+ x");
    expect(topicAclParam("?other=1")).toBeUndefined();
  });

  it("refuses a bad number, type, expiration, client id list or topicAcl with 400", async () => {
    const w = await world();
    const bad = async (query: string, code: number, message: RegExp) =>
      expectFailure(await call(w.app, "GET", `${SENSORS}/credentials${query}`, { token: w.tokens.user }), 400, code, message);
    await bad("?number=abc", 1001, /number must be a whole number from 1 to 100, not "abc"/);
    await bad("?number=101", 1001, /from 1 to 100/);
    await bad("?number=0", 1001, /from 1 to 100/);
    await bad("?type=MTLS", 1015, /type=TOKEN/);
    await bad("?expiration=soon", 1001, /expiration must be/);
    await bad("?expiration=0", 1001, /expiration must be/);
    await bad("?clientid=a&clientid=a", 1001, /"a" is given twice/);
    await bad("?topicAcl=%E0%A4%A", 1001, /percent-encoding/);
  });
});

// ----------------------------------------------------------- public keys

describe("public keys", () => {
  it("serves {keys: [JWK]} whose kid is the RFC 7638 thumbprint, and the JWT header names it", async () => {
    const w = await world();
    const { keys } = expectSuccess(await call(w.app, "GET", `${SENSORS}/publickeys`, { token: w.tokens.viewer })) as { keys: Record<string, string>[] };
    expect(keys).toHaveLength(1);
    const k = keys[0]!;
    expect(Object.keys(k).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x"]);
    expect(k).toMatchObject({ use: "sig", kty: "OKP", crv: "Ed25519", alg: "EdDSA" });
    const thumbprint = createHash("sha256").update(JSON.stringify({ crv: k.crv, kty: k.kty, x: k.x })).digest("base64url");
    expect(k.kid).toBe(thumbprint);
    const header = JSON.parse(Buffer.from(w.credential.token.split(".")[0]!, "base64url").toString());
    expect(header).toEqual({ alg: "EdDSA", kid: thumbprint });
  });

  it("rotates keys through the API: the new key signs, both verify, and the old credential still connects", async () => {
    const w = await world();
    const before = w.registry.keys("acme", "sensors").current.kid;
    const { keys } = expectSuccess(await call(w.app, "POST", `${SENSORS}/keys/rotate`, { token: w.tokens.user })) as { keys: { kid: string }[] };
    expect(keys.map((k) => k.kid)).toEqual([w.registry.keys("acme", "sensors").current.kid, before]);
    expect((expectSuccess(await call(w.app, "GET", `${SENSORS}/publickeys`, { token: w.tokens.viewer })) as { keys: unknown[] }).keys).toEqual(keys);
    const fresh = Object.values(expectSuccess(await call(w.app, "GET", `${SENSORS}/credentials`, { token: w.tokens.user })) as object)[0] as string;
    expect(JSON.parse(Buffer.from(fresh.split(".")[0]!, "base64url").toString()).kid).toBe(keys[0]!.kid);
    const broker = w.registry.broker("acme", "sensors");
    expect((await new Peer(broker).connect("dev-1", w.credential.token)).reasonCode).toBe(0);
  });
});

// ----------------------------------------------------------- revocations

const enc = new TextEncoder();

async function until<T>(check: () => T | undefined, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 5));
  }
}

// An MQTT client (5.0 unless told otherwise) over a MemoryDuplex.
class Peer {
  readonly duplex: MemoryDuplex;
  readonly decoder: FrameDecoder;
  readonly version: ProtocolVersion;
  readonly received: Packet[] = [];
  #packetId = 1;
  constructor(broker: Broker, version: ProtocolVersion = 5, info: ConstructorParameters<typeof MemoryDuplex>[0] = {}) {
    this.version = version;
    this.duplex = new MemoryDuplex(info);
    this.decoder = new FrameDecoder({ protocolVersion: version });
    this.duplex.sink = broker.accept(this.duplex);
  }
  next<T extends Packet["type"]>(type: T): Promise<Extract<Packet, { type: T }>> {
    return until(() => {
      for (const chunk of this.duplex.take()) this.decoder.push(chunk);
      for (let p = this.decoder.next(); p; p = this.decoder.next()) this.received.push(p);
      const i = this.received.findIndex((p) => p.type === type);
      return i === -1 ? undefined : (this.received.splice(i, 1)[0] as Extract<Packet, { type: T }>);
    });
  }
  connect(clientId: string, token: string, extra: Partial<ConnectPacket> = {}) {
    this.duplex.push(encodePacket({
      type: "connect", protocolName: "MQTT", protocolVersion: this.version, cleanStart: true, keepAlive: 0, clientId,
      username: this.version === 5 ? undefined : "anything", password: enc.encode(token), ...extra,
    }, this.version));
    return this.next("connack");
  }
  async subscribe(topicFilter: string, qos: 0 | 1 | 2 = 0, options: { noLocal?: boolean; retainAsPublished?: boolean; retainHandling?: 0 | 1 | 2; id?: number } = {}) {
    this.duplex.push(encodePacket({
      type: "subscribe", packetId: this.#packetId++,
      subscriptions: [{ topicFilter, qos, noLocal: options.noLocal ?? false, retainAsPublished: options.retainAsPublished ?? false, retainHandling: options.retainHandling ?? 0 }],
      ...(options.id !== undefined ? { properties: { subscriptionIdentifier: options.id } } : {}),
    }, this.version));
    return this.next("suback");
  }
  /** Every packet that arrived and was not taken yet. */
  drain(): Packet[] {
    for (const chunk of this.duplex.take()) this.decoder.push(chunk);
    for (let p = this.decoder.next(); p; p = this.decoder.next()) this.received.push(p);
    return this.received.splice(0);
  }
}

/** The acme/sensors broker's MQTT instance. */
function sensors(w: World): Broker {
  return w.registry.broker("acme", "sensors");
}

/** Connects a client to acme/sensors with a credential issued for it (and the given topicAcl). */
async function online(w: World, clientId: string, options: { version?: ProtocolVersion; connect?: Partial<ConnectPacket>; topicAcl?: string; info?: ConstructorParameters<typeof MemoryDuplex>[0] } = {}): Promise<Peer> {
  const token = clientId === "dev-1" && options.topicAcl === undefined
    ? w.credential.token
    : (await w.registry.issueCredentials("acme", "sensors", { clientIds: [clientId], topicAcl: options.topicAcl }))[0]!.token;
  const peer = new Peer(sensors(w), options.version ?? 5, options.info);
  const connack = await peer.connect(clientId, token, options.connect);
  expect(connack.reasonCode).toBe(0);
  w.peers.set(clientId, peer);
  return peer;
}

/** Stores a retained message on acme/sensors, as if a client had published it. */
function retain(w: World, topic: string, payload: string | Uint8Array, extra: Partial<Message> = {}, broker = sensors(w)): void {
  broker.publish({
    topic, payload: typeof payload === "string" ? enc.encode(payload) : payload, qos: 0, retain: true, properties: undefined,
    expiresAt: undefined, senderId: "someone", receivedAt: broker.now(), ...extra,
  });
}

/** Connects a plain client (no credential) to the world's default broker. */
async function onDefault(w: World, clientId: string, connect: Partial<ConnectPacket> = {}): Promise<Peer> {
  const peer = new Peer(w.defaultBroker, 5);
  expect((await peer.connect(clientId, "", { password: undefined, ...connect })).reasonCode).toBe(0);
  w.peers.set(clientId, peer);
  return peer;
}

describe("revocations", () => {
  const list = async (w: World) => expectSuccess(await call(w.app, "GET", `${SENSORS}/revocations`, { token: w.tokens.viewer }));

  it("adds jti values repeated or comma-joined, lists them, and removes them either way", async () => {
    const w = await world();
    const t = { token: w.tokens.user };
    expect(expectSuccess(await call(w.app, "POST", `${SENSORS}/revocations?jti=A&jti=B`, t))).toBeNull();
    expect(expectSuccess(await call(w.app, "POST", `${SENSORS}/revocations?jti=C,D&jti=E`, t))).toBeNull();
    expect(await list(w)).toEqual(["A", "B", "C", "D", "E"]);
    expect(w.registry.revocations("acme", "sensors")[0]).toEqual({ jti: "A", revoked_at: "2026-06-01T12:00:00.000000Z" });
    expect(expectSuccess(await call(w.app, "DELETE", `${SENSORS}/revocations?jti=A,C`, t))).toBeNull();
    expect(expectSuccess(await call(w.app, "DELETE", `${SENSORS}/revocations?jti=B&jti=never`, t))).toBeNull();
    expect(await list(w)).toEqual(["D", "E"]);
  });

  it("refuses a request without jti, or with one that is not a credential id, with 400", async () => {
    const w = await world();
    const t = { token: w.tokens.user };
    expectFailure(await call(w.app, "POST", `${SENSORS}/revocations`, t), 400, 1001, /\?jti=A&jti=B or \?jti=A,B/);
    expectFailure(await call(w.app, "DELETE", `${SENSORS}/revocations?jti=,`, t), 400, 1001, /jti/);
    expectFailure(await call(w.app, "POST", `${SENSORS}/revocations?jti=${"x".repeat(200)}`, t), 400, 1001, /not a credential id/);
  });

  it("asks the broker to disconnect the clients holding a revoked jti", async () => {
    const w = await world();
    const broker = w.registry.broker("acme", "sensors");
    const spy = vi.spyOn(broker, "disconnectClients");
    expectSuccess(await call(w.app, "POST", `${SENSORS}/revocations?jti=${w.credential.jti},other`, { token: w.tokens.user }));
    expect(spy).toHaveBeenCalledTimes(1);
    const [match, reasonCode] = spy.mock.calls[0]!;
    expect(reasonCode).toBe(0x98);
    const client = (jti: string) => ({ clientId: "c", username: undefined, protocolVersion: 5 as const, conn: new MemoryDuplex().info, attributes: { [JTI_ATTRIBUTE]: jti } });
    expect(match(client(w.credential.jti))).toBe(true);
    expect(match(client("other"))).toBe(true);
    expect(match(client("someone-else"))).toBe(false);
  });

  it("drops a live MQTT session with DISCONNECT 0x98 when its credential is revoked, refuses it with 0x87, and lets it back when unrevoked", async () => {
    const w = await world();
    const broker = w.registry.broker("acme", "sensors");
    const [other] = await w.registry.issueCredentials("acme", "sensors", { clientIds: ["dev-2"] });
    const peer = new Peer(broker), bystander = new Peer(broker);
    expect((await peer.connect("dev-1", w.credential.token)).reasonCode).toBe(0);
    expect((await bystander.connect("dev-2", other!.token)).reasonCode).toBe(0);
    expectSuccess(await call(w.app, "POST", `${SENSORS}/revocations?jti=${w.credential.jti}`, { token: w.tokens.user }));
    expect(await peer.next("disconnect")).toMatchObject({ reasonCode: 0x98 });
    expect(peer.duplex.closed).toBe(true);
    expect(bystander.duplex.closed).toBe(false);
    expect((await new Peer(broker).connect("dev-1", w.credential.token)).reasonCode).toBe(0x87);
    expectSuccess(await call(w.app, "DELETE", `${SENSORS}/revocations?jti=${w.credential.jti}`, { token: w.tokens.user }));
    expect((await new Peer(broker).connect("dev-1", w.credential.token)).reasonCode).toBe(0);
  });

  it("disconnects a deleted broker's clients with 0x98", async () => {
    const w = await world();
    const peer = new Peer(w.registry.broker("acme", "sensors"));
    expect((await peer.connect("dev-1", w.credential.token)).reasonCode).toBe(0);
    expectSuccess(await call(w.app, "DELETE", SENSORS, { token: w.tokens.user }));
    expect(await peer.next("disconnect")).toMatchObject({ reasonCode: 0x98 });
  });

  it("refuses more than the broker's revocation limit with 400", async () => {
    const w = await world({ registry: { maxRevocationsPerBroker: 2 } });
    expectSuccess(await call(w.app, "POST", `${SENSORS}/revocations?jti=A,B`, { token: w.tokens.user }));
    expectFailure(await call(w.app, "POST", `${SENSORS}/revocations?jti=C`, { token: w.tokens.user }), 400, 1029, /at most 2 revocations/);
  });
});

// ------------------------------------------------------------ API tokens

describe("API tokens", () => {
  it("creates a token whose secret is shown once, lists tokens without secrets, and the token works with its role", async () => {
    const w = await world();
    const created = expectSuccess(await call(w.app, "POST", "tokens", { token: w.tokens.admin, body: { name: "ci", role: "User", namespaces: ["ACME"] } })) as Record<string, unknown>;
    expect(created).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{32}$/), name: "ci", role: "User", namespaces: ["acme"], source: "api", created_on: "2026-06-01T12:00:00.000000Z" });
    const secret = created.value as string;
    expect(secret.startsWith(TOKEN_PREFIX)).toBe(true);
    expect(secret.length).toBeGreaterThanOrEqual(TOKEN_PREFIX.length + 43);
    const listed = expectSuccess(await call(w.app, "GET", "tokens", { token: w.tokens.admin })) as Record<string, unknown>[];
    for (const t of listed) {
      expect(Object.keys(t).sort()).toEqual(["created_on", "id", "name", "namespaces", "role", "source"]);
    }
    expect(JSON.stringify(listed)).not.toContain(secret);
    expectSuccess(await call(w.app, "GET", `${SENSORS}/credentials`, { token: secret }));
    expectFailure(await call(w.app, "GET", "namespaces/other/brokers", { token: secret }), 403);
    expectFailure(await call(w.app, "DELETE", "namespaces/spare", { token: secret }), 403);
  });

  it("keeps only the SHA-256 of each secret in the store", async () => {
    const store = new MemoryTenancyStore();
    const w = await world({ registry: { store } });
    const stored = JSON.stringify(store.load());
    for (const secret of Object.values(w.tokens)) {
      expect(stored).not.toContain(secret);
      expect(stored).toContain(await hashApiToken(secret));
    }
    expect(await hashApiToken("abc")).toBe(createHash("sha256").update("abc").digest("hex"));
  });

  it("stops accepting a deleted token at once, and refuses to delete the last Admin for every namespace", async () => {
    const w = await world();
    const { value, id } = expectSuccess(await call(w.app, "POST", "tokens", { token: w.tokens.admin, body: { name: "temp", role: "Admin" } })) as { value: string; id: string };
    expectSuccess(await call(w.app, "GET", "namespaces", { token: value }));
    expectSuccess(await call(w.app, "DELETE", `tokens/${id}`, { token: w.tokens.admin }));
    expectFailure(await call(w.app, "GET", "namespaces", { token: value }), 401);
    const adminId = w.registry.apiTokens().find((t) => t.source === "generated")!.id;
    expectFailure(await call(w.app, "DELETE", `tokens/${adminId}`, { token: w.tokens.admin }), 400, 1009, /last of its kind/);
    expectFailure(await call(w.app, "GET", `tokens/${"0".repeat(32)}`, { token: w.tokens.admin }), 404, 1004);
  });

  it("refuses a token request with a bad name, role or scope with 400", async () => {
    const w = await world();
    const t = { token: w.tokens.admin };
    expectFailure(await call(w.app, "POST", "tokens", { ...t, body: { role: "Admin" } }), 400, 1001, /^name is required: a name of 1 to 100 characters$/);
    expectFailure(await call(w.app, "POST", "tokens", { ...t, body: { name: "x", role: "Owner" } }), 400, 1001, /role must be one of Admin, User, Viewer/);
    expectFailure(await call(w.app, "POST", "tokens", { ...t, body: { name: "x", role: "User", namespaces: [] } }), 400, 1001, /non-empty list/);
    expectFailure(await call(w.app, "POST", "tokens", { ...t, body: { name: "x", role: "User", namespaces: ["bad_ns"] } }), 400, 1001, /namespace name "bad_ns"/);
    const several = await call(w.app, "POST", "tokens", { ...t, body: { name: "", role: "Owner", namespaces: ["ok", "bad_ns", "9lives"] } });
    expect(several.status).toBe(400);
    expect(several.body.errors.map((e) => e.message)).toEqual([
      'name must be a name of 1 to 100 characters, not the string ""', 'role must be one of Admin, User, Viewer, not "Owner"',
      expect.stringMatching(/^namespace name "bad_ns" may contain only/), expect.stringMatching(/^namespace name "9lives" must start with a letter/),
    ]);
    expectFailure(await call(w.app, "POST", "tokens", { ...t, body: { name: "x", role: "User", secret: "mine" } }), 400, 1001, /unknown field "secret"/);
  });

  it("bootstraps: generates an Admin token once at first start, or takes one from configuration that replaces the last configured one", async () => {
    const registry = await Registry.open();
    const first = await bootstrap(registry);
    expect(first.created).toBe(true);
    expect(first.token).toMatch(/^emq_/);
    expect(await bootstrap(registry)).toEqual({ token: undefined, created: false });
    const app = createAdminApp(registry);
    expectSuccess(await call(app, "GET", "tokens", { token: first.token! }));

    const configured = await Registry.open();
    expect(await bootstrap(configured, { adminToken: "configured-secret-0001" })).toEqual({ token: undefined, created: true });
    expect(await bootstrap(configured, { adminToken: "configured-secret-0001" })).toEqual({ token: undefined, created: false });
    const app2 = createAdminApp(configured);
    expectSuccess(await call(app2, "POST", "namespaces", { token: "configured-secret-0001", body: { name: "acme" } }));
    await bootstrap(configured, { adminToken: "configured-secret-0002" });
    expectFailure(await call(app2, "GET", "namespaces", { token: "configured-secret-0001" }), 401);
    expectSuccess(await call(app2, "GET", "namespaces", { token: "configured-secret-0002" }));
    expect(configured.apiTokens()).toHaveLength(1);
    await expect(bootstrap(configured, { adminToken: "short" })).rejects.toThrow(/16 to 512 printable ASCII characters/);
  });

  it("keeps API tokens, like everything else, across a restart over the same store", async () => {
    const store = new MemoryTenancyStore();
    const w = await world({ registry: { store } });
    const again = createAdminApp(await Registry.open({ store }));
    expect(expectSuccess(await call(again, "GET", "namespaces", { token: w.tokens.user }))).toHaveLength(2);
    expectFailure(await call(again, "GET", "namespaces", { token: w.deleted }), 401);
    const jwt = Object.values(expectSuccess(await call(again, "GET", `${SENSORS}/credentials`, { token: w.tokens.user })) as object)[0] as string;
    expect(isRefusal(await verifyCredential(jwt, w.registry.keys("acme", "sensors"), { audience: "sensors.acme", now: Date.now(), isRevoked: () => false }))).toBe(false);
  });
});

// ---------------------------------------------------- a broker's live state

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString("base64");

describe("a broker's connected clients", () => {
  const list = async (w: World, query = "") => {
    const r = await call(w.app, "GET", `${SENSORS}/clients${query}`, { token: w.tokens.viewer });
    return { clients: expectSuccess(r) as Record<string, unknown>[], info: r.body.result_info! };
  };

  it("lists each connected client with its protocol, transport, address, connect time, keep alive, clean start, expiry, jti and counts", async () => {
    const w = await world();
    w.advance(1_500);
    const five = await online(w, "dev-1", {
      info: { remoteAddress: "192.0.2.10", remotePort: 51234, transport: "wss", serverName: "sensors.acme.localhost" },
      connect: { username: "anything", keepAlive: 60, properties: { sessionExpiryInterval: 3600 } },
    });
    await five.subscribe("a/#", 1);
    await five.subscribe("$share/g/b", 0);
    const [old] = await w.registry.issueCredentials("acme", "sensors", { clientIds: ["dev-2"], expiration: 600 });
    const three = new Peer(sensors(w), 4);
    expect((await three.connect("dev-2", old!.token, { cleanStart: false, keepAlive: 0 })).reasonCode).toBe(0);
    const { clients, info } = await list(w);
    expect(clients).toEqual([
      {
        client_id: "dev-1", username: "anything", protocol_version: "5.0", transport: "wss", remote_address: "192.0.2.10", remote_port: 51234,
        server_name: "sensors.acme.localhost", connected_at: "2026-06-01T12:00:01.500000Z", keep_alive: 60, clean_start: true,
        session_expiry_interval: 3600, jti: w.credential.jti, credential_expires_at: null, subscriptions: 2, inflight: 0, queued: 0, queued_bytes: 0,
      },
      {
        client_id: "dev-2", username: "anything", protocol_version: "3.1.1", transport: "memory", remote_address: "127.0.0.1", remote_port: 50000,
        server_name: null, connected_at: "2026-06-01T12:00:01.500000Z", keep_alive: 0, clean_start: false,
        session_expiry_interval: 7 * 24 * 3600, jti: old!.jti, credential_expires_at: "2026-06-01T12:10:01.000000Z", subscriptions: 0, inflight: 0, queued: 0, queued_bytes: 0,
      },
    ]);
    expect(info).toEqual({ page: 1, per_page: 100, count: 2, total_count: 2, total_pages: 1 });
  });

  it("counts a client's in-flight and queued messages", async () => {
    const w = await world({ registry: { brokerOptions: () => ({ limits: { maximumInflight: 1 } }) } });
    const sub = await online(w, "dev-1");
    await sub.subscribe("t", 1);
    for (let i = 0; i < 3; i++) expectSuccess(await call(w.app, "POST", `${SENSORS}/publish`, { token: w.tokens.user, body: { topic: "t", payload: "xy", qos: 1 } }));
    const { clients } = await list(w);
    expect(clients[0]).toMatchObject({ inflight: 1, queued: 2, queued_bytes: 4 });
  });

  it("pages through clients sorted by client id, with Cloudflare's result_info, and filters by client_id", async () => {
    const w = await world();
    for (const id of ["c-5", "c-1", "c-4", "c-2", "c-3"]) await online(w, id);
    const page2 = await list(w, "?per_page=2&page=2");
    expect(page2.clients.map((c) => c.client_id)).toEqual(["c-3", "c-4"]);
    expect(page2.info).toEqual({ page: 2, per_page: 2, count: 2, total_count: 5, total_pages: 3 });
    const past = await list(w, "?per_page=2&page=9");
    expect(past.clients).toEqual([]);
    expect(past.info).toEqual({ page: 9, per_page: 2, count: 0, total_count: 5, total_pages: 3 });
    expect((await list(w, "?client_id=c-4")).clients.map((c) => c.client_id)).toEqual(["c-4"]);
    expect((await list(w, "?client_id=nobody")).clients).toEqual([]);
    const bad = async (query: string, message: RegExp) =>
      expectFailure(await call(w.app, "GET", `${SENSORS}/clients${query}`, { token: w.tokens.viewer }), 400, 1001, message);
    await bad("?page=0", /page must be a whole number of at least 1/);
    await bad("?page=first", /page must be a whole number of at least 1 \(the first page is 1\), not "first"/);
    await bad("?per_page=0", /per_page must be a whole number from 1 to 1000, not 0/);
    await bad("?per_page=5000", /per_page must be a whole number from 1 to 1000/);
  });

  it("disconnects a 5.0 client with DISCONNECT 0x98 and keeps its session, or discards it with ?session=discard", async () => {
    const w = await world();
    const t = { token: w.tokens.user };
    const peer = await online(w, "dev-1", { connect: { properties: { sessionExpiryInterval: 600 } } });
    await peer.subscribe("a/#");
    expect(expectSuccess(await call(w.app, "DELETE", `${SENSORS}/clients/dev-1`, t))).toEqual({ client_id: "dev-1", reason_code: 0x98, session: "kept" });
    expect(await peer.next("disconnect")).toMatchObject({ reasonCode: 0x98, properties: { reasonString: "an administrator disconnected the client" } });
    expect(peer.duplex.closed).toBe(true);
    expect((await list(w)).clients).toEqual([]);
    const sessions = expectSuccess(await call(w.app, "GET", `${SENSORS}/sessions`, t)) as Record<string, unknown>[];
    expect(sessions).toMatchObject([{ client_id: "dev-1", connected: false, topic_filters: ["a/#"] }]);
    expectFailure(await call(w.app, "DELETE", `${SENSORS}/clients/dev-1`, t), 404, 1004, /^no client "dev-1" is connected to broker "sensors"$/);

    const back = new Peer(sensors(w));
    expect(await back.connect("dev-1", w.credential.token, { cleanStart: false, properties: { sessionExpiryInterval: 600 } })).toMatchObject({ reasonCode: 0, sessionPresent: true });
    expect(expectSuccess(await call(w.app, "DELETE", `${SENSORS}/clients/dev-1?session=discard`, t))).toEqual({ client_id: "dev-1", reason_code: 0x98, session: "discarded" });
    expect(await back.next("disconnect")).toMatchObject({ reasonCode: 0x98 });
    expect(expectSuccess(await call(w.app, "GET", `${SENSORS}/sessions`, t))).toEqual([]);
    expect(sensors(w).subscriptionCount).toBe(0);
  });

  it("closes a 3.1.1 client, which has no DISCONNECT from the server, and finds client ids with / or spaces when percent-encoded", async () => {
    const w = await world();
    const old = await online(w, "dev/2 x", { version: 4 });
    expectFailure(await call(w.app, "DELETE", `${SENSORS}/clients/dev-1?session=wipe`, { token: w.tokens.user }), 400, 1001, /session must be "keep" .* or "discard"/);
    expectSuccess(await call(w.app, "DELETE", `${SENSORS}/clients/${encodeURIComponent("dev/2 x")}`, { token: w.tokens.user }));
    expect(old.duplex.closed).toBe(true);
    expect(old.drain().filter((p) => p.type === "disconnect")).toEqual([]);
    expectFailure(await call(w.app, "DELETE", `${SENSORS}/clients/nobody`, { token: w.tokens.user }), 404, 1004);
  });
});

describe("a broker's sessions and subscriptions", () => {
  it("lists every session, connected or not, with the expiry time of offline ones, and filters by client_id and connected", async () => {
    const w = await world();
    const gone = await online(w, "gone", { connect: { properties: { sessionExpiryInterval: 90 } } });
    await gone.subscribe("z/#");
    await gone.subscribe("a");
    await online(w, "here");
    gone.duplex.close();
    const sessions = expectSuccess(await call(w.app, "GET", `${SENSORS}/sessions`, { token: w.tokens.viewer }));
    expect(sessions).toEqual([
      { client_id: "gone", connected: false, expiry_interval: 90, never_expires: false, expires_at: "2026-06-01T12:01:30.000000Z", subscriptions: 2, topic_filters: ["a", "z/#"], inflight: 0, queued: 0, queued_bytes: 0, will_pending: false },
      { client_id: "here", connected: true, expiry_interval: 0, never_expires: false, expires_at: null, subscriptions: 0, topic_filters: [], inflight: 0, queued: 0, queued_bytes: 0, will_pending: false },
    ]);
    const only = async (query: string) => (expectSuccess(await call(w.app, "GET", `${SENSORS}/sessions${query}`, { token: w.tokens.viewer })) as { client_id: string }[]).map((s) => s.client_id);
    expect(await only("?connected=false")).toEqual(["gone"]);
    expect(await only("?connected=true")).toEqual(["here"]);
    expect(await only("?client_id=here")).toEqual(["here"]);
    expect(await only("?per_page=1&page=2")).toEqual(["here"]);
    expectFailure(await call(w.app, "GET", `${SENSORS}/sessions?connected=maybe`, { token: w.tokens.viewer }), 400, 1001, /connected must be true or false, not "maybe"/);
  });

  it("ends an offline session, publishing its pending will, ends a connected one with DISCONNECT 0x98, and answers 404 for a client id with no session", async () => {
    const w = await world();
    const t = { token: w.tokens.user };
    const watcher = await online(w, "watcher");
    await watcher.subscribe("wills/#", 0);
    const gone = await online(w, "gone", {
      connect: { properties: { sessionExpiryInterval: 3600 }, will: { topic: "wills/gone", payload: enc.encode("bye"), qos: 0, retain: false, properties: { willDelayInterval: 600 } } },
    });
    await gone.subscribe("z/#");
    gone.duplex.close();
    expect(expectSuccess(await call(w.app, "GET", `${SENSORS}/sessions?client_id=gone`, t))).toMatchObject([{ connected: false, will_pending: true }]);
    expect(watcher.drain().filter((p) => p.type === "publish")).toEqual([]);

    expect(expectSuccess(await call(w.app, "DELETE", `${SENSORS}/sessions/gone`, t))).toEqual({ client_id: "gone", was_connected: false, session: "discarded" });
    // The session ended, so its will went at once instead of after its delay [MQTT-3.1.3-9].
    expect(await watcher.next("publish")).toMatchObject({ topic: "wills/gone" });
    expect(expectSuccess(await call(w.app, "GET", `${SENSORS}/sessions?client_id=gone`, t))).toEqual([]);
    expect(sensors(w).subscriptions("gone")).toEqual([]);

    const here = await online(w, "here", { connect: { properties: { sessionExpiryInterval: 3600 } } });
    expect(expectSuccess(await call(w.app, "DELETE", `${SENSORS}/sessions/here`, t))).toEqual({ client_id: "here", was_connected: true, session: "discarded" });
    expect(await here.next("disconnect")).toMatchObject({ reasonCode: 0x98 });
    expect(expectSuccess(await call(w.app, "GET", `${SENSORS}/sessions?client_id=here`, t))).toEqual([]);

    expectFailure(await call(w.app, "DELETE", `${SENSORS}/sessions/nobody`, t), 404, 1004, /^broker "sensors" has no session for client "nobody"$/);
    expectFailure(await call(w.app, "DELETE", `${SENSORS}/sessions/watcher`, { token: w.tokens.viewer }), 403);
  });

  it("counts queued messages of an offline session", async () => {
    const w = await world();
    const p = await online(w, "dev-1", { connect: { properties: { sessionExpiryInterval: 90 } } });
    await p.subscribe("t", 1);
    p.duplex.close();
    expectSuccess(await call(w.app, "POST", `${SENSORS}/publish`, { token: w.tokens.user, body: { topic: "t", payload: "abc", qos: 1 } }));
    expect(expectSuccess(await call(w.app, "GET", `${SENSORS}/sessions`, { token: w.tokens.viewer }))).toMatchObject([{ client_id: "dev-1", connected: false, queued: 1, queued_bytes: 3, inflight: 0 }]);
  });

  it("lists every subscription with its options, and filters by client_id, by a topic its filter matches, or by the exact filter", async () => {
    const w = await world();
    const a = await online(w, "a");
    await a.subscribe("x/+/z", 2, { noLocal: true, retainAsPublished: true, retainHandling: 2, id: 42 });
    await a.subscribe("y", 0);
    const b = await online(w, "b");
    await b.subscribe("$share/workers/x/#", 1);
    const get = async (query: string) => expectSuccess(await call(w.app, "GET", `${SENSORS}/subscriptions${query}`, { token: w.tokens.viewer })) as Record<string, unknown>[];
    expect(await get("")).toEqual([
      { client_id: "a", topic_filter: "x/+/z", filter: "x/+/z", share_group: null, qos: 2, no_local: true, retain_as_published: true, retain_handling: 2, subscription_identifier: 42 },
      { client_id: "a", topic_filter: "y", filter: "y", share_group: null, qos: 0, no_local: false, retain_as_published: false, retain_handling: 0, subscription_identifier: null },
      { client_id: "b", topic_filter: "$share/workers/x/#", filter: "x/#", share_group: "workers", qos: 1, no_local: false, retain_as_published: false, retain_handling: 0, subscription_identifier: null },
    ]);
    const pairs = async (query: string) => (await get(query)).map((s) => `${s.client_id} ${s.topic_filter}`);
    expect(await pairs("?client_id=b")).toEqual(["b $share/workers/x/#"]);
    expect(await pairs("?topic=x/1/z")).toEqual(["a x/+/z", "b $share/workers/x/#"]);
    expect(await pairs("?topic=x/1")).toEqual(["b $share/workers/x/#"]);
    expect(await pairs("?topic_filter=x/+/z")).toEqual(["a x/+/z"]); // a literal + filling a level is the wildcard
    expect(await pairs("?topic_filter=%24share%2Fworkers%2Fx%2F%23")).toEqual(["b $share/workers/x/#"]);
    expect(await pairs("?client_id=a&topic=y")).toEqual(["a y"]);
    expect(await pairs("?per_page=2&page=2")).toEqual(["b $share/workers/x/#"]);
    expectFailure(await call(w.app, "GET", `${SENSORS}/subscriptions?topic=x/+/z`, { token: w.tokens.viewer }), 400, 1001, /topic "x\/\+\/z" must be a topic name without wildcards; .* use topic_filter/);
  });
});

describe("a broker's retained messages", () => {
  const get = async (w: World, query = "") => expectSuccess(await call(w.app, "GET", `${SENSORS}/retained${query}`, { token: w.tokens.viewer })) as Record<string, unknown>[];

  it("lists retained messages sorted by topic, with the payload as base64, as text when it is UTF-8, its properties and times", async () => {
    const w = await world();
    retain(w, "b/text", "héllo", {
      qos: 1, expiresAt: T0 + 60_000,
      properties: { contentType: "text/plain", payloadFormatIndicator: 1, responseTopic: "r/1", correlationData: new Uint8Array([1, 2]), userProperties: [["k", "v"]] },
    });
    w.advance(10_000);
    retain(w, "a/bin", new Uint8Array([0xff, 0x00, 0xfe]));
    retain(w, "$SYS/x", "sys");
    expect(await get(w)).toEqual([
      { topic: "a/bin", payload: "/wD+", payload_utf8: null, qos: 0, properties: {}, stored_at: "2026-06-01T12:00:10.000000Z", expires_at: null },
      {
        topic: "b/text", payload: b64("héllo"), payload_utf8: "héllo", qos: 1,
        properties: { contentType: "text/plain", payloadFormatIndicator: 1, messageExpiryInterval: 50, responseTopic: "r/1", correlationData: "AQI=", userProperties: [["k", "v"]] },
        stored_at: "2026-06-01T12:00:00.000000Z", expires_at: "2026-06-01T12:01:00.000000Z",
      },
    ]);
    expect((await get(w, "?topic=b/text")).map((m) => m.topic)).toEqual(["b/text"]);
    expect((await get(w, "?topic=+/bin")).map((m) => m.topic)).toEqual(["a/bin"]); // a literal + filling a level is the wildcard
    expect((await get(w, "?topic=%24SYS/%23")).map((m) => m.topic)).toEqual(["$SYS/x"]);
    expect((await get(w, "?per_page=1&page=2")).map((m) => m.topic)).toEqual(["b/text"]);
    w.advance(60_000);
    expect((await get(w)).map((m) => m.topic)).toEqual(["a/bin"]); // expired: no longer listed
  });

  it("refuses a topic query that is not a topic filter, or is a $share filter, with 400", async () => {
    const w = await world();
    const bad = async (method: string, query: string, message: RegExp) =>
      expectFailure(await call(w.app, method, `${SENSORS}/retained${query}`, { token: w.tokens.user }), 400, 1001, message);
    await bad("GET", "?topic=a/%23/b", /topic "a\/#\/b" is not a valid topic filter/);
    await bad("GET", "?topic=", /topic "" is not a valid topic filter: it is empty/);
    await bad("DELETE", "?topic=a%2B", /topic "a\+" is not a valid topic filter/);
    await bad("DELETE", "?topic=%24share/g/%23", /shared subscription filter/);
    await bad("DELETE", "", /\?topic=<exact topic> or \?topic=<filter>/);
  });

  it("deletes the retained messages of an exact topic or a filter, in the store too, without sending subscribers anything", async () => {
    const store = new MemoryStore();
    const w = await world({ registry: { brokerOptions: () => ({ store }) } });
    for (const t of ["a/1", "a/2", "b/1", "$SYS/keep"]) retain(w, t, "v");
    const sub = await online(w, "dev-1");
    await sub.subscribe("#");
    sub.drain(); // the retained messages a new subscription gets
    const del = async (query: string) => expectSuccess(await call(w.app, "DELETE", `${SENSORS}/retained${query}`, { token: w.tokens.user }));
    expect(await del("?topic=a/1")).toEqual({ deleted: 1 });
    expect([...store.retained.keys()].sort()).toEqual(["$SYS/keep", "a/2", "b/1"]);
    expect(await del("?topic=nothing/here")).toEqual({ deleted: 0 });
    expect(await del("?topic=%23")).toEqual({ deleted: 2 });
    expect([...store.retained.keys()]).toEqual(["$SYS/keep"]);
    expect((await get(w, "?topic=%24SYS/%23")).map((m) => m.topic)).toEqual(["$SYS/keep"]);
    expect(sub.drain()).toEqual([]);
  });
});

describe("publishing over HTTP", () => {
  const publish = (w: World, body: unknown, token = w.tokens.user) => call(w.app, "POST", `${SENSORS}/publish`, { token, body });

  it("delivers a message to subscribers, with its QoS, properties and the number of subscribers it reached", async () => {
    const w = await world();
    const s1 = await online(w, "s1");
    await s1.subscribe("room/+/temp", 1);
    const s2 = await online(w, "s2");
    await s2.subscribe("room/#", 0);
    const result = expectSuccess(await publish(w, {
      topic: "room/1/temp", payload: "21.5", qos: 1,
      properties: {
        contentType: "text/plain", payloadFormatIndicator: 1, messageExpiryInterval: 60, responseTopic: "reply/here",
        correlationData: b64("id-1"), userProperties: [["unit", "celsius"], ["unit", "again"]],
      },
    }));
    expect(result).toEqual({ matched: 2 });
    const got = await s1.next("publish");
    expect(got).toMatchObject({ topic: "room/1/temp", qos: 1, retain: false });
    expect(new TextDecoder().decode(got.payload)).toBe("21.5");
    expect(got.properties).toMatchObject({
      contentType: "text/plain", payloadFormatIndicator: 1, messageExpiryInterval: 60, responseTopic: "reply/here",
      correlationData: enc.encode("id-1"), userProperties: [["unit", "celsius"], ["unit", "again"]],
    });
    expect(await s2.next("publish")).toMatchObject({ topic: "room/1/temp", qos: 0 });
    expect(expectSuccess(await publish(w, { topic: "nobody/listens", payload: "" }))).toEqual({ matched: 0 });
  });

  it("takes a base64 payload, and keeps a retained message that a later subscriber receives, until an empty retained payload clears it", async () => {
    const w = await world();
    expectSuccess(await publish(w, { topic: "cfg/a", payload: b64(new Uint8Array([0, 1, 2, 255])), encoding: "base64", retain: true, qos: 2 }));
    const listed = expectSuccess(await call(w.app, "GET", `${SENSORS}/retained`, { token: w.tokens.viewer })) as Record<string, unknown>[];
    expect(listed).toMatchObject([{ topic: "cfg/a", payload: "AAEC/w==", payload_utf8: null, qos: 2 }]);
    const late = await online(w, "late");
    await late.subscribe("cfg/#", 2);
    const got = await late.next("publish");
    expect(got).toMatchObject({ topic: "cfg/a", retain: true });
    expect([...got.payload]).toEqual([0, 1, 2, 255]);
    expectSuccess(await publish(w, { topic: "cfg/a", payload: "", retain: true }));
    expect(expectSuccess(await call(w.app, "GET", `${SENSORS}/retained`, { token: w.tokens.viewer }))).toEqual([]);
  });

  it("holds each subscriber to its credential's topicAcl", async () => {
    const w = await world();
    const narrow = await online(w, "narrow", { topicAcl: "sub:a/#" });
    expect((await narrow.subscribe("#")).reasonCodes).toEqual([0x87]);
    expect((await narrow.subscribe("a/#")).reasonCodes).toEqual([0]);
    const wide = await online(w, "wide");
    await wide.subscribe("#");
    expectSuccess(await publish(w, { topic: "b/x", payload: "secret" }));
    expect(await wide.next("publish")).toMatchObject({ topic: "b/x" });
    expectSuccess(await publish(w, { topic: "a/x", payload: "open" }));
    expect(await narrow.next("publish")).toMatchObject({ topic: "a/x" });
    expect(narrow.drain()).toEqual([]);
  });

  it("answers only once the store has committed the message", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const store = Object.assign(new MemoryStore(), { saveRetained: () => gate });
    const w = await world({ registry: { brokerOptions: () => ({ store }) } });
    let answered = false;
    const pending = publish(w, { topic: "r", payload: "1", retain: true }).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(answered).toBe(false);
    release();
    expect(expectSuccess(await pending)).toEqual({ matched: 0 });
  });

  it("refuses a body that breaks a rule with 400 naming the field and the fix", async () => {
    const w = await world({ registry: { brokerOptions: () => ({ limits: { maximumTopicLevels: 4, maximumPacketSize: 1000 } }) } });
    const bad = async (body: unknown, message: RegExp, code = 1001) => expectFailure(await publish(w, body), 400, code, message);
    await bad({ payload: "x" }, /^topic is required: a topic name such as "sensors\/room-1"$/);
    await bad({ topic: 5, payload: "x" }, /^topic must be a topic name such as "sensors\/room-1", not the number 5$/);
    await bad({ topic: "", payload: "x" }, /^topic must not be empty/);
    await bad({ topic: "a/+/b", payload: "x" }, /contains a wildcard \(\+ or #\); publish to a topic name, not a filter/);
    await bad({ topic: "a/#", payload: "x" }, /contains a wildcard/);
    await bad({ topic: "$SYS/broker/uptime", payload: "x" }, /starts with "\$": such topics \(\$SYS\) belong to the server/);
    await bad({ topic: "a\u0000b", payload: "x" }, /topic cannot be sent over MQTT: it contains U\+0000/);
    await bad({ topic: "a/b/c/d/e", payload: "x" }, /topic breaks this broker's limits: topic deeper than 4 levels/);
    await bad({ topic: "t" }, /^payload is required: a string/);
    await bad({ topic: "t", payload: { v: 1 } }, /^payload must be a string: UTF-8 text, or base64 .*, not an object$/);
    await bad({ topic: "t", payload: "x".repeat(1001) }, /payload is 1001 bytes; this broker takes messages of at most 1000 bytes/);
    await bad({ topic: "t", payload: "%%%", encoding: "base64" }, /^payload is not valid base64; encode the bytes as standard base64/);
    await bad({ topic: "t", payload: "x", encoding: "hex" }, /^encoding must be one of "utf8", "base64", not the string "hex"$/);
    await bad({ topic: "t", payload: "x", qos: 3 }, /^qos must be one of 0, 1, 2, not the number 3$/);
    await bad({ topic: "t", payload: "x", qos: "1" }, /^qos must be one of 0, 1, 2, not the string "1"$/);
    await bad({ topic: "t", payload: "x", retain: "yes" }, /^retain must be true or false, not the string "yes"$/);
    await bad({ topic: "t", payload: "x", colour: "red" }, /^unknown field "colour" in a publish request; it takes topic, payload, encoding, qos, retain, properties$/);
    await bad({ topic: "t", payload: "x", properties: [] }, /^properties must be an object/);
    await bad({ topic: "t", payload: "x", properties: { topicAlias: 1 } }, /^unknown field "topicAlias" in properties; it takes contentType, /);
    await bad({ topic: "t", payload: "x", properties: { contentType: 1 } }, /^properties.contentType must be a MIME type string/);
    await bad({ topic: "t", payload: "x", properties: { payloadFormatIndicator: 2 } }, /^properties.payloadFormatIndicator must be one of 0, 1/);
    await bad({ topic: "t", payload: "/w==", encoding: "base64", properties: { payloadFormatIndicator: 1 } }, /payloadFormatIndicator is 1 \(UTF-8 text\) but the payload is not well-formed UTF-8; send 0 for bytes/);
    await bad({ topic: "t", payload: "x", properties: { messageExpiryInterval: -1 } }, /^properties.messageExpiryInterval must be a whole number from 0 to 4294967295, not the number -1$/);
    await bad({ topic: "t", payload: "x", properties: { messageExpiryInterval: 1.5 } }, /messageExpiryInterval must be a whole number/);
    await bad({ topic: "t", payload: "x", properties: { responseTopic: "r/#" } }, /^properties.responseTopic "r\/#" contains a wildcard/);
    await bad({ topic: "t", payload: "x", properties: { correlationData: "not base64!" } }, /^properties.correlationData is not valid base64/);
    await bad({ topic: "t", payload: "x", properties: { userProperties: { k: "v" } } }, /^properties.userProperties must be an array of \[name, value\] string pairs/);
    await bad({ topic: "t", payload: "x", properties: { userProperties: [["k", 1]] } }, /^properties.userProperties\[0\]\[1\] must be a string, not the number 1$/);
    expectFailure(await call(w.app, "POST", `${SENSORS}/publish`, { token: w.tokens.user, raw: "topic=t" }), 400, 1001, /not valid JSON/);
  });

  it("lists every rule a publish breaks at once, each with its own code, not only the first", async () => {
    const w = await world({ registry: { brokerOptions: () => ({ limits: { maximumPacketSize: 1000 }, features: { maximumQoS: 1 } }) } });
    const r = await publish(w, { topic: "a/+/b", payload: "x".repeat(1001), qos: 2, properties: { correlationData: "not base64!", responseTopic: "r/#" } });
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual([
      { code: 1001, message: expect.stringMatching(/^topic "a\/\+\/b" contains a wildcard/) },
      { code: 1001, message: "payload is 1001 bytes; this broker takes messages of at most 1000 bytes" },
      { code: 1015, message: expect.stringMatching(/^qos 2 is above this broker's maximum QoS 1/) },
      { code: 1001, message: expect.stringMatching(/^properties.responseTopic "r\/#" contains a wildcard/) },
      { code: 1001, message: expect.stringMatching(/^properties.correlationData is not valid base64/) },
    ]);
    expect(sensors(w).retainedMessages()).toEqual([]);
  });

  it("refuses QoS above the broker's maximum, or retain where retained messages are off, as not supported", async () => {
    const w = await world({ registry: { brokerOptions: () => ({ features: { maximumQoS: 1, retainAvailable: false } }) } });
    expectFailure(await publish(w, { topic: "t", payload: "x", qos: 2 }), 400, 1015, /qos 2 is above this broker's maximum QoS 1/);
    expectFailure(await publish(w, { topic: "t", payload: "x", retain: true }), 400, 1015, /does not keep retained messages/);
  });
});

describe("request validation on Cloudflare's routes", () => {
  it("refuses unknown fields inside on_publish and a broker name that is not a string with 400", async () => {
    const w = await world();
    const t = { token: w.tokens.admin };
    expectFailure(await call(w.app, "POST", "namespaces/acme/brokers", { ...t, body: { name: "n", on_publish: { url: "https://x.example", secret: "s" } } }), 400, 1001, /unknown field "secret" in on_publish; it takes url/);
    expectFailure(await call(w.app, "PATCH", SENSORS, { ...t, body: { on_publish: "https://x.example" } }), 400, 1001, /on_publish must be an object \{"url": "https:\/\/..."\} or null, not the string/);
    expectFailure(await call(w.app, "PATCH", SENSORS, { ...t, body: { name: 5 } }), 400, 1001, /name must be a string \(the broker's own name\), not the number 5/);
    expectFailure(await call(w.app, "POST", "namespaces", { ...t, raw: "null" }), 400, 1001, /must be a JSON object, not null/);
  });

  it("answers 404 for an unknown broker on the live-state routes, before looking at the request", async () => {
    const w = await world();
    for (const [method, path] of [
      ["GET", "clients?per_page=0"], ["DELETE", "clients/x?session=bad"], ["GET", "sessions"], ["GET", "subscriptions?topic=%23"],
      ["GET", "retained?topic=a/%23/b"], ["DELETE", "retained"], ["POST", "publish"],
    ] as const) {
      expectFailure(await call(w.app, method, `namespaces/acme/brokers/ghost/${path}`, { token: w.tokens.admin, body: method === "POST" ? { bad: 1 } : undefined }), 404, 1004, /ghost/);
    }
  });
});

// ------------------------------------------------------- OpenAPI document

describe("the OpenAPI document", () => {
  const doc = adminOpenApiDocument(new Registry()) as unknown as {
    openapi: string;
    paths: Record<string, Record<string, any>>;
    components: Record<string, Record<string, any>>;
  };
  const METHODS = ["get", "post", "put", "patch", "delete", "head", "options"];
  const operations = () => Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m] !== undefined).map((m) => ({ path, method: m.toUpperCase(), op: item[m], item })));

  it("is served without a token at the API's base path and at /openapi.json", async () => {
    const w = await world();
    for (const path of [`${BASE}/openapi.json`, "/openapi.json", "/client/v4/accounts/any/pubsub/openapi.json"]) {
      for (const caller of CALLERS) {
        const { token, auth } = authFor(w, caller);
        const headers: Record<string, string> = token !== undefined ? { authorization: `Bearer ${token}` } : auth !== undefined ? { authorization: auth } : {};
        const res = await w.app.request(path, { headers });
        expect(res.status, `${path} ${caller}`).toBe(200);
        expect(res.headers.get("content-type")).toMatch(/^application\/json/);
        expect(await res.json()).toEqual(JSON.parse(JSON.stringify(doc)));
      }
    }
    expect(doc.openapi).toBe("3.1.0");
  });

  it("documents every route the app serves, and no route it does not", () => {
    const w = { app: createAdminApp(new Registry()) };
    const served = new Set(w.app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path.replace(/:([A-Za-z_]+)/g, "{$1}")}`));
    const documented = new Set(operations().map((o) => `${o.method} ${o.path}`));
    expect([...served].sort()).toEqual([...documented].sort());
    expect(served.has(`GET ${API_BASE.replace(":account_id", "{account_id}")}/openapi.json`)).toBe(true);
  });

  it("gives the role matrix's roles for every route it tests", () => {
    const want = { any: ["Admin", "User", "Viewer"], user: ["Admin", "User"], admin: ["Admin"], superadmin: ["Admin (every namespace)"] };
    for (const [name, route] of Object.entries(ROUTES)) {
      const [method, path] = name.split(" ") as [string, string];
      const full = `${BASE.replace("0123456789abcdef0123456789abcdef", "{account_id}")}${path.replace(/:([A-Za-z_]+)/g, "{$1}")}`;
      const op = doc.paths[full]?.[method.toLowerCase()];
      expect(op, name).toBeDefined();
      expect(op["x-edgemq-roles"], name).toEqual(want[route.need]);
    }
    // And the matrix covers every authenticated route.
    const matrix = new Set(Object.keys(ROUTES));
    for (const o of operations()) {
      if (o.op.security?.length === 0) continue;
      const name = `${o.method} ${o.path.replace("/client/v4/accounts/{account_id}/pubsub", "").replace(/\{([A-Za-z_]+)\}/g, ":$1")}`;
      expect(matrix.has(name), `${name} is not in the role matrix`).toBe(true);
    }
  });

  it("declares every path parameter, has unique operation ids, error responses and the bearer scheme, and every $ref resolves", () => {
    const ids = new Set<string>();
    const resolve = (ref: string) => ref.replace(/^#\//, "").split("/").reduce<any>((node, key) => node?.[key], doc);
    const deref = (p: any) => (p.$ref ? resolve(p.$ref) : p);
    for (const { path, method, op, item } of operations()) {
      expect(ids.has(op.operationId), op.operationId).toBe(false);
      ids.add(op.operationId);
      const declared = [...(item.parameters ?? []), ...(op.parameters ?? [])].map(deref);
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      expect(declared.filter((p: any) => p.in === "path").map((p: any) => p.name).sort(), `${method} ${path}`).toEqual([...inPath].sort());
      for (const p of declared) if (p.in === "path") expect(p.required).toBe(true);
      expect(op.responses["200"], `${method} ${path}`).toBeDefined();
      if (op.security?.length !== 0) {
        for (const code of ["400", "401", "403"]) expect(op.responses[code], `${method} ${path} ${code}`).toBeDefined();
      }
      if (path.includes("{namespace}")) expect(op.responses["404"], `${method} ${path} 404`).toBeDefined();
      if (["POST", "PATCH"].includes(method) && op.requestBody) expect(op.responses["413"]).toBeDefined();
    }
    expect(doc.components.securitySchemes!.apiToken).toMatchObject({ type: "http", scheme: "bearer" });
    const refs: string[] = [];
    const walk = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node !== null && typeof node === "object") {
        for (const [k, v] of Object.entries(node)) {
          if (k === "$ref") refs.push(v as string);
          else walk(v);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(50);
    for (const r of new Set(refs)) expect(resolve(r), r).toBeDefined();
  });

  it("describes the fields the routes answer with", async () => {
    const w = await world();
    await online(w, "dev-1");
    retain(w, "a", "v");
    const schemaKeys = (name: string) => Object.keys(doc.components.schemas![name].properties).sort();
    const first = async (path: string) => Object.keys((expectSuccess(await call(w.app, "GET", `${SENSORS}/${path}`, { token: w.tokens.viewer })) as object[])[0]!).sort();
    // `node` is documented, and answered only by a cluster's nodes (test/cluster/admin-view.test.ts).
    const unclustered = (name: string) => schemaKeys(name).filter((k) => k !== "node");
    expect(schemaKeys("Client")).toContain("node");
    expect(await first("clients")).toEqual(unclustered("Client"));
    expect(await first("sessions")).toEqual(unclustered("Session"));
    expect(await first("retained")).toEqual(schemaKeys("RetainedMessage"));
    await w.peers.get("dev-1")!.subscribe("x");
    expect(await first("subscriptions")).toEqual(unclustered("Subscription"));
    const broker = expectSuccess(await call(w.app, "GET", SENSORS, { token: w.tokens.viewer })) as object;
    expect(Object.keys(broker).every((k) => schemaKeys("Broker").includes(k))).toBe(true);
    expect(Object.keys(expectSuccess(await call(w.app, "GET", "namespaces/acme", { token: w.tokens.viewer })) as object).sort()).toEqual(schemaKeys("Namespace"));
  });
});
