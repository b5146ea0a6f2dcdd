// /namespaces and /namespaces/{namespace}.
import type { OpenAPIHono } from "@hono/zod-openapi";
import { type NamespaceRecord, normalizeName, type Registry } from "@edgemq/tenancy";
import { type AdminEnv, checkScope, pathParam } from "../auth.ts";
import { inScope } from "../roles.ts";
import { ok, page, route } from "../route.ts";
import { PageQuery } from "../schemas/common.ts";
import { NamespaceCreateSchema, NamespaceSchema } from "../schemas/brokers.ts";

/** A namespace as the API shows it. */
export function namespaceJson(n: NamespaceRecord) {
  return { id: n.id, name: n.name, description: n.description, created_on: n.created_on, modified_on: n.modified_on };
}

/** Mounts the namespace routes. */
export function namespaceRoutes(app: OpenAPIHono<AdminEnv>, registry: Registry): void {
  const tag = "Namespaces";
  route(app, registry, {
    method: "get", path: "/namespaces", id: "listNamespaces", tag, summary: "List namespaces",
    description: "Only the namespaces the token covers, oldest first.", needs: "namespaces:read", query: PageQuery, paged: NamespaceSchema,
  }, (c, { query }) => page(c, registry.listNamespaces().filter((n) => inScope(c.get("token"), n.name)), namespaceJson, query));

  route(app, registry, {
    method: "post", path: "/namespaces", id: "createNamespace", tag, summary: "Create a namespace",
    description: "A name already taken gets 400 (code 1009), as on Cloudflare.", needs: "namespaces:write",
    body: NamespaceCreateSchema, bodyName: "a namespace", result: NamespaceSchema,
  }, async (c, { body }) => {
    const name = normalizeName("namespace", body.name);
    checkScope(c, name);
    return ok(c, namespaceJson(await registry.createNamespace({ name, description: body.description })));
  });

  route(app, registry, {
    method: "get", path: "/namespaces/{namespace}", id: "getNamespace", tag, summary: "Get a namespace", needs: "namespaces:read", result: NamespaceSchema,
  }, (c) => ok(c, namespaceJson(registry.getNamespace(pathParam(c, "namespace")))));

  route(app, registry, {
    method: "delete", path: "/namespaces/{namespace}", id: "deleteNamespace", tag, summary: "Delete a namespace",
    description: "Only an empty one: a namespace with brokers gets 409.", needs: "namespaces:write", errors: [409],
  }, async (c) => {
    await registry.deleteNamespace(pathParam(c, "namespace"));
    return ok(c, null);
  });
}
