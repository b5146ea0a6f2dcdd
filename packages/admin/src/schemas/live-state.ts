// A broker's live state (clients, sessions, subscriptions, retained messages)
// and publishing over HTTP: what the API takes and answers, as zod schemas.
import { z } from "@hono/zod-openapi";
import { rule } from "../issues.ts";
import { bool, int, PAGE_QUERY, str, time } from "./common.ts";

const clientIdQuery = z.string().optional().openapi({ description: "Only this client (exact client id)." });
// The document names every value: the generator would otherwise write a literal list as its first value alone (enum [0]).
const oneOf = <const T extends number[]>(...values: T) => z.literal(values).openapi({ type: "integer", enum: values });
const qos = oneOf(0, 1, 2);

/** `GET …/clients`. */
export const ClientsQuery = z.object({ client_id: clientIdQuery, ...PAGE_QUERY });

/** `GET …/sessions`. */
export const SessionsQuery = z.object({
  client_id: clientIdQuery,
  connected: rule(z.boolean().openapi({ description: "Only connected (true) or offline (false) sessions." }), "true or false", { json: true }).optional(),
  ...PAGE_QUERY,
});

/** `GET …/subscriptions`. */
export const SubscriptionsQuery = z.object({
  client_id: clientIdQuery,
  topic: z.string().optional().openapi({ description: "A topic name: only the subscriptions a message published there reaches (their filters match it)." }),
  topic_filter: z.string().optional().openapi({ description: "Only subscriptions to exactly this filter, as the client sent it (`$share/...` included). A literal `+` that fills a level is the wildcard; write `#` as `%23`." }),
  ...PAGE_QUERY,
});

/** `GET …/retained`. */
export const RetainedQuery = z.object({
  topic: z.string().default("#").openapi({ description: "An exact topic or a topic filter (`sensors/+/temperature`, `sensors/%23`); not `$share/`." }),
  ...PAGE_QUERY,
});

/** `DELETE …/retained`. */
export const RetainedDeleteQuery = z.object({
  topic: rule(z.string().openapi({ description: "An exact topic or a topic filter (`sensors/%23`)." }), "give the retained messages to delete: ?topic=<exact topic> or ?topic=<filter>, such as ?topic=sensors/%23 (# is %23 in a URL)"),
});

/** `DELETE …/clients/{client_id}`. */
export const DisconnectQuery = z.object({
  session: rule(z.enum(["keep", "discard"]).default("keep").openapi({ description: "`keep`: the session stays for its expiry interval; `discard`: it ends now, with its subscriptions and queued messages." }),
    `"keep" (the default: the session stays for its expiry interval) or "discard" (it ends now)`, { json: true }),
});

/** A connected client. */
export const ClientSchema = z.strictObject({
  client_id: str(""), username: str("The CONNECT user name.").nullable(),
  protocol_version: z.enum(["3.1", "3.1.1", "5.0"]), transport: z.enum(["tcp", "tls", "ws", "wss", "memory"]),
  remote_address: str(""), remote_port: int(""), server_name: str("The TLS SNI name or WebSocket Host it connected by.").nullable(),
  connected_at: time("When its CONNECT was accepted."),
  keep_alive: int("The keep alive the server enforces, in seconds; 0 for none."),
  clean_start: bool("Clean Start (5.0) or Clean Session (3.x)."),
  session_expiry_interval: int("Seconds the session outlives the connection; 4294967295 never expires."),
  jti: str("The id of the credential it connected with.").nullable(),
  credential_expires_at: time("When its credential expires; the connection ends then.").nullable(),
  subscriptions: int("How many subscriptions it holds."), inflight: int("QoS 1 and 2 messages sent to it and not yet acknowledged."),
  queued: int("Messages waiting for room in its receive window."), queued_bytes: int("Payload bytes of those."),
  node: str("The cluster node it is connected to; only when edgemq runs as a cluster (--cluster).").optional(),
}).openapi("Client");

/** A session, connected or not. */
export const SessionSchema = z.strictObject({
  client_id: str(""), connected: bool(""),
  expiry_interval: int("Seconds the session outlives its connection; 4294967295 never expires."),
  never_expires: bool("Whether expiry_interval is 4294967295."),
  expires_at: time("When an offline session ends; null while connected or if it never expires.").nullable(),
  subscriptions: int("How many subscriptions it holds."),
  topic_filters: z.array(z.string()).openapi({ description: "Its subscriptions' filters, as subscribed." }),
  inflight: int("Messages in flight."), queued: int("Messages queued."), queued_bytes: int("Payload bytes queued."),
  will_pending: bool("Whether a will waits for its delay to pass."),
  node: str("The cluster node that holds it; only when edgemq runs as a cluster (--cluster).").optional(),
}).openapi("Session");

