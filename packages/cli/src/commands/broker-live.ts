import { apiFor } from "../api-client.ts";
import { API_FLAGS } from "../api-flags.ts";
import { emit } from "../output.ts";
import type { CommandSpec } from "../spec.ts";
import { type Column, formatTable } from "../table.ts";
import { BROKER_NAME, brokerLabel, brokerPath, NAMESPACE_FLAG } from "./broker-flags.ts";

/** A connected client as `/clients` lists it (the fields the table shows). */
export interface ClientInfo {
  client_id: string;
  username: string | null;
  protocol_version: string;
  transport: string;
  remote_address: string;
  remote_port: number;
  connected_at: string;
  jti: string | null;
  subscriptions: number;
  queued: number;
  /** The cluster node it is connected to (only from a cluster). */
  node?: string;
}

/** A session as `/sessions` lists it (the fields the table shows). */
export interface SessionInfo {
  client_id: string;
  connected: boolean;
  expires_at: string | null;
  never_expires: boolean;
  topic_filters: string[];
  queued: number;
  inflight: number;
  /** The cluster node that holds it (only from a cluster). */
  node?: string;
}

/** A subscription as `/subscriptions` lists it (the fields the table shows). */
export interface SubscriptionInfo {
  client_id: string;
  topic_filter: string;
  qos: number;
  no_local: boolean;
  /** The cluster node of its session (only from a cluster). */
  node?: string;
}

/** A retained message as `/retained` lists it (the fields the table shows). */
export interface RetainedInfo {
  topic: string;
  payload: string;
  payload_utf8: string | null;
  qos: number;
  stored_at: string;
}

// A NODE column after the client id, when the answer came from a cluster (its items name their node).
function withNode<T extends { node?: string }>(rows: readonly T[], columns: Column<T>[]): Column<T>[] {
  return rows.some((r) => r.node !== undefined) ? [columns[0]!, { header: "node", value: (r) => r.node }, ...columns.slice(1)] : columns;
}

const CLIENT_FILTER = { name: "client-id", value: "<id>", description: "only this client (its exact id)" } as const;

const clients: CommandSpec = {
  path: ["broker", "clients"],
  summary: "list the clients connected to a broker now",
  details: "Calls GET /namespaces/<ns>/brokers/<name>/clients (edgemq's), every page. From a cluster, every node's, with a NODE column.",
  args: [BROKER_NAME],
  flags: [NAMESPACE_FLAG, CLIENT_FILTER, ...API_FLAGS],
  examples: ["edgemq broker clients sensors --namespace acme"],
  async run(input, io) {
    const all = await apiFor(input, io.env).all<ClientInfo>(brokerPath(input, "clients"), { client_id: input.string("client-id") });
    emit(io, input, all, () => all.length === 0
      ? `No clients connected to ${brokerLabel(input)}.`
      : formatTable(all, withNode(all, [
        { header: "client id", value: (c) => c.client_id },
        { header: "username", value: (c) => c.username },
        { header: "mqtt", value: (c) => c.protocol_version },
        { header: "transport", value: (c) => c.transport },
        { header: "address", value: (c) => `${c.remote_address}:${c.remote_port}` },
        { header: "connected at", value: (c) => c.connected_at },
        { header: "subs", value: (c) => c.subscriptions },
        { header: "queued", value: (c) => c.queued },
        { header: "jti", value: (c) => c.jti },
      ])));
  },
};

const disconnect: CommandSpec = {
  path: ["broker", "disconnect"],
  summary: "disconnect a client (DISCONNECT 0x98, administrative action)",
  details: "Calls DELETE /namespaces/<ns>/brokers/<name>/clients/<client id> (edgemq's). Its session stays for its expiry interval unless --discard-session. The client may reconnect: revoke its credential to keep it out.",
  args: [BROKER_NAME],
  flags: [
    NAMESPACE_FLAG,
    { name: "client-id", value: "<id>", required: true, description: "the client to disconnect" },
    { name: "discard-session", description: "end its session too (subscriptions and queued messages)" },
    ...API_FLAGS,
  ],
  examples: ["edgemq broker disconnect sensors --namespace acme --client-id device-1"],
  async run(input, io) {
    const id = input.string("client-id")!;
    const result = await apiFor(input, io.env).result<{ client_id: string; reason_code: number; session: string }>(
      "DELETE", brokerPath(input, "clients", id), { query: { session: input.has("discard-session") ? "discard" : "keep" } },
    );
    emit(io, input, result, () => `Disconnected client "${id}" from ${brokerLabel(input)}; its session was ${result.session}.`);
  },
};

