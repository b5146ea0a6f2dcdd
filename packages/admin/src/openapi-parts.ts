// The building blocks of the admin API's OpenAPI document (openapi.ts): schema helpers,
// the envelope, the error responses, role wording and the operation builder.
import { LIMIT_FIELDS } from "@edgemq/tenancy";

/** The path prefix of every Cloudflare-compatible route. */
export const BASE = "/client/v4/accounts/{account_id}/pubsub";
/** The path of one broker, below which its live state is served. */
export const BROKER = `${BASE}/namespaces/{namespace}/brokers/{broker}`;

type Schema = Record<string, unknown>;

/** A reference to a named schema. */
export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
/** A reference to a named parameter. */
export const param = (name: string): Schema => ({ $ref: `#/components/parameters/${name}` });
/** A string schema with its description. */
export const str = (description: string, extra: Schema = {}): Schema => ({ type: "string", description, ...extra });
/** An integer schema with its description. */
export const int = (description: string, extra: Schema = {}): Schema => ({ type: "integer", description, ...extra });
/** A boolean schema with its description. */
export const bool = (description: string): Schema => ({ type: "boolean", description });
/** The same schema, also allowing null. */
export const nullable = (schema: Schema): Schema => ({ ...schema, type: [schema.type as string, "null"] });
/** An object schema; every property is required unless told otherwise. */
export const obj = (properties: Record<string, Schema>, required: string[] = Object.keys(properties), extra: Schema = {}): Schema => ({
  type: "object", properties, required, ...extra,
});
/** A request body schema: named properties only, none required unless told. */
export const input = (properties: Record<string, Schema>, required: string[] = []): Schema => obj(properties, required, { additionalProperties: false });
/** An RFC 3339 date-time string. */
export const TIME = { type: "string", format: "date-time" };
// The limits, from the one table the registry validates with.
export const limitProps = (nullableEach: boolean): Record<string, Schema> => Object.fromEntries(LIMIT_FIELDS.map((f) => {
  const s = int(`${f.description} ${f.live ? "Applies to connected clients at once." : "Applies to clients that connect after a change."}`, { minimum: f.min, maximum: f.max });
  return [f.name, nullableEach ? nullable(s) : s];
}));
/** The broker preset: full or cloudflare. */
export const PRESET: Schema = { type: "string", enum: ["full", "cloudflare"], description: "full: the server's own settings; cloudflare: Cloudflare Pub/Sub's limits and feature table." };
/** A date-time schema with its description. */
export const time = (description: string): Schema => ({ ...TIME, description });

/** A success envelope whose `result` is `result`. */
export const envelope = (result: Schema): Schema => ({
  allOf: [ref("Envelope"), { type: "object", properties: { result, success: { const: true } } }],
});
/** A paginated success envelope: `result` is one page of `item`, with `result_info`. */
const pagedEnvelope = (item: Schema): Schema => ({
  allOf: [ref("Envelope"), {
    type: "object", required: ["result_info"],
    properties: { result: { type: "array", items: item }, success: { const: true }, result_info: ref("ResultInfo") },
  }],
});

const ERRORS: Record<number, string> = {
  400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 413: "TooLarge", 429: "TooManyFailures",
};

/** Who may call an operation, in words the document repeats. */
export type Roles = "any" | "user" | "admin" | "superadmin" | "none";
const ROLE_LISTS: Record<Roles, string[]> = {
  any: ["Admin", "User", "Viewer"],
  user: ["Admin", "User"],
  admin: ["Admin"],
  superadmin: ["Admin (every namespace)"],
  none: [],
};
const ROLE_WORDS: Record<Roles, string> = {
  any: "Any role (Admin, User, Viewer) whose token covers the namespace.",
  user: "Admin or User, with a token that covers the namespace; Viewer gets 403.",
  admin: "Admin, with a token that covers the namespace; User and Viewer get 403.",
  superadmin: "An Admin token for every namespace (`namespaces: \"*\"`); any other gets 403.",
  none: "No token needed.",
};

interface Operation {
  id: string;
  tag: string;
  summary: string;
  description?: string;
  roles: Roles;
  query?: Schema[];
  body?: Schema;
  result?: Schema;
  paged?: Schema;
  errors?: number[];
}

/** One operation: its roles, parameters, body, result and error responses. */
export function op(o: Operation): Schema {
  const description = [o.description, `**Needs:** ${ROLE_WORDS[o.roles]}`].filter(Boolean).join("\n\n");
  const responses: Record<string, Schema> = {
    200: {
      description: "Success, in the envelope.",
      content: { "application/json": { schema: o.paged ? pagedEnvelope(o.paged) : envelope(o.result ?? { type: "null" }) } },
    },
  };
  const errors = o.roles === "none" ? [] : [400, 401, 403, 429, ...(o.errors ?? [])];
  if (o.body !== undefined) errors.push(413);
  for (const code of [...new Set(errors)].sort()) responses[code] = { $ref: `#/components/responses/${ERRORS[code]}` };
  return {
    operationId: o.id,
    tags: [o.tag],
    summary: o.summary,
    description,
    "x-edgemq-roles": ROLE_LISTS[o.roles],
    ...(o.roles === "none" ? { security: [] } : {}),
    ...(o.query ? { parameters: o.query } : {}),
    ...(o.body ? { requestBody: { required: true, content: { "application/json": { schema: o.body } } } } : {}),
    responses,
  };
}

/** An optional query parameter. */
export const q = (name: string, schema: Schema, description: string, extra: Schema = {}): Schema => ({ name, in: "query", required: false, description, schema, ...extra });
/** The page and per_page parameters of a list. */
export const PAGE = [param("page"), param("per_page")];
/** The client_id filter of the live-state lists. */
export const CLIENT_ID_QUERY = q("client_id", { type: "string" }, "Only this client (exact client id).");

/** The MQTT 5.0 PUBLISH properties an HTTP publish may carry. */
export const PROPERTIES: Schema = {
  type: "object",
  additionalProperties: false,
  description: "MQTT 5.0 PUBLISH properties. Subscribers on 3.1.1 do not receive them.",
  properties: {
    contentType: str("A MIME type, such as `application/json`."),
    payloadFormatIndicator: { type: "integer", enum: [0, 1], description: "1: the payload is UTF-8 text (checked); 0: bytes." },
    messageExpiryInterval: int("Seconds the message lives; in a listed retained message, the seconds left.", { minimum: 0, maximum: 4294967295 }),
    responseTopic: str("A topic name for a reply (no wildcards)."),
    correlationData: str("Bytes, as base64.", { contentEncoding: "base64" }),
    userProperties: {
      type: "array", description: "Name and value pairs, order and repeats kept.",
      items: { type: "array", prefixItems: [{ type: "string" }, { type: "string" }], minItems: 2, maxItems: 2 },
    },
  },
};
