// The default broker's live state (edgemq's): the connections no tenant broker
// claims. The same operations as a tenant broker's (clients, sessions,
// subscriptions, retained messages, publishing) under `/default/…`, for an
// Admin token for every namespace only, since the default broker belongs to no tenant.
import type { OpenAPIHono } from "@hono/zod-openapi";
import { type Broker, topicMatches } from "@edgemq/core";
import { ReasonCode } from "@edgemq/core/codec";
import type { Registry } from "@edgemq/tenancy";
import { type AdminEnv, pathParam } from "../auth.ts";
import { byString, checkQueryFilter, checkQueryTopic, clientJson, retainedJson, sessionJson, subscriptionJson } from "../broker-data.ts";
import { ApiError, ErrorCode } from "../envelope.ts";
import { parsePublish } from "../publish.ts";
import { ok, page, route } from "../route.ts";
import {
  ClientSchema, ClientsQuery, DisconnectQuery, DisconnectResultSchema, EndSessionResultSchema, PublishRequestSchema, PublishResultSchema,
  RetainedDeletedSchema, RetainedDeleteQuery, RetainedMessageSchema, RetainedQuery, SessionSchema, SessionsQuery, SubscriptionSchema, SubscriptionsQuery,
} from "../schemas/live-state.ts";

/** Mounts the default broker's routes; without a broker (an embedder gave none) each answers 404 saying so. */
export function defaultBrokerRoutes(app: OpenAPIHono<AdminEnv>, registry: Registry, broker: Broker | undefined): void {
  const tag = "Default broker";
  const D = "/default";
  const needs = "default:manage";
  const errors = [404];
  const mqtt = (): Broker => {
    if (broker === undefined) {
      throw new ApiError(404, ErrorCode.NotFound, "this server's admin API has no default broker: use a tenant broker's paths, /namespaces/{namespace}/brokers/{broker}/…");
    }
    return broker;
  };
  const id = (s: string | undefined) => (s === "" ? undefined : s);
  const also = (what: string) => `edgemq's. As ${what}, for the default broker (connections no tenant broker claims).`;

  route(app, registry, {
    method: "get", path: `${D}/clients`, id: "listDefaultClients", tag, summary: "List the default broker's connected clients",
    description: also("listClients"), needs, errors, query: ClientsQuery, paged: ClientSchema,
  }, (c, { query }) => page(c, mqtt().clients(id(query.client_id)).sort((a, b) => byString(a.clientId, b.clientId)), clientJson, query));

  route(app, registry, {
    method: "delete", path: `${D}/clients/{client_id}`, id: "disconnectDefaultClient", tag, summary: "Disconnect a client of the default broker",
    description: also("disconnectClient"), needs, errors, query: DisconnectQuery, result: DisconnectResultSchema,
  }, (c, { query }) => {
    const clientId = pathParam(c, "client_id");
    const discard = query.session === "discard";
    const done = mqtt().disconnectClient(clientId, ReasonCode.AdministrativeAction, { reason: "an administrator disconnected the client", discardSession: discard });
    if (!done) throw new ApiError(404, ErrorCode.NotFound, `no client "${clientId}" is connected to the default broker`);
    return ok(c, { client_id: clientId, reason_code: ReasonCode.AdministrativeAction, session: discard ? "discarded" : "kept" });
  });

  route(app, registry, {
    method: "get", path: `${D}/sessions`, id: "listDefaultSessions", tag, summary: "List the default broker's sessions",
    description: also("listSessions"), needs, errors, query: SessionsQuery, paged: SessionSchema,
  }, (c, { query }) => {
    const b = mqtt();
    const sessions = b.sessions(id(query.client_id))
      .filter((s) => query.connected === undefined || s.connected === query.connected)
      .sort((x, y) => byString(x.clientId, y.clientId));
    return page(c, sessions, (s) => sessionJson(s, b.subscriptions(s.clientId).map((e) => e.topicFilter).sort(byString)), query);
  });

  route(app, registry, {
    method: "delete", path: `${D}/sessions/{client_id}`, id: "endDefaultSession", tag, summary: "End a session of the default broker",
    description: also("endSession"), needs, errors, result: EndSessionResultSchema,
  }, (c) => {
    const b = mqtt();
    const clientId = pathParam(c, "client_id");
    const connected = b.clients(clientId).length > 0;
    if (!b.endSession(clientId, ReasonCode.AdministrativeAction, "an administrator ended the session")) {
      throw new ApiError(404, ErrorCode.NotFound, `the default broker has no session for client "${clientId}"`);
    }
    return ok(c, { client_id: clientId, was_connected: connected, session: "discarded" });
  });

  route(app, registry, {
    method: "get", path: `${D}/subscriptions`, id: "listDefaultSubscriptions", tag, summary: "List the default broker's subscriptions",
    description: also("listSubscriptions"), needs, errors, query: SubscriptionsQuery, paged: SubscriptionSchema,
  }, (c, { query }) => {
    const topic = query.topic;
    if (topic !== undefined) checkQueryTopic(topic, "topic", "it lists the subscriptions a message on that topic reaches; to find a filter as subscribed, use topic_filter");
    const subs = mqtt().subscriptions(id(query.client_id))
      .filter((e) => (topic === undefined || topicMatches(e.filter, topic)) && (query.topic_filter === undefined || e.topicFilter === query.topic_filter))
      .sort((a, b) => byString(a.clientId, b.clientId) || byString(a.topicFilter, b.topicFilter));
    return page(c, subs, subscriptionJson, query);
  });

  route(app, registry, {
    method: "get", path: `${D}/retained`, id: "listDefaultRetained", tag, summary: "List the default broker's retained messages",
    description: also("listRetained"), needs, errors, query: RetainedQuery, paged: RetainedMessageSchema,
  }, (c, { query }) => {
    const b = mqtt();
    const filter = checkQueryFilter(query.topic, "topic");
    const now = b.now();
    return page(c, b.retainedMessages(filter, now).sort((x, y) => byString(x.topic, y.topic)), (m) => retainedJson(m, now), query);
  });

  route(app, registry, {
    method: "delete", path: `${D}/retained`, id: "deleteDefaultRetained", tag, summary: "Delete retained messages of the default broker",
    description: also("deleteRetained"), needs, errors, query: RetainedDeleteQuery, result: RetainedDeletedSchema,
  }, async (c, { query }) => {
    const { cleared, committed } = mqtt().clearRetained(checkQueryFilter(query.topic, "topic"));
    await committed;
    return ok(c, { deleted: cleared });
  });

  route(app, registry, {
    method: "post", path: `${D}/publish`, id: "publishDefault", tag, summary: "Publish a message on the default broker",
    description: also("publish"), needs, errors, body: PublishRequestSchema, bodyName: "a publish request", result: PublishResultSchema,
  }, async (c, { body }) => {
    const b = mqtt();
    const { matched, committed } = b.publish(parsePublish(b, body, b.now()));
    await committed;
    return ok(c, { matched });
  });
}