const endSession: CommandSpec = {
  path: ["broker", "end-session"],
  summary: "end a session now, connected or offline (its pending will is published)",
  details: "Calls DELETE /namespaces/<ns>/brokers/<name>/sessions/<client id> (edgemq's). Its subscriptions and queued messages go; a connected client gets DISCONNECT 0x98 first.",
  args: [BROKER_NAME],
  flags: [
    NAMESPACE_FLAG,
    { name: "client-id", value: "<id>", required: true, description: "the client whose session ends" },
    ...API_FLAGS,
  ],
  examples: ["edgemq broker end-session sensors --namespace acme --client-id device-1"],
  async run(input, io) {
    const id = input.string("client-id")!;
    const result = await apiFor(input, io.env).result<{ client_id: string; was_connected: boolean; session: string }>("DELETE", brokerPath(input, "sessions", id));
    emit(io, input, result, () => `Ended the session of "${id}" on ${brokerLabel(input)}${result.was_connected ? " (the client was connected and got DISCONNECT 0x98)" : ""}.`);
  },
};

const sessions: CommandSpec = {
  path: ["broker", "sessions"],
  summary: "list a broker's sessions, connected or kept for later",
  details: "Calls GET /namespaces/<ns>/brokers/<name>/sessions (edgemq's), every page. From a cluster, every node's, with a NODE column.",
  args: [BROKER_NAME],
  flags: [NAMESPACE_FLAG, CLIENT_FILTER, ...API_FLAGS],
  examples: ["edgemq broker sessions sensors --namespace acme"],
  async run(input, io) {
    const all = await apiFor(input, io.env).all<SessionInfo>(brokerPath(input, "sessions"), { client_id: input.string("client-id") });
    emit(io, input, all, () => all.length === 0
      ? `No sessions on ${brokerLabel(input)}.`
      : formatTable(all, withNode(all, [
        { header: "client id", value: (s) => s.client_id },
        { header: "connected", value: (s) => (s.connected ? "yes" : "no") },
        { header: "expires", value: (s) => (s.never_expires ? "never" : s.expires_at ?? (s.connected ? "on disconnect" : "-")) },
        { header: "topic filters", value: (s) => s.topic_filters },
        { header: "queued", value: (s) => s.queued },
        { header: "inflight", value: (s) => s.inflight },
      ])));
  },
};

const subscriptions: CommandSpec = {
  path: ["broker", "subscriptions"],
  summary: "list a broker's subscriptions",
  details: "Calls GET /namespaces/<ns>/brokers/<name>/subscriptions (edgemq's), every page. --topic lists those a message on that topic would reach. From a cluster, every node's, with a NODE column.",
  args: [BROKER_NAME],
  flags: [NAMESPACE_FLAG, CLIENT_FILTER, { name: "topic", short: "t", value: "<topic>", description: "only subscriptions matching this topic name" }, ...API_FLAGS],
  examples: ["edgemq broker subscriptions sensors --namespace acme --topic sensors/room-1"],
  async run(input, io) {
    const all = await apiFor(input, io.env).all<SubscriptionInfo>(brokerPath(input, "subscriptions"), {
      client_id: input.string("client-id"), topic: input.string("topic"),
    });
    emit(io, input, all, () => all.length === 0
      ? `No subscriptions on ${brokerLabel(input)}${input.has("topic") ? ` match "${input.string("topic")}"` : ""}.`
      : formatTable(all, withNode(all, [
        { header: "client id", value: (s) => s.client_id },
        { header: "topic filter", value: (s) => s.topic_filter },
        { header: "qos", value: (s) => s.qos },
        { header: "no local", value: (s) => (s.no_local ? "yes" : "no") },
      ])));
  },
};