/** A subscription. */
export const SubscriptionSchema = z.strictObject({
  client_id: str(""), topic_filter: str("As the client sent it, `$share/<group>/` included."), filter: str("Without `$share/<group>/`."),
  share_group: str("The share group of a shared subscription.").nullable(), qos,
  no_local: bool(""), retain_as_published: bool(""), retain_handling: oneOf(0, 1, 2),
  subscription_identifier: int("").nullable(),
  node: str("The cluster node of its session; only when edgemq runs as a cluster (--cluster).").optional(),
}).openapi("Subscription");

const U32 = 0xffffffff;

/** MQTT 5.0 PUBLISH properties, as a message shows and takes them. */
export const MessagePropertiesSchema = rule(z.strictObject({
  contentType: rule(z.string().openapi({ description: "A MIME type, such as `application/json`." }), `a MIME type string such as "application/json"`).optional(),
  payloadFormatIndicator: oneOf(0, 1).optional().openapi({ description: "1: the payload is UTF-8 text (checked); 0: bytes." }),
  messageExpiryInterval: rule(z.int().min(0).max(U32).openapi({ description: "Seconds the message lives; in a listed retained message, the seconds left." }), `a whole number from 0 to ${U32}`).optional(),
  responseTopic: rule(z.string().openapi({ description: "A topic name for a reply (no wildcards)." }), "a topic name").optional(),
  correlationData: rule(z.string().openapi({ description: "Bytes, as base64." }), "base64 bytes").optional(),
  userProperties: rule(z.array(rule(z.tuple([z.string(), z.string()]), "a [name, value] pair of strings")).openapi({ description: "Name and value pairs, order and repeats kept." }),
    `an array of [name, value] string pairs, such as [["unit", "celsius"]]`).optional(),
}).openapi({ description: "MQTT 5.0 PUBLISH properties. Subscribers on 3.1.1 do not receive them." }), `an object such as {"contentType": "text/plain"}`).openapi("MessageProperties");

/** A retained message. */
export const RetainedMessageSchema = z.strictObject({
  topic: str(""), payload: z.string().openapi({ description: "The payload, base64." }),
  payload_utf8: str("The payload as text, when it is well-formed UTF-8.").nullable(),
  qos, properties: MessagePropertiesSchema,
  stored_at: time("When the broker received it."), expires_at: time("When its Message Expiry Interval runs out.").nullable(),
}).openapi("RetainedMessage");

/** `POST …/publish`. */
export const PublishRequestSchema = z.strictObject({
  topic: rule(z.string().openapi({ description: "A topic name: no wildcards, not starting with `$`, within the broker's length and depth limits." }), `a topic name such as "sensors/room-1"`),
  payload: rule(z.string().openapi({ description: "UTF-8 text, or base64 with `encoding: \"base64\"`; `\"\"` for an empty payload (which, retained, deletes the topic's retained message)." }),
    `a string: UTF-8 text, or base64 with "encoding": "base64" ("" for an empty payload)`),
  encoding: z.enum(["utf8", "base64"]).default("utf8"),
  qos: qos.default(0),
  retain: z.boolean().default(false),
  properties: MessagePropertiesSchema.nullable().optional(),
}).openapi("PublishRequest");

/** What a publish reached. */
export const PublishResultSchema = z.strictObject({ matched: int("How many subscribers the message was routed to (sessions, one per share group).") }).openapi("PublishResult");

/** What a disconnect did. */
export const DisconnectResultSchema = z.strictObject({
  client_id: str(""), reason_code: z.literal(0x98).openapi({ description: "Administrative action." }), session: z.enum(["kept", "discarded"]),
}).openapi("DisconnectResult");

/** What ending a session did. */
export const EndSessionResultSchema = z.strictObject({
  client_id: str(""), was_connected: bool("Whether a connected client was disconnected (0x98) to end it."), session: z.literal("discarded"),
}).openapi("EndSessionResult");

/** What deleting retained messages did. */
export const RetainedDeletedSchema = z.strictObject({ deleted: int("How many retained messages were deleted.") });
