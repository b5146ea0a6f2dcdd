// /tokens and /tokens/{token_id}: the admin API's own tokens (edgemq's).
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiTokenRecord, Registry } from "@edgemq/tenancy";
import { type AdminEnv, pathParam } from "../auth.ts";
import { ok, page, route } from "../route.ts";
import { PageQuery } from "../schemas/common.ts";
import { ApiTokenCreatedSchema, ApiTokenCreateSchema, ApiTokenSchema } from "../schemas/credentials.ts";
import { createApiToken, isSuperAdmin } from "../tokens.ts";

/** An API token as the API lists it: never its secret or hash. */
export function tokenJson(t: ApiTokenRecord) {
  return { id: t.id, name: t.name, role: t.role, namespaces: t.namespaces, source: t.source, created_on: t.created_on };
}

/** Mounts the API token routes. */
export function tokenRoutes(app: OpenAPIHono<AdminEnv>, registry: Registry): void {
  const tag = "API tokens";
  route(app, registry, {
    method: "get", path: "/tokens", id: "listApiTokens", tag, summary: "List API tokens", description: "Never their secrets.",
    needs: "tokens:manage", query: PageQuery, paged: ApiTokenSchema,
  }, (c, { query }) => page(c, registry.apiTokens(), tokenJson, query));

  route(app, registry, {
    method: "post", path: "/tokens", id: "createApiToken", tag, summary: "Create an API token",
    description: "The secret (`value`) is shown in this answer only; only its SHA-256 is kept.",
    needs: "tokens:manage", body: ApiTokenCreateSchema, bodyName: "an API token", result: ApiTokenCreatedSchema,
  }, async (c, { body }) => {
    const { token, record } = await createApiToken(registry, body);
    return ok(c, { ...tokenJson(record), value: token });
  });

  route(app, registry, {
    method: "get", path: "/tokens/{token_id}", id: "getApiToken", tag, summary: "Get an API token", needs: "tokens:manage", result: ApiTokenSchema,
  }, (c) => ok(c, tokenJson(registry.getApiToken(pathParam(c, "token_id")))));

  route(app, registry, {
    method: "delete", path: "/tokens/{token_id}", id: "deleteApiToken", tag, summary: "Delete an API token",
    description: "It stops working at once. The last Admin for every namespace cannot be deleted (400, code 1009).", needs: "tokens:manage",
  }, async (c) => {
    await registry.deleteApiToken(pathParam(c, "token_id"), isSuperAdmin);
    return ok(c, null);
  });
}