const TOPIC_FILTER = { name: "topic", short: "t", value: "<filter>", description: "a topic or filter such as sensors/# (default #: all)" } as const;

const retained: CommandSpec = {
  path: ["broker", "retained"],
  summary: "list a broker's retained messages",
  details: "Calls GET /namespaces/<ns>/brokers/<name>/retained (edgemq's), every page. Payloads that are not UTF-8 show as base64.",
  args: [BROKER_NAME],
  flags: [NAMESPACE_FLAG, TOPIC_FILTER, ...API_FLAGS],
  examples: ["edgemq broker retained sensors --namespace acme --topic 'sensors/#'"],
  async run(input, io) {
    const all = await apiFor(input, io.env).all<RetainedInfo>(brokerPath(input, "retained"), { topic: input.string("topic") });
    emit(io, input, all, () => all.length === 0
      ? `No retained messages on ${brokerLabel(input)}${input.has("topic") ? ` match "${input.string("topic")}"` : ""}.`
      : formatTable(all, [
        { header: "topic", value: (m) => m.topic },
        { header: "qos", value: (m) => m.qos },
        { header: "stored at", value: (m) => m.stored_at },
        { header: "payload", value: (m) => m.payload_utf8 ?? `base64:${m.payload}` },
      ]));
  },
};

const clearRetained: CommandSpec = {
  path: ["broker", "clear-retained"],
  summary: "delete retained messages by topic or filter",
  details: "Calls DELETE /namespaces/<ns>/brokers/<name>/retained?topic=… (edgemq's).",
  args: [BROKER_NAME],
  flags: [NAMESPACE_FLAG, { ...TOPIC_FILTER, required: true, description: "the topic, or a filter such as sensors/# for many" }, ...API_FLAGS],
  examples: ["edgemq broker clear-retained sensors --namespace acme --topic 'sensors/#'"],
  async run(input, io) {
    const result = await apiFor(input, io.env).result<{ deleted: number }>("DELETE", brokerPath(input, "retained"), { query: { topic: input.string("topic") } });
    emit(io, input, result, () => `Deleted ${result.deleted} retained message${result.deleted === 1 ? "" : "s"} on ${brokerLabel(input)}.`);
  },
};

const publish: CommandSpec = {
  path: ["broker", "publish"],
  summary: "publish a message through the admin API, without an MQTT connection",
  details: "Calls POST /namespaces/<ns>/brokers/<name>/publish (edgemq's). Prints how many subscriptions it matched.",
  args: [BROKER_NAME],
  flags: [
    NAMESPACE_FLAG,
    { name: "topic", short: "t", value: "<topic>", required: true, description: "the topic name" },
    { name: "message", short: "m", value: "<text>", required: true, description: "the payload, as UTF-8 text" },
    { name: "qos", short: "q", value: "<0|1|2>", choices: ["0", "1", "2"], description: "QoS (default 0)" },
    { name: "retain", short: "r", description: "keep it as the topic's retained message" },
    { name: "content-type", value: "<mime>", description: "the Content Type property, e.g. application/json" },
    ...API_FLAGS,
  ],
  examples: ["edgemq broker publish sensors --namespace acme -t sensors/room-1 -m 21.5 --retain"],
  async run(input, io) {
    const contentType = input.string("content-type");
    const result = await apiFor(input, io.env).result<{ matched: number }>("POST", brokerPath(input, "publish"), {
      body: {
        topic: input.string("topic"), payload: input.string("message"), qos: Number(input.string("qos") ?? "0"), retain: input.has("retain"),
        ...(contentType !== undefined ? { properties: { contentType } } : {}),
      },
    });
    emit(io, input, result, () => `Published to "${input.string("topic")}" on ${brokerLabel(input)}; it matched ${result.matched} subscription${result.matched === 1 ? "" : "s"}.`);
  },
};

/** `broker clients|disconnect|sessions|subscriptions|retained|clear-retained|publish`: a broker's live state (edgemq's routes). */
export const BROKER_LIVE_COMMANDS: readonly CommandSpec[] = [clients, disconnect, endSession, sessions, subscriptions, retained, clearRetained, publish];
