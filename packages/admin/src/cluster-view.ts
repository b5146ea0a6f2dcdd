// The admin API across a cluster's nodes (issue 12): a broker's clients and
// sessions live on the node each client is connected to, so listing them asks
// every node, and disconnecting one reaches the node that holds it. This
// package knows no NATS: the server gives it a ClusterView that carries
// NodeQuery and NodeAnswer (plain JSON) to the other nodes, and each node
// answers with answerNodeQuery.
import { topicMatches } from "@edgemq/core";
import { ReasonCode } from "@edgemq/core/codec";
import type { Registry } from "@edgemq/tenancy";
import { byString, clientJson, sessionJson, subscriptionJson } from "./broker-data.ts";

/** A question about one broker's live state that every node answers for itself. */
export type NodeQuery =
  /** Its connected clients, sorted by client id: the first `upTo` of them, and how many in all. */
  | { op: "clients"; namespace: string; broker: string; clientId?: string; upTo: number }
  /** Its sessions likewise, connected or offline. */
  | { op: "sessions"; namespace: string; broker: string; clientId?: string; connected?: boolean; upTo: number }
  /** Its subscriptions, sorted by client id and filter, only those a message on `topic` reaches, or on exactly `topicFilter`, when given. */
  | { op: "subscriptions"; namespace: string; broker: string; clientId?: string; topic?: string; topicFilter?: string; upTo: number }
  /** Disconnect this client if it is connected here (0x98), ending its session with `discard`. */
  | { op: "disconnect"; namespace: string; broker: string; clientId: string; discard: boolean }
  /** End this client's session if it is here. */
  | { op: "end-session"; namespace: string; broker: string; clientId: string };

/** One node's answer to a {@link NodeQuery}. */
export interface NodeAnswer {
  /** The node that answered. */
  node: string;
  /** Listings: how many match on that node. */
  total?: number;
  /** Listings: the first of them, as the API shows them, sorted by client id. */
  items?: Record<string, unknown>[];
  /** Disconnect or end-session: whether that node held the client or session. */
  done?: boolean;
  /** End-session: whether the client was connected there. */
  wasConnected?: boolean;
}

/** The cluster as the admin API sees it: this node's id, and a way to ask every other node. */
export interface ClusterView {
  /** This node's id in the cluster. */
  readonly nodeId: string;
  /** Asks every other node; resolves with the answers that came within a short, bounded wait (none when alone). */
  ask(query: NodeQuery): Promise<NodeAnswer[]>;
}

/** How this node answers a {@link NodeQuery} (its own clients and sessions only); a broker it does not have has none. */
export function answerNodeQuery(registry: Registry, nodeId: string, query: NodeQuery): NodeAnswer {
  const { namespace, broker: name } = query;
  if (typeof namespace !== "string" || typeof name !== "string" || !registry.hasBroker(namespace, name)) return { node: nodeId, total: 0, items: [], done: false };
  const broker = registry.broker(namespace, name);
  const id = typeof query.clientId === "string" && query.clientId !== "" ? query.clientId : undefined;
  switch (query.op) {
    case "clients": {
      const clients = broker.clients(id).sort((a, b) => byString(a.clientId, b.clientId));
      return { node: nodeId, total: clients.length, items: clients.slice(0, query.upTo).map(clientJson) };
    }
    case "sessions": {
      const sessions = broker.sessions(id)
        .filter((s) => query.connected === undefined || s.connected === query.connected)
        .sort((a, b) => byString(a.clientId, b.clientId));
      const items = sessions.slice(0, query.upTo).map((s) => sessionJson(s, broker.subscriptions(s.clientId).map((e) => e.topicFilter).sort(byString)));
      return { node: nodeId, total: sessions.length, items };
    }
    case "subscriptions": {
      const { topic, topicFilter } = query;
      const subs = broker.subscriptions(id)
        .filter((e) => (typeof topic !== "string" || topicMatches(e.filter, topic)) && (typeof topicFilter !== "string" || e.topicFilter === topicFilter))
        .sort((a, b) => byString(a.clientId, b.clientId) || byString(a.topicFilter, b.topicFilter));
      return { node: nodeId, total: subs.length, items: subs.slice(0, query.upTo).map(subscriptionJson) };
    }
    case "disconnect": {
      const done = broker.disconnectClient(query.clientId, ReasonCode.AdministrativeAction, {
        reason: "an administrator disconnected the client", discardSession: query.discard === true,
      });
      return { node: nodeId, done };
    }
    case "end-session": {
      const wasConnected = broker.clients(query.clientId).length > 0;
      const done = broker.endSession(query.clientId, ReasonCode.AdministrativeAction, "an administrator ended the session");
      return { node: nodeId, done, wasConnected };
    }
    default:
      return { node: nodeId, done: false };
  }
}

/**
 * One list of the whole cluster: this node's items and the others', each with
 * its `node`, sorted by client id (and a subscription's filter); `total` counts every node's matches (each
 * node sent only its first `upTo`, which is all a page up to `upTo` needs).
 */
export function mergeListings(own: NodeAnswer, others: readonly NodeAnswer[]): { items: Record<string, unknown>[]; total: number } {
  const items: Record<string, unknown>[] = [];
  let total = 0;
  for (const answer of [own, ...others]) {
    total += answer.total ?? 0;
    for (const item of answer.items ?? []) items.push({ ...item, node: answer.node });
  }
  const text = (v: unknown) => (typeof v === "string" ? v : "");
  items.sort((a, b) => byString(text(a.client_id), text(b.client_id)) || byString(text(a.topic_filter), text(b.topic_filter)) || byString(text(a.node), text(b.node)));
  return { items, total };
}
