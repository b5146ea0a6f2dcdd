import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import {
  type ApiTokenRecord, type BrokerRecord, type BrokerUpdate, limitsJson, type NamespaceRecord, type NewBroker,
  normalizeName, type Registry, TenancyError, type TenancyErrorKind,
} from "@edgemq/tenancy";
import { topicMatches } from "@edgemq/core";
import { ReasonCode } from "@edgemq/core/codec";
import {
  byString, checkQueryFilter, checkQueryTopic, clientJson, parsePublish, retainedJson, sessionJson, subscriptionJson,
} from "./broker-data.ts";
import { AuthFailureLimiter } from "./auth-failures.ts";
import { ApiError, ErrorCode, failure, invalid, type ResultInfo, success } from "./envelope.ts";
import { OPENAPI_DOCUMENT } from "./openapi.ts";
import { adminCors } from "./cors.ts";
import { allowedMethods } from "./method-not-allowed.ts";
import { adminSecurityHeaders } from "./security-headers.ts";
import { boolParam, filterParam, intParam, jtiParams, paginate, pageParams, topicAclParam } from "./query.ts";
import { inScope, type Permission, PERMISSION_WORDS, ROLE_PERMISSIONS } from "./roles.ts";
import { authenticateApiToken, createApiToken, isSuperAdmin, type NewApiToken } from "./tokens.ts";
import { allowOnly, type Body, isObject, kind, optionalBool, parseBody } from "./validate.ts";

/** Where the API is mounted: Cloudflare's base path, so scripts need only their host changed. */
export const API_BASE = "/client/v4/accounts/:account_id/pubsub";

/** How to build the admin API. */
export interface AdminOptions {
  /** When set, only this account id is served (others get 404); any account id is accepted otherwise. */
  accountId?: string;
  /** The port in each broker's `endpoint` (8883, Cloudflare's MQTT over TLS port). */
  endpointPort?: number;
  /** The scheme in each broker's `endpoint` (`mqtts`). */
  endpointScheme?: string;
  /** Largest request body (bytes); 64 KiB by default. */
  maxBodySize?: number;
  /** Called with an unexpected error before the 500 answer; console.error by default. */
  onError?(error: unknown): void;
  /** Counts failed token checks per client address (429 past its limit); a new one with the defaults otherwise. */
  authFailures?: AuthFailureLimiter;
  /** Browser origins allowed by CORS (`https://console.example.com`, or `*` for any); none, no CORS headers at all. */
  corsOrigins?: string[];
}

/**
 * What the runtime's HTTP server tells the app about a request, as hono's
 * env (`app.fetch(request, bindings)`): never read from the request itself,
 * so a client cannot choose its address with a header such as X-Forwarded-For.
 */
export interface AdminBindings {
  /** The TCP peer's address; failures without one share a single count. */
  remoteAddress?: string;
}

/** What a request carries once authenticated. */
export type AdminEnv = { Bindings: AdminBindings | undefined; Variables: { token: ApiTokenRecord } };

const STATUS: Record<TenancyErrorKind, [400 | 404 | 409, number]> = {
  invalid: [400, ErrorCode.Invalid],
  not_found: [404, ErrorCode.NotFound],
  conflict: [400, ErrorCode.Conflict],
  not_empty: [409, ErrorCode.NotEmpty],
  limit: [400, ErrorCode.Limit],
  unsupported: [400, ErrorCode.Unsupported],
};

/** A namespace as the API shows it. */
export function namespaceJson(n: NamespaceRecord) {
  return { id: n.id, name: n.name, description: n.description, created_on: n.created_on, modified_on: n.modified_on };
}

/** An API token as the API lists it: never its secret or hash. */
export function tokenJson(t: ApiTokenRecord) {
  return { id: t.id, name: t.name, role: t.role, namespaces: t.namespaces, source: t.source, created_on: t.created_on };
}

function params(c: Context<AdminEnv>): Record<string, string | undefined> {
  return c.req.param() as Record<string, string | undefined>;
}

