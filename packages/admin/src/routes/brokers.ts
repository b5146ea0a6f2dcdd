// /namespaces/{namespace}/brokers and /namespaces/{namespace}/brokers/{broker}.
import type { OpenAPIHono } from "@hono/zod-openapi";
import { type BrokerRecord, type BrokerUpdate, limitsJson, type NewBroker, type Registry } from "@edgemq/tenancy";
import { type AdminEnv, pathParam } from "../auth.ts";
import { invalid } from "../envelope.ts";
import { ok, page, route } from "../route.ts";
import { PageQuery } from "../schemas/common.ts";
import { BrokerCreateSchema, BrokerSchema, BrokerUpdateSchema } from "../schemas/brokers.ts";

/** Where each broker's `endpoint` points: Cloudflare's `mqtts://…:8883` by default. */
export interface Endpoint {
  port: number;
  scheme: string;
}

// authType and auth_type name the same field (the docs and wrangler disagreed); both may be sent if they agree.
function authTypeOf(body: { authType?: string; auth_type?: string }): string | undefined {
  const a = body.authType, b = body.auth_type;
  if (a !== undefined && b !== undefined && a.toUpperCase() !== b.toUpperCase()) {
    throw invalid(`authType ${JSON.stringify(a)} and auth_type ${JSON.stringify(b)} disagree; send one of them`);
  }
  return a ?? b;
}

/** Mounts the broker routes. */
export function brokerRoutes(app: OpenAPIHono<AdminEnv>, registry: Registry, endpoint: Endpoint): void {
  const tag = "Brokers";
  const ns = (c: Parameters<typeof pathParam>[0]) => pathParam(c, "namespace");
  const name = (c: Parameters<typeof pathParam>[0]) => pathParam(c, "broker");
  const brokerJson = (b: BrokerRecord) => ({
    id: b.id, name: b.name, authType: b.authType, auth_type: b.authType, description: b.description,
    created_on: b.created_on, modified_on: b.modified_on, expiration: b.expiration,
    endpoint: registry.endpoint(b, endpoint.port, endpoint.scheme),
    ...(b.on_publish ? { on_publish: { url: b.on_publish.url, fail_open: b.on_publish.fail_open ?? false } } : {}),
    preset: b.preset ?? "full",
    limits: limitsJson(registry.effectiveLimits(b)), // effective: the preset's with the broker's own over them
  });

  route(app, registry, {
    method: "get", path: "/namespaces/{namespace}/brokers", id: "listBrokers", tag, summary: "List a namespace's brokers",
    needs: "brokers:read", exists: "namespace", query: PageQuery, paged: BrokerSchema,
  }, (c, { query }) => page(c, registry.listBrokers(ns(c)), brokerJson, query));

  route(app, registry, {
    method: "post", path: "/namespaces/{namespace}/brokers", id: "createBroker", tag, summary: "Create a broker",
    needs: "brokers:write", exists: "namespace", body: BrokerCreateSchema, bodyName: "a broker", result: BrokerSchema,
  }, async (c, { body }) => {
    const { auth_type: _, ...rest } = body;
    const input = { ...rest, authType: authTypeOf(body) } as NewBroker;
    return ok(c, brokerJson(await registry.createBroker(ns(c), input)));
  });

  const one = "/namespaces/{namespace}/brokers/{broker}";
  route(app, registry, {
    method: "get", path: one, id: "getBroker", tag, summary: "Get a broker", needs: "brokers:read", result: BrokerSchema,
  }, (c) => ok(c, brokerJson(registry.getBroker(ns(c), name(c)))));

  route(app, registry, {
    method: "patch", path: one, id: "updateBroker", tag, summary: "Change a broker",
    description: "Absent fields stay; `null` clears `description`, `expiration` or `on_publish`. The name and auth type cannot change.",
    needs: "brokers:write", exists: "broker", body: BrokerUpdateSchema, bodyName: "a broker update", result: BrokerSchema,
  }, async (c, { body }) => {
    const current = registry.getBroker(ns(c), name(c));
    if (body.name !== undefined && body.name.toLowerCase() !== current.name) {
      throw invalid(`a broker cannot be renamed (it is "${current.name}"); create a new one`);
    }
    const authType = authTypeOf(body);
    if (authType !== undefined && authType.toUpperCase() !== current.authType) {
      throw invalid(`a broker's authType cannot be changed (it is ${current.authType}); create a new broker`);
    }
    const { description, expiration, on_publish, preset, limits } = body;
    return ok(c, brokerJson(await registry.updateBroker(ns(c), name(c), { description, expiration, on_publish, preset, limits: limits as BrokerUpdate["limits"] })));
  });

  route(app, registry, {
    method: "delete", path: one, id: "deleteBroker", tag, summary: "Delete a broker",
    description: "Its connected clients get DISCONNECT 0x98 (Administrative action).", needs: "brokers:write",
  }, async (c) => {
    await registry.deleteBroker(ns(c), name(c));
    return ok(c, null);
  });
}
