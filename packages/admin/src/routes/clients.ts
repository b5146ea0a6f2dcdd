// A broker's connected clients, sessions and subscriptions (edgemq's).
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { topicMatches } from "@edgemq/core";
import { ReasonCode } from "@edgemq/core/codec";
import type { Registry } from "@edgemq/tenancy";
import { type AdminEnv, pathParam } from "../auth.ts";
import { byString, checkQueryTopic, clientJson, sessionJson, subscriptionJson } from "../broker-data.ts";
import { ApiError, ErrorCode } from "../envelope.ts";
import { ok, page, route } from "../route.ts";
import {
  ClientSchema, ClientsQuery, DisconnectQuery, DisconnectResultSchema, EndSessionResultSchema, SessionSchema, SessionsQuery,
  SubscriptionSchema, SubscriptionsQuery,
} from "../schemas/live-state.ts";

/** Mounts the routes of a broker's clients, sessions and subscriptions. */
export function clientRoutes(app: OpenAPIHono<AdminEnv>, registry: Registry): void {
  const tag = "Live state";
  const B = "/namespaces/{namespace}/brokers/{broker}";
  const mqtt = (c: Context<AdminEnv>) => registry.broker(pathParam(c, "namespace"), pathParam(c, "broker"));
  const id = (s: string | undefined) => (s === "" ? undefined : s);

  route(app, registry, {
    method: "get", path: `${B}/clients`, id: "listClients", tag, summary: "List connected clients", description: "edgemq's. Sorted by client id.",
    needs: "clients:read", exists: "broker", query: ClientsQuery, paged: ClientSchema,
  }, (c, { query }) => page(c, mqtt(c).clients(id(query.client_id)).sort((a, b) => byString(a.clientId, b.clientId)), clientJson, query));

  route(app, registry, {
    method: "delete", path: `${B}/clients/{client_id}`, id: "disconnectClient", tag, summary: "Disconnect a client",
    description: "edgemq's. A 5.0 client gets DISCONNECT 0x98 (Administrative action), older ones are closed; its will is published. 404 when the client is not connected. The client may connect again (revoke its credential to keep it out).",
    needs: "clients:disconnect", exists: "broker", query: DisconnectQuery, result: DisconnectResultSchema,
  }, (c, { query }) => {
    const clientId = pathParam(c, "client_id");
    const discard = query.session === "discard";
    const done = mqtt(c).disconnectClient(clientId, ReasonCode.AdministrativeAction, { reason: "an administrator disconnected the client", discardSession: discard });
    if (!done) throw new ApiError(404, ErrorCode.NotFound, `no client "${clientId}" is connected to broker "${pathParam(c, "broker")}"`);
    return ok(c, { client_id: clientId, reason_code: ReasonCode.AdministrativeAction, session: discard ? "discarded" : "kept" });
  });

  route(app, registry, {
    method: "get", path: `${B}/sessions`, id: "listSessions", tag, summary: "List sessions", description: "edgemq's. Every session, connected or not, sorted by client id.",
    needs: "clients:read", exists: "broker", query: SessionsQuery, paged: SessionSchema,
  }, (c, { query }) => {
    const broker = mqtt(c);
    const sessions = broker.sessions(id(query.client_id))
      .filter((s) => query.connected === undefined || s.connected === query.connected)
      .sort((a, b) => byString(a.clientId, b.clientId));
    return page(c, sessions, (s) => sessionJson(s, broker.subscriptions(s.clientId).map((e) => e.topicFilter).sort(byString)), query);
  });

  route(app, registry, {
    method: "delete", path: `${B}/sessions/{client_id}`, id: "endSession", tag, summary: "End a session",
    description: "edgemq's. Ends a session now, connected or offline: its subscriptions, queued and in-flight messages go, and its pending will is published. A connected 5.0 client gets DISCONNECT 0x98 first. 404 when the broker has no session for that client id.",
    needs: "clients:disconnect", exists: "broker", result: EndSessionResultSchema,
  }, (c) => {
    const broker = mqtt(c);
    const clientId = pathParam(c, "client_id");
    const connected = broker.clients(clientId).length > 0;
    if (!broker.endSession(clientId, ReasonCode.AdministrativeAction, "an administrator ended the session")) {
      throw new ApiError(404, ErrorCode.NotFound, `broker "${pathParam(c, "broker")}" has no session for client "${clientId}"`);
    }
    return ok(c, { client_id: clientId, was_connected: connected, session: "discarded" });
  });

  route(app, registry, {
    method: "get", path: `${B}/subscriptions`, id: "listSubscriptions", tag, summary: "List subscriptions",
    description: "edgemq's. Every subscription of every session, sorted by client id and filter.",
    needs: "clients:read", exists: "broker", query: SubscriptionsQuery, paged: SubscriptionSchema,
  }, (c, { query }) => {
    const topic = query.topic;
    if (topic !== undefined) checkQueryTopic(topic, "topic", "it lists the subscriptions a message on that topic reaches; to find a filter as subscribed, use topic_filter");
    const subs = mqtt(c).subscriptions(id(query.client_id))
      .filter((e) => (topic === undefined || topicMatches(e.filter, topic)) && (query.topic_filter === undefined || e.topicFilter === query.topic_filter))
      .sort((a, b) => byString(a.clientId, b.clientId) || byString(a.topicFilter, b.topicFilter));
    return page(c, subs, subscriptionJson, query);
  });
}