async function readBody(c: Context<AdminEnv>): Promise<Body> {
  return parseBody(await c.req.text());
}

// on_publish is {"url": "https://...", "fail_open": false} (or null, or {"url": null} to remove the hook).
function checkOnPublishShape(body: Body): void {
  const v = body.on_publish;
  if (v === undefined || v === null) return;
  if (!isObject(v)) throw invalid(`on_publish must be an object {"url": "https://..."} or null, not ${kind(v)}`);
  allowOnly(v, ["url", "fail_open"], "on_publish");
  optionalBool(v.fail_open, "on_publish.fail_open");
}

// authType and auth_type name the same field (the docs and wrangler disagreed); both may be sent if they agree.
function authTypeOf(body: Record<string, unknown>): unknown {
  const a = body.authType, b = body.auth_type;
  if (a !== undefined && b !== undefined && String(a).toUpperCase() !== String(b).toUpperCase()) {
    throw invalid(`authType ${JSON.stringify(a)} and auth_type ${JSON.stringify(b)} disagree; send one of them`);
  }
  return a ?? b;
}

/**
 * The admin HTTP API as a Hono app, under {@link API_BASE}, with Cloudflare
 * Pub/Sub's paths, fields and `{result, success, errors, messages}` envelope:
 *
 * | Method | Path (under /client/v4/accounts/:account_id/pubsub) | Needs |
 * |---|---|---|
 * | GET, POST | /namespaces | view / Admin |
 * | GET, DELETE | /namespaces/:namespace | view / Admin |
 * | GET, POST | /namespaces/:namespace/brokers | view / User |
 * | GET, PATCH, DELETE | /namespaces/:namespace/brokers/:broker | view / User / User |
 * | GET | /namespaces/:namespace/brokers/:broker/credentials | User |
 * | GET | /namespaces/:namespace/brokers/:broker/publickeys | view |
 * | POST | /namespaces/:namespace/brokers/:broker/keys/rotate | User (edgemq's, not Cloudflare's) |
 * | GET, POST, DELETE | /namespaces/:namespace/brokers/:broker/revocations | view / User / User |
 * | GET | /namespaces/:namespace/brokers/:broker/clients | view (edgemq's) |
 * | DELETE | /namespaces/:namespace/brokers/:broker/clients/:client_id | User (edgemq's) |
 * | GET | /namespaces/:namespace/brokers/:broker/sessions | view (edgemq's) |
 * | GET | /namespaces/:namespace/brokers/:broker/subscriptions | view (edgemq's) |
 * | GET, DELETE | /namespaces/:namespace/brokers/:broker/retained | view / User (edgemq's) |
 * | POST | /namespaces/:namespace/brokers/:broker/publish | User (edgemq's) |
 * | GET, POST | /tokens | Admin for every namespace (edgemq's) |
 * | GET, DELETE | /tokens/:token_id | Admin for every namespace (edgemq's) |
 * | GET | /openapi.json (and /openapi.json at the root) | no token |
 *
 * "view" is any role; "User" is User or Admin. Every request but the
 * OpenAPI document needs `Authorization: Bearer <API token>` (401
 * otherwise); a role or namespace scope that does not allow the request gets 403.
 */
