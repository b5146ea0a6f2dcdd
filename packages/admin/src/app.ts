import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { Broker } from "@edgemq/core";
import { type Registry, TenancyError, type TenancyErrorKind } from "@edgemq/tenancy";
import { AuthFailureLimiter } from "./auth-failures.ts";
import { type AdminEnv, authenticate } from "./auth.ts";
import type { ClusterView } from "./cluster-view.ts";
import { adminCors } from "./cors.ts";
import { ApiError, ErrorCode, failure, failures } from "./envelope.ts";
import { ValidationError } from "./issues.ts";
import { allowedMethods } from "./method-not-allowed.ts";
import { DOCUMENT_PATHS, documentOf, documentRoute, registerShared } from "./openapi.ts";
import { brokerRoutes } from "./routes/brokers.ts";
import { clientRoutes } from "./routes/clients.ts";
import { credentialRoutes } from "./routes/credentials.ts";
import { defaultBrokerRoutes } from "./routes/default-broker.ts";
import { scramUserRoutes } from "./routes/scram-users.ts";
import { messageRoutes } from "./routes/messages.ts";
import { namespaceRoutes } from "./routes/namespaces.ts";
import { tokenRoutes } from "./routes/tokens.ts";
import { adminSecurityHeaders } from "./security-headers.ts";

export type { AdminBindings, AdminEnv } from "./auth.ts";
export { namespaceJson } from "./routes/namespaces.ts";
export { tokenJson } from "./routes/tokens.ts";

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
  /** The cluster this node is part of (issue 12): clients and sessions are then listed from every node, and reached on theirs. */
  cluster?: ClusterView;
  /** Browser origins allowed by CORS (`https://console.example.com`, or `*` for any); none, no CORS headers at all. */
  corsOrigins?: string[];
  /** The server's default broker (connections no tenant broker claims), served under `/default/…`; without one those paths answer 404. */
  defaultBroker?: Broker;
}

const STATUS: Record<TenancyErrorKind, [400 | 404 | 409 | 503, number]> = {
  invalid: [400, ErrorCode.Invalid],
  not_found: [404, ErrorCode.NotFound],
  conflict: [400, ErrorCode.Conflict],
  not_empty: [409, ErrorCode.NotEmpty],
  limit: [400, ErrorCode.Limit],
  unsupported: [400, ErrorCode.Unsupported],
  unavailable: [503, ErrorCode.Unavailable],
};

/**
 * The admin HTTP API as a Hono app, under {@link API_BASE}, with Cloudflare
 * Pub/Sub's paths, fields and `{result, success, errors, messages}` envelope,
 * and edgemq's own routes (key rotation, API tokens, a broker's live state,
 * publishing). Each route is defined once (routes/*.ts): its OpenAPI
 * operation, its zod schemas, which validate its query and body, and its
 * handler; the OpenAPI 3.1 document at `/openapi.json` is generated from them.
 * Every request but the document needs `Authorization: Bearer <API token>`
 * (401 otherwise); a role or namespace scope that does not allow it gets 403.
 */
export function createAdminApp(registry: Registry, options: AdminOptions = {}): OpenAPIHono<AdminEnv> {
  const app = new OpenAPIHono<AdminEnv>();
  app.use("*", adminSecurityHeaders());
  // Before authentication: a browser's preflight carries no token.
  const corsMiddleware = adminCors(options.corsOrigins);
  if (corsMiddleware !== undefined) app.use("*", corsMiddleware);

  // The document, without a token: registered before authentication, so it answers first.
  registerShared(app);
  let document: Record<string, unknown> | undefined;
  for (const [path, id] of [[DOCUMENT_PATHS[0], "getOpenApi"], [DOCUMENT_PATHS[1], "getOpenApiAtRoot"]] as const) {
    app.openAPIRegistry.registerPath(documentRoute(path, id));
    app.get(path.replace("{account_id}", ":account_id"), (c) => c.json(document ??= documentOf(app), 200));
  }

  app.use(`${API_BASE}/*`, authenticate(registry, options.authFailures ?? new AuthFailureLimiter(), options.accountId));
  const maxSize = options.maxBodySize ?? 64 * 1024;
  app.use(`${API_BASE}/*`, bodyLimit({ maxSize, onError: (c) => c.json(failure(ErrorCode.TooLarge, `the request body is larger than ${maxSize} bytes`), 413) }));

  namespaceRoutes(app, registry);
  brokerRoutes(app, registry, { port: options.endpointPort ?? 8883, scheme: options.endpointScheme ?? "mqtts" });
  credentialRoutes(app, registry);
  scramUserRoutes(app, registry);
  clientRoutes(app, registry, options.cluster);
  messageRoutes(app, registry);
  defaultBrokerRoutes(app, registry, options.defaultBroker);
  tokenRoutes(app, registry);

  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const allow = allowedMethods(app.routes, path);
    if (allow.length === 0) return c.json(failure(ErrorCode.NoRoute, `no route for ${c.req.method} ${path}`), 404);
    const message = `${c.req.method} is not allowed on ${path}; it takes ${allow.join(", ")}`;
    return c.json(failure(ErrorCode.MethodNotAllowed, message), 405, { Allow: allow.join(", ") });
  });
  app.onError((err, c) => {
    if (err instanceof ValidationError) return c.json(failures(err.errors), 400);
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

/** The OpenAPI 3.1 document of the admin API, as `/openapi.json` serves it. */
export function adminOpenApiDocument(registry: Registry): Record<string, unknown> {
  return documentOf(createAdminApp(registry));
}
