/**
 * The OpenAPI 3.1 document of the whole admin API: Cloudflare Pub/Sub's
 * routes, and edgemq's own (key rotation, API tokens, a broker's clients,
 * sessions, subscriptions and retained messages, publishing over HTTP).
 * Served without authentication at `GET /client/v4/accounts/{account_id}/pubsub/openapi.json`
 * and `GET /openapi.json`. A unit test walks the app's routes against
 * `paths`, so that a route added without its documentation fails.
 */

import { BASE, bool, BROKER, CLIENT_ID_QUERY, envelope, input, int, limitProps, nullable, obj, op, PAGE, param, PRESET, PROPERTIES, q, ref, type Roles, str, TIME, time } from "./openapi-parts.ts";

/** The document. */
export const OPENAPI_DOCUMENT = {
  openapi: "3.1.0",
  info: {
    title: "edgemq admin API",
    version: "1.0.0",
    summary: "Cloudflare Pub/Sub's management API, self-hosted, and more.",
    description: [
      "Namespaces, brokers, credentials, public keys and revocations at Cloudflare Pub/Sub's paths with its field names and query parameters, so that a script written for Cloudflare needs only its host changed; and, beyond Cloudflare, key rotation, API tokens with roles, a broker's connected clients, sessions, subscriptions and retained messages, and publishing over HTTP.",
      "Every answer is Cloudflare's envelope `{result, success, errors, messages}` (plus `result_info` on paginated lists); errors carry `{code, message}`: 1000 internal error, 1001 invalid request, 1004 not found, 1009 name taken or last Admin token, 1010 namespace not empty, 1013 body too large, 1015 not supported, 1029 limit reached, 7000 no such route, 10000 authentication, 10001 forbidden.",
      "Authenticate with `Authorization: Bearer <API token>`. MQTT credentials (JWTs) are not API tokens. Roles: **Admin** (namespaces and brokers), **User** (brokers only; views namespaces), **Viewer** (views only); each token covers every namespace (`*`) or a list of them.",
      "Request bodies are JSON objects; unknown fields, wrong types and out-of-range values get 400 with a message that names the field.",
    ].join("\n\n"),
    license: { name: "MIT", identifier: "MIT" },
  },
  servers: [{ url: "/", description: "This server's admin listener (--admin-port)." }],
  security: [{ apiToken: [] }],
  tags: [
    { name: "Namespaces", description: "Groups of brokers (Cloudflare's)." },
    { name: "Brokers", description: "MQTT brokers (Cloudflare's)." },
    { name: "Credentials", description: "Client credentials, keys and revocations (Cloudflare's, plus key rotation)." },
    { name: "Live state", description: "A broker's clients, sessions, subscriptions and retained messages, and publishing (edgemq's)." },
    { name: "API tokens", description: "Tokens for this API (edgemq's)." },
    { name: "Documentation", description: "This document." },
  ],
  paths: {
    [`${BASE}/namespaces`]: {
      parameters: [param("account_id")],
      get: op({ id: "listNamespaces", tag: "Namespaces", summary: "List namespaces", description: "Only the namespaces the token covers, oldest first.", roles: "any", query: PAGE, paged: ref("Namespace") }),
      post: op({ id: "createNamespace", tag: "Namespaces", summary: "Create a namespace", description: "A name already taken gets 400 (code 1009), as on Cloudflare.", roles: "admin", body: ref("NamespaceCreate"), result: ref("Namespace") }),
    },
    [`${BASE}/namespaces/{namespace}`]: {
      parameters: [param("account_id"), param("namespace")],
      get: op({ id: "getNamespace", tag: "Namespaces", summary: "Get a namespace", roles: "any", result: ref("Namespace"), errors: [404] }),
      delete: op({ id: "deleteNamespace", tag: "Namespaces", summary: "Delete a namespace", description: "Only an empty one: a namespace with brokers gets 409.", roles: "admin", errors: [404, 409] }),
    },
    [`${BASE}/namespaces/{namespace}/brokers`]: {
      parameters: [param("account_id"), param("namespace")],
      get: op({ id: "listBrokers", tag: "Brokers", summary: "List a namespace's brokers", roles: "any", query: PAGE, paged: ref("Broker"), errors: [404] }),
      post: op({ id: "createBroker", tag: "Brokers", summary: "Create a broker", roles: "user", body: ref("BrokerCreate"), result: ref("Broker"), errors: [404] }),
    },
    [BROKER]: {
      parameters: [param("account_id"), param("namespace"), param("broker")],
      get: op({ id: "getBroker", tag: "Brokers", summary: "Get a broker", roles: "any", result: ref("Broker"), errors: [404] }),
      patch: op({ id: "updateBroker", tag: "Brokers", summary: "Change a broker", description: "Absent fields stay; `null` clears `description`, `expiration` or `on_publish`. The name and auth type cannot change.", roles: "user", body: ref("BrokerUpdate"), result: ref("Broker"), errors: [404] }),
      delete: op({ id: "deleteBroker", tag: "Brokers", summary: "Delete a broker", description: "Its connected clients get DISCONNECT 0x98 (Administrative action).", roles: "user", errors: [404] }),
    },
    [`${BROKER}/credentials`]: {
      parameters: [param("account_id"), param("namespace"), param("broker")],
      get: op({
        id: "issueCredentials", tag: "Credentials", summary: "Issue credentials",
        description: "Issued with GET, as on Cloudflare. Each credential is a JWT (EdDSA) to use as the MQTT password, with the client id as `sub`.",
        roles: "user", errors: [404],
        query: [
          q("number", { type: "integer", minimum: 1, maximum: 100, default: 1 }, "How many; given client ids count toward it."),
          q("type", { type: "string", enum: ["TOKEN"], default: "TOKEN" }, "Only TOKEN."),
          q("clientid", { type: "array", items: { type: "string" } }, "Client ids to issue for (repeat the parameter); more are generated up to `number`.", { style: "form", explode: true }),
          q("topicAcl", { type: "string", default: "#" }, "Topic rights: `#`, or `pub:`/`sub:` filters; a literal `+` that fills a level is the wildcard."),
          q("expiration", { type: "integer", minimum: -1 }, "Lifetime in seconds (the broker's, if shorter, wins); -1 for none, which only a broker without an expiration grants (otherwise its expiration applies)."),
        ],
        result: { type: "object", description: "Client id → JWT.", additionalProperties: { type: "string" } },
      }),
    },
    [`${BROKER}/publickeys`]: {
      parameters: [param("account_id"), param("namespace"), param("broker")],
      get: op({ id: "getPublicKeys", tag: "Credentials", summary: "Get the broker's public keys", description: "The keys that verify its credentials, newest first.", roles: "any", result: ref("PublicKeys"), errors: [404] }),
    },
    [`${BROKER}/keys/rotate`]: {
      parameters: [param("account_id"), param("namespace"), param("broker")],
      post: op({ id: "rotateKeys", tag: "Credentials", summary: "Rotate the broker's keys", description: "edgemq's: a new key signs from now on, the current one still verifies, the one before it no longer does. Returns the new public keys.", roles: "user", result: ref("PublicKeys"), errors: [404] }),
    },
    [`${BROKER}/revocations`]: {
      parameters: [param("account_id"), param("namespace"), param("broker")],
      get: op({ id: "listRevocations", tag: "Credentials", summary: "List revoked credentials", roles: "any", query: PAGE, paged: { type: "string", description: "A revoked `jti`; oldest first." }, errors: [404] }),
      post: op({ id: "revokeCredentials", tag: "Credentials", summary: "Revoke credentials", description: "Refused at CONNECT from now on; live sessions using them get DISCONNECT 0x98 at once.", roles: "user", query: [param("jti")], errors: [404] }),
      delete: op({ id: "unrevokeCredentials", tag: "Credentials", summary: "Take revocations back", roles: "user", query: [param("jti")], errors: [404] }),
    },
    [`${BROKER}/clients`]: {
      parameters: [param("account_id"), param("namespace"), param("broker")],
      get: op({ id: "listClients", tag: "Live state", summary: "List connected clients", description: "edgemq's. Sorted by client id.", roles: "any", query: [CLIENT_ID_QUERY, ...PAGE], paged: ref("Client"), errors: [404] }),
    },
    [`${BROKER}/clients/{client_id}`]: {
      parameters: [param("account_id"), param("namespace"), param("broker"), param("client_id")],
      delete: op({
        id: "disconnectClient", tag: "Live state", summary: "Disconnect a client",
        description: "edgemq's. A 5.0 client gets DISCONNECT 0x98 (Administrative action), older ones are closed; its will is published. 404 when the client is not connected. The client may connect again (revoke its credential to keep it out).",
        roles: "user", errors: [404],
        query: [q("session", { type: "string", enum: ["keep", "discard"], default: "keep" }, "`keep`: the session stays for its expiry interval; `discard`: it ends now, with its subscriptions and queued messages.")],
        result: ref("DisconnectResult"),
      }),
    },
    [`${BROKER}/sessions/{client_id}`]: {
      parameters: [param("account_id"), param("namespace"), param("broker"), param("client_id")],
      delete: op({
        id: "endSession", tag: "Live state", summary: "End a session",
        description: "edgemq's. Ends a session now, connected or offline: its subscriptions, queued and in-flight messages go, and its pending will is published. A connected 5.0 client gets DISCONNECT 0x98 first. 404 when the broker has no session for that client id.",
        roles: "user", errors: [404],
        result: ref("EndSessionResult"),
      }),
    },
    [`${BROKER}/sessions`]: {
      parameters: [param("account_id"), param("namespace"), param("broker")],
      get: op({
        id: "listSessions", tag: "Live state", summary: "List sessions", description: "edgemq's. Every session, connected or not, sorted by client id.", roles: "any",
        query: [CLIENT_ID_QUERY, q("connected", { type: "boolean" }, "Only connected (true) or offline (false) sessions."), ...PAGE], paged: ref("Session"), errors: [404],
      }),
    },
    [`${BROKER}/subscriptions`]: {
      parameters: [param("account_id"), param("namespace"), param("broker")],
      get: op({
        id: "listSubscriptions", tag: "Live state", summary: "List subscriptions", description: "edgemq's. Every subscription of every session, sorted by client id and filter.", roles: "any",
        query: [
          CLIENT_ID_QUERY,
          q("topic", { type: "string" }, "A topic name: only the subscriptions a message published there reaches (their filters match it)."),
          q("topic_filter", { type: "string" }, "Only subscriptions to exactly this filter, as the client sent it (`$share/...` included). A literal `+` that fills a level is the wildcard; write `#` as `%23`."),
          ...PAGE,
        ],
        paged: ref("Subscription"), errors: [404],
      }),
    },
    [`${BROKER}/retained`]: {
      parameters: [param("account_id"), param("namespace"), param("broker")],
      get: op({
        id: "listRetained", tag: "Live state", summary: "List retained messages", description: "edgemq's. Sorted by topic. `$` topics appear only for a filter that names them, such as `$SYS/#`.", roles: "any",
        query: [q("topic", { type: "string", default: "#" }, "An exact topic or a topic filter (`sensors/+/temperature`, `sensors/%23`); not `$share/`."), ...PAGE],
        paged: ref("RetainedMessage"), errors: [404],
      }),
      delete: op({
        id: "deleteRetained", tag: "Live state", summary: "Delete retained messages", description: "edgemq's. Deletes the retained messages on an exact topic or matching a filter, in memory and in the store, without sending anything to subscribers; answers once the store has committed.", roles: "user",
        query: [q("topic", { type: "string" }, "An exact topic or a topic filter (`sensors/%23`); required.", { required: true })],
        result: obj({ deleted: int("How many retained messages were deleted.") }), errors: [404],
      }),
    },
    [`${BROKER}/publish`]: {
      parameters: [param("account_id"), param("namespace"), param("broker")],
      post: op({
        id: "publish", tag: "Live state", summary: "Publish a message",
        description: "edgemq's. Published by the server itself (no client, so no topicAcl of a publisher applies; each subscriber's does at delivery). Answers once the store has committed what the message changed.",
        roles: "user", body: ref("PublishRequest"), result: ref("PublishResult"), errors: [404],
      }),
    },
    [`${BASE}/tokens`]: {
      parameters: [param("account_id")],
      get: op({ id: "listApiTokens", tag: "API tokens", summary: "List API tokens", description: "Never their secrets.", roles: "superadmin", query: PAGE, paged: ref("ApiToken") }),
      post: op({ id: "createApiToken", tag: "API tokens", summary: "Create an API token", description: "The secret (`value`) is shown in this answer only; only its SHA-256 is kept.", roles: "superadmin", body: ref("ApiTokenCreate"), result: ref("ApiTokenCreated") }),
    },
    [`${BASE}/tokens/{token_id}`]: {
      parameters: [param("account_id"), param("token_id")],
      get: op({ id: "getApiToken", tag: "API tokens", summary: "Get an API token", roles: "superadmin", result: ref("ApiToken"), errors: [404] }),
      delete: op({ id: "deleteApiToken", tag: "API tokens", summary: "Delete an API token", description: "It stops working at once. The last Admin for every namespace cannot be deleted (400, code 1009).", roles: "superadmin", errors: [404] }),
    },
    [`${BASE}/openapi.json`]: {
      parameters: [param("account_id")],
      get: { ...op({ id: "getOpenApi", tag: "Documentation", summary: "This document", roles: "none" }), responses: { 200: { description: "The OpenAPI 3.1 document (not in the envelope).", content: { "application/json": { schema: { type: "object" } } } } } },
    },
    "/openapi.json": {
      get: { ...op({ id: "getOpenApiAtRoot", tag: "Documentation", summary: "This document, at the root", roles: "none" }), responses: { 200: { description: "The OpenAPI 3.1 document (not in the envelope).", content: { "application/json": { schema: { type: "object" } } } } } },
    },
  },
  components: {
    securitySchemes: {
      apiToken: {
        type: "http", scheme: "bearer", bearerFormat: "opaque API token (emq_...)",
        description: "An API token: the one printed at first start or set in configuration, or one created through `POST /tokens`.",
      },
    },
    parameters: {
      account_id: { name: "account_id", in: "path", required: true, schema: { type: "string" }, description: "Any account id, unless the server is configured to serve only one." },
      namespace: { name: "namespace", in: "path", required: true, schema: { type: "string" }, description: "A namespace name (case-insensitive)." },
      broker: { name: "broker", in: "path", required: true, schema: { type: "string" }, description: "A broker name (case-insensitive)." },
      client_id: { name: "client_id", in: "path", required: true, schema: { type: "string" }, description: "A client id, percent-encoded (`/` as `%2F`)." },
      token_id: { name: "token_id", in: "path", required: true, schema: { type: "string", pattern: "^[0-9a-f]{32}$" }, description: "An API token's id." },
      jti: {
        name: "jti", in: "query", required: true, style: "form", explode: true,
        schema: { type: "array", items: { type: "string" } },
        description: "Credential ids: repeated (`?jti=A&jti=B`, as wrangler sends them) or comma-joined (`?jti=A,B`).",
      },
      page: { name: "page", in: "query", required: false, schema: { type: "integer", minimum: 1, default: 1 }, description: "The page, from 1; a page past the end is empty." },
      per_page: { name: "per_page", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 }, description: "Items per page." },
    },
    responses: {
      BadRequest: { description: "The request is not valid; the message names the field or parameter and the fix.", content: { "application/json": { schema: ref("Failure") } } },
      Unauthorized: { description: "No API token, or not a valid one.", headers: { "WWW-Authenticate": { schema: { type: "string" } } }, content: { "application/json": { schema: ref("Failure") } } },
      Forbidden: { description: "The token's role or namespace scope does not allow this.", content: { "application/json": { schema: ref("Failure") } } },
      NotFound: { description: "No such namespace, broker, client, token or account.", content: { "application/json": { schema: ref("Failure") } } },
      Conflict: { description: "The namespace still has brokers.", content: { "application/json": { schema: ref("Failure") } } },
      TooLarge: { description: "The request body is too large (64 KiB by default).", content: { "application/json": { schema: ref("Failure") } } },
      TooManyFailures: { description: "Too many failed API token checks from this address (10 in 10 s): wait Retry-After seconds. A valid token is never refused.", headers: { "Retry-After": { schema: { type: "integer" } } }, content: { "application/json": { schema: ref("Failure") } } },
    },
    schemas: {
      ApiMessage: obj({ code: int("An error code (see the introduction)."), message: str("What went wrong, and how to fix it.") }),
      ResultInfo: obj({
        page: int("The page given."), per_page: int("The most items a page holds."), count: int("Items on this page."),
        total_count: int("Items on all pages."), total_pages: int("Pages in all."),
      }),
      Envelope: obj({
        result: { description: "The answer; null on failure." },
        success: bool("Whether the request succeeded."),
        errors: { type: "array", items: ref("ApiMessage") },
        messages: { type: "array", items: ref("ApiMessage") },
        result_info: ref("ResultInfo"),
      }, ["result", "success", "errors", "messages"]),
      Failure: {
        allOf: [ref("Envelope"), { type: "object", properties: { result: { type: "null" }, success: { const: false }, errors: { type: "array", minItems: 1 } } }],
      },
      Namespace: obj({
        id: str("32 hex characters."), name: str("A DNS label, lower-cased."), description: str(""),
        created_on: time("RFC 3339 with microseconds."), modified_on: time("RFC 3339 with microseconds."),
      }),
      NamespaceCreate: input({ name: str("A DNS label: letters, digits and hyphens, a letter first, at most 63 characters; case-insensitive."), description: nullable(str("At most 1024 characters.")) }, ["name"]),
      OnPublish: obj({ url: str("The on-publish hook URL (https://, or http:// for local use)."), fail_open: { type: "boolean", description: "Whether a failed call delivers the batch unchanged (true) or drops it (false)." } }),
      Broker: obj({
        id: str("32 hex characters."), name: str("A DNS label, lower-cased."),
        authType: { type: "string", enum: ["TOKEN", "MTLS", "MTLS_AND_TOKEN"] },
        auth_type: { type: "string", enum: ["TOKEN", "MTLS", "MTLS_AND_TOKEN"], description: "The same as authType (wrangler's spelling)." },
        description: str(""), created_on: { ...TIME }, modified_on: { ...TIME },
        expiration: nullable(int("Lifetime of credentials issued from now on, in seconds; null for none.")),
        endpoint: str("The MQTT endpoint, `mqtts://<broker>.<namespace>.<domain>:8883`."),
        on_publish: ref("OnPublish"),
        preset: PRESET,
        limits: obj(limitProps(false), undefined, { description: "The effective limits: the preset's, with the broker's own over them." }),
      }, ["id", "name", "authType", "auth_type", "description", "created_on", "modified_on", "expiration", "endpoint", "preset", "limits"]),
      BrokerCreate: input({
        name: str("A DNS label, unique in the namespace."),
        authType: { type: "string", enum: ["TOKEN", "MTLS", "MTLS_AND_TOKEN"], default: "TOKEN", description: "Any case; MTLS needs a server configured for client certificates." },
        auth_type: { type: "string", enum: ["TOKEN", "MTLS", "MTLS_AND_TOKEN"], description: "The same as authType; if both are given they must agree." },
        description: nullable(str("At most 1024 characters.")),
        expiration: nullable(int("Credential lifetime in seconds.", { minimum: 1 })),
        on_publish: { type: ["object", "null"], additionalProperties: false, properties: { url: { type: ["string", "null"] }, fail_open: { type: "boolean", default: false, description: "On a failed call (non-200, invalid reply, no reply in 10 s) deliver the batch unchanged instead of dropping it." } } },
        preset: { ...PRESET, default: "full" },
        limits: { ...input(limitProps(false)), description: "The broker's own limits, over its preset's." },
      }, ["name"]),
      BrokerUpdate: input({
        description: nullable(str("At most 1024 characters; null clears it.")),
        expiration: nullable(int("Credential lifetime in seconds; null for none.", { minimum: 1 })),
        on_publish: { type: ["object", "null"], additionalProperties: false, properties: { url: { type: ["string", "null"] }, fail_open: { type: "boolean", default: false, description: "On a failed call (non-200, invalid reply, no reply in 10 s) deliver the batch unchanged instead of dropping it." } }, description: "null or {\"url\": null} removes the hook; {\"fail_open\": true} alone keeps the URL." },
        name: str("Accepted only if it is the broker's own name."),
        authType: str("Accepted only if it is the broker's own auth type."),
        auth_type: str("Accepted only if it is the broker's own auth type."),
        preset: PRESET,
        limits: { ...input(limitProps(true)), type: ["object", "null"], description: "Merged with the limits set before; a null limit returns to the preset's value, null clears them all." },
      }),
      Jwk: obj({
        use: { const: "sig" }, kty: { const: "OKP" }, crv: { const: "Ed25519" }, alg: { const: "EdDSA" },
        kid: str("The RFC 7638 thumbprint, as in the JWT header."), x: str("The public key, base64url."),
      }),
      PublicKeys: obj({ keys: { type: "array", items: ref("Jwk") } }),
      ApiToken: obj({
        id: str("32 hex characters."), name: str(""), role: { type: "string", enum: ["Admin", "User", "Viewer"] },
        namespaces: { oneOf: [{ const: "*" }, { type: "array", items: { type: "string" } }], description: "`*` for every namespace, or a list." },
        source: { type: "string", enum: ["api", "configuration", "generated"] }, created_on: { ...TIME },
      }),
      ApiTokenCreate: input({
        name: str("1 to 100 characters."), role: { type: "string", enum: ["Admin", "User", "Viewer"] },
        namespaces: { oneOf: [{ const: "*" }, { type: "array", items: { type: "string" }, minItems: 1 }], default: "*" },
      }, ["name", "role"]),
      ApiTokenCreated: { allOf: [ref("ApiToken"), obj({ value: str("The secret: shown this once.") })] },
      Client: obj({
        client_id: str(""), username: nullable(str("The CONNECT user name.")),
        protocol_version: { type: "string", enum: ["3.1", "3.1.1", "5.0"] },
        transport: { type: "string", enum: ["tcp", "tls", "ws", "wss", "memory"] },
        remote_address: str(""), remote_port: int(""), server_name: nullable(str("The TLS SNI name or WebSocket Host it connected by.")),
        connected_at: time("When its CONNECT was accepted."),
        keep_alive: int("The keep alive the server enforces, in seconds; 0 for none."),
        clean_start: bool("Clean Start (5.0) or Clean Session (3.x)."),
        session_expiry_interval: int("Seconds the session outlives the connection; 4294967295 never expires."),
        jti: nullable(str("The id of the credential it connected with.")),
        credential_expires_at: nullable(time("When its credential expires; the connection ends then.")),
        subscriptions: int("How many subscriptions it holds."),
        inflight: int("QoS 1 and 2 messages sent to it and not yet acknowledged."),
        queued: int("Messages waiting for room in its receive window."),
        queued_bytes: int("Payload bytes of those."),
      }),
      Session: obj({
        client_id: str(""), connected: bool(""),
        expiry_interval: int("Seconds the session outlives its connection; 4294967295 never expires."),
        never_expires: bool("Whether expiry_interval is 4294967295."),
        expires_at: nullable(time("When an offline session ends; null while connected or if it never expires.")),
        subscriptions: int("How many subscriptions it holds."),
        topic_filters: { type: "array", items: { type: "string" }, description: "Its subscriptions' filters, as subscribed." },
        inflight: int("Messages in flight."), queued: int("Messages queued."), queued_bytes: int("Payload bytes queued."),
        will_pending: bool("Whether a will waits for its delay to pass."),
      }),
      Subscription: obj({
        client_id: str(""), topic_filter: str("As the client sent it, `$share/<group>/` included."), filter: str("Without `$share/<group>/`."),
        share_group: nullable(str("The share group of a shared subscription.")), qos: { type: "integer", enum: [0, 1, 2] },
        no_local: bool(""), retain_as_published: bool(""), retain_handling: { type: "integer", enum: [0, 1, 2] },
        subscription_identifier: nullable(int("")),
      }),
      MessageProperties: PROPERTIES,
      RetainedMessage: obj({
        topic: str(""), payload: str("The payload, base64.", { contentEncoding: "base64" }),
        payload_utf8: nullable(str("The payload as text, when it is well-formed UTF-8.")),
        qos: { type: "integer", enum: [0, 1, 2] }, properties: ref("MessageProperties"),
        stored_at: time("When the broker received it."), expires_at: nullable(time("When its Message Expiry Interval runs out.")),
      }),
      PublishRequest: input({
        topic: str("A topic name: no wildcards, not starting with `$`, within the broker's length and depth limits."),
        payload: str("UTF-8 text, or base64 with `encoding: \"base64\"`; `\"\"` for an empty payload (which, retained, deletes the topic's retained message)."),
        encoding: { type: "string", enum: ["utf8", "base64"], default: "utf8" },
        qos: { type: "integer", enum: [0, 1, 2], default: 0 },
        retain: { type: "boolean", default: false },
        properties: ref("MessageProperties"),
      }, ["topic", "payload"]),
      PublishResult: obj({ matched: int("How many subscribers the message was routed to (sessions, one per share group).") }),
      DisconnectResult: obj({
        client_id: str(""), reason_code: { const: 0x98, description: "Administrative action." },
        session: { type: "string", enum: ["kept", "discarded"] },
      }),
      EndSessionResult: obj({
        client_id: str(""), was_connected: { type: "boolean", description: "Whether a connected client was disconnected (0x98) to end it." },
        session: { const: "discarded" },
      }),
    },
  },
};