export function createAdminApp(registry: Registry, options: AdminOptions = {}): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const port = options.endpointPort ?? 8883;
  const scheme = options.endpointScheme ?? "mqtts";

  const brokerJson = (b: BrokerRecord) => ({
    id: b.id,
    name: b.name,
    authType: b.authType,
    auth_type: b.authType,
    description: b.description,
    created_on: b.created_on,
    modified_on: b.modified_on,
    expiration: b.expiration,
    endpoint: registry.endpoint(b, port, scheme),
    ...(b.on_publish ? { on_publish: { url: b.on_publish.url, fail_open: b.on_publish.fail_open ?? false } } : {}),
    preset: b.preset ?? "full",
    limits: limitsJson(registry.effectiveLimits(b)), // effective: the preset's with the broker's own over them
  });

  const ok = (c: Context<AdminEnv>, result: unknown, info?: ResultInfo) => c.json(success(result, info), 200);
  // Every list is paginated as Cloudflare's are: ?page=&per_page=, answered with result_info.
  const page = <T, J>(c: Context<AdminEnv>, items: T[], json: (item: T) => J) => {
    const { items: slice, result_info } = paginate(items, pageParams(new URL(c.req.url).searchParams));
    return ok(c, slice.map(json), result_info);
  };
  app.use("*", adminSecurityHeaders());
  // Before authentication: a browser's preflight carries no token.
  const corsMiddleware = adminCors(options.corsOrigins);
  if (corsMiddleware !== undefined) app.use("*", corsMiddleware);

  // The OpenAPI document, without authentication: registered before the middleware below, so it answers first.
  const openapi = (c: Context<AdminEnv>) => c.json(OPENAPI_DOCUMENT, 200);
  app.get("/openapi.json", openapi);
  app.get(`${API_BASE}/openapi.json`, openapi);

  // Authentication: a bearer API token (an opaque secret; MQTT credentials are not API tokens).
  const limiter = options.authFailures ?? new AuthFailureLimiter();
  // A failed check: 401, or 429 once its address is past the limit. Valid tokens never come here.
  const refuse = (c: Context<AdminEnv>, message: string): Response => {
    const wait = limiter.failed(c.env?.remoteAddress ?? "");
    if (wait === 0) throw new ApiError(401, ErrorCode.Authentication, message);
    return c.json(failure(ErrorCode.RateLimited, `too many failed API token checks from this address: wait ${wait} s (Retry-After), then send a valid token`), 429, { "Retry-After": String(wait) });
  };
  app.use(`${API_BASE}/*`, async (c, next) => {
    const header = c.req.header("authorization");
    if (header === undefined || header.trim() === "") {
      return refuse(c, "this API needs an API token: send the header Authorization: Bearer <token>");
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m === null) return refuse(c, "the Authorization header must be \"Bearer <API token>\"");
    const token = await authenticateApiToken(registry, m[1]!);
    if (token === undefined) return refuse(c, "the API token is not valid: unknown or deleted (MQTT credentials are not API tokens)");
    const account = params(c).account_id;
    if (options.accountId !== undefined && account !== options.accountId) {
      throw new ApiError(404, ErrorCode.NotFound, `no account "${account}" on this server`);
    }
    c.set("token", token);
    await next();
  });
  app.use(`${API_BASE}/*`, bodyLimit({
    maxSize: options.maxBodySize ?? 64 * 1024,
    onError: (c) => c.json(failure(ErrorCode.TooLarge, `the request body is larger than ${options.maxBodySize ?? 64 * 1024} bytes`), 413),
  }));

  // Authorization: the role must grant the permission, and the namespace in the path must be in the token's scope.
  const guard = (permission: Permission): MiddlewareHandler<AdminEnv> => async (c, next) => {
    const token = c.get("token");
    if (!ROLE_PERMISSIONS[token.role].has(permission)) {
      throw new ApiError(403, ErrorCode.Forbidden, `a ${token.role} token cannot ${PERMISSION_WORDS[permission]}`);
    }
    if (permission === "tokens:manage" && token.namespaces !== "*") {
      throw new ApiError(403, ErrorCode.Forbidden, "only an Admin token for every namespace can manage API tokens");
    }
    const ns = params(c).namespace;
    if (ns !== undefined && !inScope(token, ns)) {
      throw new ApiError(403, ErrorCode.Forbidden, `this API token is not allowed in namespace "${ns}"`);
    }
    await next();
  };
  const nsOf = (c: Context<AdminEnv>) => params(c).namespace!;
  const brokerOf = (c: Context<AdminEnv>) => params(c).broker!;
  const query = (c: Context<AdminEnv>) => new URL(c.req.url).searchParams;

  // ---------------------------------------------------------- namespaces
  const NS = `${API_BASE}/namespaces`;
  app.get(NS, guard("namespaces:read"), (c) => {
    const token = c.get("token");
    return page(c, registry.listNamespaces().filter((n) => inScope(token, n.name)), namespaceJson);
  });
  app.post(NS, guard("namespaces:write"), async (c) => {
    const body = await readBody(c);
    allowOnly(body, ["name", "description"], "a namespace");
    const name = normalizeName("namespace", body.name);
    if (!inScope(c.get("token"), name)) throw new ApiError(403, ErrorCode.Forbidden, `this API token is not allowed in namespace "${name}"`);
    return ok(c, namespaceJson(await registry.createNamespace({ name, description: body.description as string | undefined })));
  });
  app.get(`${NS}/:namespace`, guard("namespaces:read"), (c) => ok(c, namespaceJson(registry.getNamespace(nsOf(c)))));
  app.delete(`${NS}/:namespace`, guard("namespaces:write"), async (c) => {
    await registry.deleteNamespace(nsOf(c));
    return ok(c, null);
  });

  // ------------------------------------------------------------- brokers
  const BR = `${NS}/:namespace/brokers`;
  app.get(BR, guard("brokers:read"), (c) => page(c, registry.listBrokers(nsOf(c)), brokerJson));
  app.post(BR, guard("brokers:write"), async (c) => {
    const body = await readBody(c);
    allowOnly(body, ["name", "authType", "auth_type", "description", "expiration", "on_publish", "preset", "limits"], "a broker");
    registry.getNamespace(nsOf(c)); // 404 before any 400 about the body's values
    checkOnPublishShape(body);
    const input = { ...body, authType: authTypeOf(body) } as NewBroker;
    return ok(c, brokerJson(await registry.createBroker(nsOf(c), input)));
  });
  app.get(`${BR}/:broker`, guard("brokers:read"), (c) => ok(c, brokerJson(registry.getBroker(nsOf(c), brokerOf(c)))));
  app.patch(`${BR}/:broker`, guard("brokers:write"), async (c) => {
    const body = await readBody(c);
    allowOnly(body, ["description", "expiration", "on_publish", "name", "authType", "auth_type", "preset", "limits"], "a broker update");
    const current = registry.getBroker(nsOf(c), brokerOf(c));
    checkOnPublishShape(body);
    if (body.name !== undefined && typeof body.name !== "string") throw invalid(`name must be a string (the broker's own name), not ${kind(body.name)}`);
    if (body.name !== undefined && String(body.name).toLowerCase() !== current.name) {
      throw invalid(`a broker cannot be renamed (it is "${current.name}"); create a new one`);
    }
    const authType = authTypeOf(body);
    if (authType !== undefined && String(authType).toUpperCase() !== current.authType) {
      throw invalid(`a broker's authType cannot be changed (it is ${current.authType}); create a new broker`);
    }
    const { description, expiration, on_publish, preset, limits } = body as Pick<BrokerUpdate, "description" | "expiration" | "on_publish" | "preset" | "limits">;
    return ok(c, brokerJson(await registry.updateBroker(nsOf(c), brokerOf(c), { description, expiration, on_publish, preset, limits })));
  });
  app.delete(`${BR}/:broker`, guard("brokers:write"), async (c) => {
    await registry.deleteBroker(nsOf(c), brokerOf(c));
    return ok(c, null);
  });

  // ------------------------------------------------ credentials and keys
  app.get(`${BR}/:broker/credentials`, guard("credentials:issue"), async (c) => {
    registry.getBroker(nsOf(c), brokerOf(c)); // 404 first
    const q = query(c);
    const type = q.get("type") ?? "TOKEN";
    if (type.toUpperCase() !== "TOKEN") throw new ApiError(400, ErrorCode.Unsupported, `credentials of type ${JSON.stringify(type)} are not issued; use type=TOKEN`);
    const number = intParam(q, "number", "a whole number from 1 to 100");
    const expiration = intParam(q, "expiration", "a whole number of seconds, or -1 for no expiry");
    const clientIds = [...q.getAll("clientid"), ...q.getAll("clientId")];
    const topicAcl = topicAclParam(new URL(c.req.url).search);
    const issued = await registry.issueCredentials(nsOf(c), brokerOf(c), { number, expiration, clientIds, topicAcl });
    return ok(c, Object.fromEntries(issued.map((x) => [x.clientId, x.token])));
  });
  app.get(`${BR}/:broker/publickeys`, guard("brokers:read"), (c) => ok(c, { keys: registry.publicKeys(nsOf(c), brokerOf(c)) }));
  app.post(`${BR}/:broker/keys/rotate`, guard("brokers:write"), async (c) => ok(c, { keys: await registry.rotateKeys(nsOf(c), brokerOf(c)) }));

  // ---------------------------------------- a broker's live state (edgemq's)
  const mqtt = (c: Context<AdminEnv>) => registry.broker(nsOf(c), brokerOf(c)); // 404 for an unknown broker
  const clientIdParam = (q: URLSearchParams): string | undefined => {
    const id = q.get("client_id");
    return id === null || id === "" ? undefined : id;
  };

  app.get(`${BR}/:broker/clients`, guard("clients:read"), (c) => {
    const broker = mqtt(c);
    const q = query(c);
    const clients = broker.clients(clientIdParam(q)).sort((a, b) => byString(a.clientId, b.clientId));
    return page(c, clients, clientJson);
  });
  app.delete(`${BR}/:broker/clients/:client_id`, guard("clients:disconnect"), (c) => {
    const broker = mqtt(c);
    const clientId = params(c).client_id!;
    const session = query(c).get("session") ?? "keep";
    if (session !== "keep" && session !== "discard") {
      throw invalid(`session must be "keep" (the default: the session stays for its expiry interval) or "discard" (it ends now), not ${JSON.stringify(session)}`);
    }
    const done = broker.disconnectClient(clientId, ReasonCode.AdministrativeAction, {
      reason: "an administrator disconnected the client", discardSession: session === "discard",
    });
    if (!done) throw new ApiError(404, ErrorCode.NotFound, `no client "${clientId}" is connected to broker "${brokerOf(c)}"`);
    return ok(c, { client_id: clientId, reason_code: ReasonCode.AdministrativeAction, session: session === "discard" ? "discarded" : "kept" });
  });
  app.get(`${BR}/:broker/sessions`, guard("clients:read"), (c) => {
    const broker = mqtt(c);
    const q = query(c);
    const connected = boolParam(q, "connected");
    const sessions = broker.sessions(clientIdParam(q))
      .filter((s) => connected === undefined || s.connected === connected)
      .sort((a, b) => byString(a.clientId, b.clientId));
    return page(c, sessions, (s) => sessionJson(s, broker.subscriptions(s.clientId).map((e) => e.topicFilter).sort(byString)));
  });
  app.delete(`${BR}/:broker/sessions/:client_id`, guard("clients:disconnect"), (c) => {
    const broker = mqtt(c);
    const clientId = params(c).client_id!;
    const connected = broker.clients(clientId).length > 0;
    const done = broker.endSession(clientId, ReasonCode.AdministrativeAction, "an administrator ended the session");
    if (!done) throw new ApiError(404, ErrorCode.NotFound, `broker "${brokerOf(c)}" has no session for client "${clientId}"`);
    return ok(c, { client_id: clientId, was_connected: connected, session: "discarded" });
  });
  app.get(`${BR}/:broker/subscriptions`, guard("clients:read"), (c) => {
    const broker = mqtt(c);
    const q = query(c);
    const search = new URL(c.req.url).search;
    const topic = filterParam(search, "topic") ?? null;
    if (topic !== null) checkQueryTopic(topic, "topic", "it lists the subscriptions a message on that topic reaches; to find a filter as subscribed, use topic_filter");
    const exact = filterParam(search, "topic_filter") ?? null;
    const subs = broker.subscriptions(clientIdParam(q))
      .filter((e) => (topic === null || topicMatches(e.filter, topic)) && (exact === null || e.topicFilter === exact))
      .sort((a, b) => byString(a.clientId, b.clientId) || byString(a.topicFilter, b.topicFilter));
    return page(c, subs, subscriptionJson);
  });
  app.get(`${BR}/:broker/retained`, guard("clients:read"), (c) => {
    const broker = mqtt(c);
    const filter = checkQueryFilter(filterParam(new URL(c.req.url).search, "topic") ?? "#", "topic");
    const now = broker.now();
    const messages = broker.retainedMessages(filter, now).sort((a, b) => byString(a.topic, b.topic));
    return page(c, messages, (m) => retainedJson(m, now));
  });
  app.delete(`${BR}/:broker/retained`, guard("retained:delete"), async (c) => {
    const broker = mqtt(c);
    const topic = filterParam(new URL(c.req.url).search, "topic");
    if (topic === undefined) throw invalid("give the retained messages to delete: ?topic=<exact topic> or ?topic=<filter>, such as ?topic=sensors/%23 (# is %23 in a URL)");
    const { cleared, committed } = broker.clearRetained(checkQueryFilter(topic, "topic"));
    await committed;
    return ok(c, { deleted: cleared });
  });
  app.post(`${BR}/:broker/publish`, guard("messages:publish"), async (c) => {
    const broker = mqtt(c);
    const message = parsePublish(broker, await readBody(c), broker.now());
    const { matched, committed } = broker.publish(message);
    await committed; // the answer waits until the store holds what the message changed
    return ok(c, { matched });
  });

  // --------------------------------------------------------- revocations
  app.get(`${BR}/:broker/revocations`, guard("brokers:read"), (c) => page(c, registry.revocations(nsOf(c), brokerOf(c)), (r) => r.jti));
  app.post(`${BR}/:broker/revocations`, guard("brokers:write"), async (c) => {
    registry.getBroker(nsOf(c), brokerOf(c));
    await registry.revoke(nsOf(c), brokerOf(c), jtiParams(query(c)));
    return ok(c, null);
  });
  app.delete(`${BR}/:broker/revocations`, guard("brokers:write"), async (c) => {
    registry.getBroker(nsOf(c), brokerOf(c));
    await registry.unrevoke(nsOf(c), brokerOf(c), jtiParams(query(c)));
    return ok(c, null);
  });

  // ---------------------------------------------------------- API tokens
  const TK = `${API_BASE}/tokens`;
  app.get(TK, guard("tokens:manage"), (c) => page(c, registry.apiTokens(), tokenJson));
  app.post(TK, guard("tokens:manage"), async (c) => {
    const body = await readBody(c);
    allowOnly(body, ["name", "role", "namespaces"], "an API token");
    const { token, record } = await createApiToken(registry, body as unknown as NewApiToken);
    return ok(c, { ...tokenJson(record), value: token });
  });
  app.get(`${TK}/:token_id`, guard("tokens:manage"), (c) => ok(c, tokenJson(registry.getApiToken(params(c).token_id!))));
  app.delete(`${TK}/:token_id`, guard("tokens:manage"), async (c) => {
    await registry.deleteApiToken(params(c).token_id!, isSuperAdmin);
    return ok(c, null);
  });

  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const allow = allowedMethods(app.routes, path);
    if (allow.length === 0) return c.json(failure(ErrorCode.NoRoute, `no route for ${c.req.method} ${path}`), 404);
    const message = `${c.req.method} is not allowed on ${path}; it takes ${allow.join(", ")}`;
    return c.json(failure(ErrorCode.MethodNotAllowed, message), 405, { Allow: allow.join(", ") });
  });
  app.onError((err, c) => {
    if (err instanceof ApiError) {
      if (err.status === 401) c.header("WWW-Authenticate", "Bearer realm=\"edgemq\"");
      return c.json(failure(err.code, err.message), err.status);
    }
    if (err instanceof TenancyError) {
      const [status, code] = STATUS[err.kind];
      return c.json(failure(code, err.message), status);
    }
    if (err instanceof HTTPException) return c.json(failure(ErrorCode.Invalid, err.message), err.status);
    (options.onError ?? console.error)(err);
    return c.json(failure(ErrorCode.Internal, "internal error"), 500);
  });
  return app;
}
