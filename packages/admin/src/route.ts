// One admin API route from one definition: its OpenAPI operation (createRoute,
// registered in the app's OpenAPI registry) and its handler, behind the role
// guard and a check that its namespace or broker exists, with its query and
// body validated by the same zod schemas the document shows.
import { createRoute, type OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { API_ROLES, type Registry } from "@edgemq/tenancy";
import { type AdminEnv, guard, pathParam } from "./auth.ts";
import { type ResultInfo, success } from "./envelope.ts";
import { baseType, parseWith } from "./issues.ts";
import { filterParam, paginate } from "./query.ts";
import { type Permission, ROLE_PERMISSIONS } from "./roles.ts";
import { envelope, pagedEnvelope, type PageParams, PATH_PARAMS } from "./schemas/common.ts";
import { parseBody } from "./validate.ts";

/** The API's base path as OpenAPI writes it. */
export const DOC_BASE = "/client/v4/accounts/{account_id}/pubsub";

/** The error responses an operation may document, by status. */
export const ERROR_RESPONSES: Record<number, string> = {
  400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 413: "TooLarge", 429: "TooManyFailures",
};

/** What a route needs: a permission, or nothing (the OpenAPI document). */
export type Needs = Permission | "none";

/** One route's definition. */
export interface RouteSpec<Q extends z.ZodObject | undefined, B extends z.ZodType | undefined> {
  method: "get" | "post" | "patch" | "delete";
  /** Under the API's base path, OpenAPI style: `/namespaces/{namespace}`. */
  path: string;
  id: string;
  tag: string;
  summary: string;
  description?: string;
  needs: Permission;
  /** Answer 404 for an unknown namespace or broker before looking at the request. */
  exists?: "namespace" | "broker";
  query?: Q;
  body?: B;
  /** What the body is, for `unknown field … in <what>`. */
  bodyName?: string;
  result?: z.ZodType;
  /** The item of a paginated list. */
  paged?: z.ZodType;
  /** Error statuses beyond 400, 401, 403, 429 (and 404 for a path with parameters, 413 with a body). */
  errors?: number[];
}

type In<T> = T extends z.ZodType ? z.output<T> : undefined;

/** A route's handler: the request, and its query and body as validated. */
export type RouteHandler<Q extends z.ZodObject | undefined, B extends z.ZodType | undefined> =
  (c: Context<AdminEnv>, input: { query: In<Q>; body: In<B> }) => Response | Promise<Response>;

/** The roles a permission is granted to, as the document lists them (`x-edgemq-roles`). */
export function rolesFor(needs: Needs): string[] {
  if (needs === "none") return [];
  if (needs === "tokens:manage" || needs === "default:manage") return ["Admin (every namespace)"];
  return API_ROLES.filter((r) => ROLE_PERMISSIONS[r].has(needs));
}

const ROLE_WORDS: Record<string, string> = {
  "Admin,User,Viewer": "Any role (Admin, User, Viewer) whose token covers the namespace.",
  "Admin,User": "Admin or User, with a token that covers the namespace; Viewer gets 403.",
  Admin: "Admin, with a token that covers the namespace; User and Viewer get 403.",
  "Admin (every namespace)": "An Admin token for every namespace (`namespaces: \"*\"`); any other gets 403.",
};

/** A success answer in the envelope. */
export function ok(c: Context<AdminEnv>, result: unknown, info?: ResultInfo): Response {
  return c.json(success(result, info), 200);
}

/** One page of a list, with Cloudflare's `result_info`. */
export function page<T, J>(c: Context<AdminEnv>, items: readonly T[], json: (item: T) => J, params: PageParams): Response {
  const { items: slice, result_info } = paginate(items, params);
  return ok(c, slice.map(json), result_info);
}

// Query parameters that hold topics, read so that a literal + filling a level stays the wildcard.
const FILTER_PARAMS = new Set(["topic", "topic_filter", "topicAcl"]);

/** The query as the schema's fields want it: arrays repeated, numbers and booleans from their text; a value that is not one stays text, to be refused by name. */
export function queryInput(schema: z.ZodObject, url: string): Record<string, unknown> {
  const search = new URL(url).search;
  const params = new URLSearchParams(search);
  const input: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const type = baseType(field);
    if (type === "array") {
      if (params.has(name)) input[name] = params.getAll(name);
      continue;
    }
    const raw = FILTER_PARAMS.has(name) ? filterParam(search, name) : params.get(name) ?? undefined;
    if (raw === undefined || (raw === "" && !FILTER_PARAMS.has(name))) continue;
    const t = raw.trim().toLowerCase();
    if (type === "number") input[name] = /^-?\d{1,15}$/.test(t) ? Number(t) : raw;
    else if (type === "boolean") input[name] = t === "true" || t === "1" ? true : t === "false" || t === "0" ? false : raw;
    else input[name] = raw;
  }
  return input;
}

/** The OpenAPI operation of a route. */
export function operation(spec: RouteSpec<z.ZodObject | undefined, z.ZodType | undefined>): RouteConfig {
  const path = `${DOC_BASE}${spec.path}`;
  const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const roles = rolesFor(spec.needs);
  const errors = new Set([400, 401, 403, 429, ...(names.length > 1 ? [404] : []), ...(spec.body ? [413] : []), ...(spec.errors ?? [])]);
  const schema = spec.paged ? pagedEnvelope(spec.paged) : envelope(spec.result ?? z.null());
  return createRoute({
    method: spec.method, path, operationId: spec.id, tags: [spec.tag], summary: spec.summary,
    description: [spec.description, `**Needs:** ${ROLE_WORDS[roles.join(",")]}`].filter(Boolean).join("\n\n"),
    "x-edgemq-roles": roles,
    request: {
      params: z.object(Object.fromEntries(names.map((n) => [n, PATH_PARAMS[n]!]))),
      ...(spec.query ? { query: spec.query } : {}),
      ...(spec.body ? { body: { required: true, content: { "application/json": { schema: spec.body } } } } : {}),
    },
    responses: {
      200: { description: "Success, in the envelope.", content: { "application/json": { schema } } },
      ...Object.fromEntries([...errors].sort().map((code) => [code, { $ref: `#/components/responses/${ERROR_RESPONSES[code]}` }])),
    },
  });
}

/** Mounts a route: documented, guarded, checked for existence, validated, handled. */
export function route<Q extends z.ZodObject | undefined = undefined, B extends z.ZodType | undefined = undefined>(
  app: OpenAPIHono<AdminEnv>, registry: Registry, spec: RouteSpec<Q, B>, handler: RouteHandler<Q, B>,
): void {
  app.openAPIRegistry.registerPath(operation(spec));
  const honoPath = `${DOC_BASE}${spec.path}`.replace(/\{([^}]+)\}/g, ":$1");
  app.on(spec.method.toUpperCase(), honoPath, guard(spec.needs), async (c) => {
    if (spec.exists === "namespace") registry.getNamespace(pathParam(c, "namespace"));
    if (spec.exists === "broker") registry.getBroker(pathParam(c, "namespace"), pathParam(c, "broker"));
    const query = spec.query ? parseWith(spec.query, queryInput(spec.query, c.req.url), "the query", (v) => JSON.stringify(v)) : undefined;
    const body = spec.body ? parseWith(spec.body, parseBody(await c.req.text()), spec.bodyName ?? "the body") : undefined;
    return handler(c, { query, body } as { query: In<Q>; body: In<B> });
  });
}
