// A broker's connected clients, sessions and subscriptions (edgemq's).
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ReasonCode } from "@edgemq/core/codec";
import type { Registry } from "@edgemq/tenancy";
import { type AdminEnv, pathParam } from "../auth.ts";
import { checkQueryTopic } from "../broker-data.ts";
import { answerNodeQuery, type ClusterView, mergeListings, type NodeAnswer, type NodeQuery } from "../cluster-view.ts";
import { ApiError, ErrorCode } from "../envelope.ts";
import { paginate } from "../query.ts";
import { ok, route } from "../route.ts";
import {
  ClientSchema, ClientsQuery, DisconnectQuery, DisconnectResultSchema, EndSessionResultSchema, SessionSchema, SessionsQuery,
  SubscriptionSchema, SubscriptionsQuery,
} from "../schemas/live-state.ts";

/**
 * Mounts the routes of a broker's clients, sessions and subscriptions. With
 * a cluster, they are every node's, each with its `node`, and
 * a client is disconnected (a session ended) on the node that holds it.
 */
export function clientRoutes(app: OpenAPIHono<AdminEnv>, registry: Registry, cluster?: ClusterView): void {
  const tag = "Live state";
  const B = "/namespaces/{namespace}/brokers/{broker}";
  const id = (s: string | undefined) => (s === "" ? undefined : s);
  const where = (c: Context<AdminEnv>) => ({ namespace: pathParam(c, "namespace"), broker: pathParam(c, "broker") });
  const here = (q: NodeQuery): NodeAnswer => answerNodeQuery(registry, cluster?.nodeId ?? "", q);
  // A list of this node's items, or, clustered, of every node's, paginated once merged.
  const listing = async (c: Context<AdminEnv>, q: NodeQuery & { op: "clients" | "sessions" | "subscriptions" }, params: { page: number; per_page: number }) => {
    const own = here(q);
    // One node's answer holds its first page × per_page items only: the count is its total.
    const { items, total } = cluster === undefined ? { items: own.items!, total: own.total! } : mergeListings(own, await cluster.ask(q));
    const { items: slice, result_info } = paginate(items, params);
    return ok(c, slice, { ...result_info, total_count: total, total_pages: Math.ceil(total / params.per_page) });
  };
  // Done on every node that holds it (sessions are still each node's: one client id may be on two).
  const anywhere = async (q: NodeQuery & { op: "disconnect" | "end-session" }): Promise<NodeAnswer> => {
    const own = here(q);
    if (cluster === undefined) return own;
    const answers = [own, ...await cluster.ask(q)];
    return { node: own.node, done: answers.some((a) => a.done), wasConnected: answers.some((a) => a.wasConnected) };
  };

  route(app, registry, {
    method: "get", path: `${B}/clients`, id: "listClients", tag, summary: "List connected clients", description: "edgemq's. Sorted by client id.",
    needs: "clients:read", exists: "broker", query: ClientsQuery, paged: ClientSchema,
  }, (c, { query }) => listing(c, { op: "clients", ...where(c), clientId: id(query.client_id), upTo: query.page * query.per_page }, query));

  route(app, registry, {
    method: "delete", path: `${B}/clients/{client_id}`, id: "disconnectClient", tag, summary: "Disconnect a client",
    description: "edgemq's. A 5.0 client gets DISCONNECT 0x98 (Administrative action), older ones are closed; its will is published. 404 when the client is not connected. The client may connect again (revoke its credential to keep it out).",
    needs: "clients:disconnect", exists: "broker", query: DisconnectQuery, result: DisconnectResultSchema,
  }, async (c, { query }) => {
    const clientId = pathParam(c, "client_id");
    const discard = query.session === "discard";
    const { done } = await anywhere({ op: "disconnect", ...where(c), clientId, discard });
    if (!done) throw new ApiError(404, ErrorCode.NotFound, `no client "${clientId}" is connected to broker "${pathParam(c, "broker")}"`);
    return ok(c, { client_id: clientId, reason_code: ReasonCode.AdministrativeAction, session: discard ? "discarded" : "kept" });
  });

  route(app, registry, {
    method: "get", path: `${B}/sessions`, id: "listSessions", tag, summary: "List sessions", description: "edgemq's. Every session, connected or not, sorted by client id.",
    needs: "clients:read", exists: "broker", query: SessionsQuery, paged: SessionSchema,
  }, (c, { query }) => listing(c, { op: "sessions", ...where(c), clientId: id(query.client_id), connected: query.connected, upTo: query.page * query.per_page }, query));

  route(app, registry, {
    method: "delete", path: `${B}/sessions/{client_id}`, id: "endSession", tag, summary: "End a session",
    description: "edgemq's. Ends a session now, connected or offline: its subscriptions, queued and in-flight messages go, and its pending will is published. A connected 5.0 client gets DISCONNECT 0x98 first. 404 when the broker has no session for that client id.",
    needs: "clients:disconnect", exists: "broker", result: EndSessionResultSchema,
  }, async (c) => {
    const clientId = pathParam(c, "client_id");
    const { done, wasConnected } = await anywhere({ op: "end-session", ...where(c), clientId });
    if (!done) throw new ApiError(404, ErrorCode.NotFound, `broker "${pathParam(c, "broker")}" has no session for client "${clientId}"`);
    return ok(c, { client_id: clientId, was_connected: wasConnected === true, session: "discarded" });
  });

  route(app, registry, {
    method: "get", path: `${B}/subscriptions`, id: "listSubscriptions", tag, summary: "List subscriptions",
    description: "edgemq's. Every subscription of every session, sorted by client id and filter.",
    needs: "clients:read", exists: "broker", query: SubscriptionsQuery, paged: SubscriptionSchema,
  }, (c, { query }) => {
    const topic = query.topic;
    if (topic !== undefined) checkQueryTopic(topic, "topic", "it lists the subscriptions a message on that topic reaches; to find a filter as subscribed, use topic_filter");
    return listing(c, { op: "subscriptions", ...where(c), clientId: id(query.client_id), topic, topicFilter: query.topic_filter, upTo: query.page * query.per_page }, query);
  });
}
