// Who may call the admin API: a bearer API token (authentication), whose role
// and namespace scope must allow the route (authorization).
import type { Context, MiddlewareHandler } from "hono";
import type { ApiTokenRecord, Registry } from "@edgemq/tenancy";
import type { AuthFailureLimiter } from "./auth-failures.ts";
import { ApiError, ErrorCode, failure } from "./envelope.ts";
import { inScope, type Permission, PERMISSION_WORDS, ROLE_PERMISSIONS } from "./roles.ts";
import { authenticateApiToken } from "./tokens.ts";

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

/** A path parameter of the request. */
export function pathParam(c: Context<AdminEnv>, name: string): string {
  return (c.req.param() as Record<string, string>)[name]!;
}

/**
 * Authentication: a bearer API token (an opaque secret; MQTT credentials are
 * not API tokens), and the account id, when the server serves only one.
 * A failed check is 401, or 429 once its address is past the limiter's limit.
 */
export function authenticate(registry: Registry, limiter: AuthFailureLimiter, accountId: string | undefined): MiddlewareHandler<AdminEnv> {
  const refuse = (c: Context<AdminEnv>, message: string): Response => {
    const wait = limiter.failed(c.env?.remoteAddress ?? "");
    if (wait === 0) throw new ApiError(401, ErrorCode.Authentication, message);
    return c.json(failure(ErrorCode.RateLimited, `too many failed API token checks from this address: wait ${wait} s (Retry-After), then send a valid token`), 429, { "Retry-After": String(wait) });
  };
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (header === undefined || header.trim() === "") {
      return refuse(c, "this API needs an API token: send the header Authorization: Bearer <token>");
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m === null) return refuse(c, "the Authorization header must be \"Bearer <API token>\"");
    const token = await authenticateApiToken(registry, m[1]!);
    if (token === undefined) return refuse(c, "the API token is not valid: unknown or deleted (MQTT credentials are not API tokens)");
    const account = pathParam(c, "account_id");
    if (accountId !== undefined && account !== accountId) throw new ApiError(404, ErrorCode.NotFound, `no account "${account}" on this server`);
    c.set("token", token);
    await next();
  };
}

/** Authorization: the token's role must grant the permission, and the namespace in the path must be in its scope. */
export function guard(permission: Permission): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const token = c.get("token");
    if (!ROLE_PERMISSIONS[token.role].has(permission)) {
      throw new ApiError(403, ErrorCode.Forbidden, `a ${token.role} token cannot ${PERMISSION_WORDS[permission]}`);
    }
    if (permission === "tokens:manage" && token.namespaces !== "*") {
      throw new ApiError(403, ErrorCode.Forbidden, "only an Admin token for every namespace can manage API tokens");
    }
    if (permission === "default:manage" && token.namespaces !== "*") {
      throw new ApiError(403, ErrorCode.Forbidden, "only an Admin token for every namespace can view or act on the default broker: it belongs to no tenant");
    }
    const ns = (c.req.param() as Record<string, string | undefined>).namespace;
    if (ns !== undefined && !inScope(token, ns)) {
      throw new ApiError(403, ErrorCode.Forbidden, `this API token is not allowed in namespace "${ns}"`);
    }
    await next();
  };
}

/** Refuses a token outside a namespace it names (one created by a request, not in the path). */
export function checkScope(c: Context<AdminEnv>, namespace: string): void {
  if (!inScope(c.get("token"), namespace)) throw new ApiError(403, ErrorCode.Forbidden, `this API token is not allowed in namespace "${namespace}"`);
}
