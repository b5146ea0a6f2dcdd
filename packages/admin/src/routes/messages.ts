// A broker's retained messages, and publishing over HTTP (edgemq's).
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Registry } from "@edgemq/tenancy";
import { type AdminEnv, pathParam } from "../auth.ts";
import { byString, checkQueryFilter, retainedJson } from "../broker-data.ts";
import { parsePublish } from "../publish.ts";
import { ok, page, route } from "../route.ts";
import {
  PublishRequestSchema, PublishResultSchema, RetainedDeletedSchema, RetainedDeleteQuery, RetainedMessageSchema, RetainedQuery,
} from "../schemas/live-state.ts";

/** Mounts the routes of a broker's retained messages and HTTP publishing. */
export function messageRoutes(app: OpenAPIHono<AdminEnv>, registry: Registry): void {
  const tag = "Live state";
  const B = "/namespaces/{namespace}/brokers/{broker}";
  const mqtt = (c: Context<AdminEnv>) => registry.broker(pathParam(c, "namespace"), pathParam(c, "broker"));

  route(app, registry, {
    method: "get", path: `${B}/retained`, id: "listRetained", tag, summary: "List retained messages",
    description: "edgemq's. Sorted by topic. `$` topics appear only for a filter that names them, such as `$SYS/#`.",
    needs: "clients:read", exists: "broker", query: RetainedQuery, paged: RetainedMessageSchema,
  }, (c, { query }) => {
    const broker = mqtt(c);
    const filter = checkQueryFilter(query.topic, "topic");
    const now = broker.now();
    return page(c, broker.retainedMessages(filter, now).sort((a, b) => byString(a.topic, b.topic)), (m) => retainedJson(m, now), query);
  });

  route(app, registry, {
    method: "delete", path: `${B}/retained`, id: "deleteRetained", tag, summary: "Delete retained messages",
    description: "edgemq's. Deletes the retained messages on an exact topic or matching a filter, in memory and in the store, without sending anything to subscribers; answers once the store has committed.",
    needs: "retained:delete", exists: "broker", query: RetainedDeleteQuery, result: RetainedDeletedSchema,
  }, async (c, { query }) => {
    const { cleared, committed } = mqtt(c).clearRetained(checkQueryFilter(query.topic, "topic"));
    await committed;
    return ok(c, { deleted: cleared });
  });

  route(app, registry, {
    method: "post", path: `${B}/publish`, id: "publish", tag, summary: "Publish a message",
    description: "edgemq's. Published by the server itself (no client, so no topicAcl of a publisher applies; each subscriber's does at delivery). Answers once the store has committed what the message changed.",
    needs: "messages:publish", exists: "broker", body: PublishRequestSchema, bodyName: "a publish request", result: PublishResultSchema,
  }, async (c, { body }) => {
    const broker = mqtt(c);
    const { matched, committed } = broker.publish(parsePublish(broker, body, broker.now()));
    await committed; // the answer waits until the store holds what the message changed
    return ok(c, { matched });
  });
}
