// Namespaces and brokers: what the API takes and answers, as zod schemas.
import { z } from "@hono/zod-openapi";
import { LIMIT_FIELDS, MAX_DESCRIPTION_LENGTH, normalizeName } from "@edgemq/tenancy";
import { checkedBy, rule } from "../issues.ts";
import { int, str, time } from "./common.ts";

const AUTH_TYPES = ["TOKEN", "MTLS", "MTLS_AND_TOKEN"] as const;
const PRESETS = ["full", "cloudflare"] as const;

/** A namespace or broker name: a DNS label, checked by the registry's own rule. */
const dnsName = (kind: "namespace" | "broker", description: string) =>
  rule(checkedBy(z.string().openapi({ description }), (v) => normalizeName(kind, v)), `a DNS label such as "my-${kind}"`);

const description = (text: string) =>
  rule(z.string().max(MAX_DESCRIPTION_LENGTH).openapi({ description: text }), `a string of at most ${MAX_DESCRIPTION_LENGTH} characters`).nullable();

/** A namespace as the API shows it. */
export const NamespaceSchema = z.strictObject({
  id: str("32 hex characters."), name: str("A DNS label, lower-cased."), description: str(""),
  created_on: time("RFC 3339 with microseconds."), modified_on: time("RFC 3339 with microseconds."),
}).openapi("Namespace");

/** `POST /namespaces`. */
export const NamespaceCreateSchema = z.strictObject({
  name: dnsName("namespace", "A DNS label: letters, digits and hyphens, a letter first, at most 63 characters; case-insensitive."),
  description: description("At most 1024 characters.").optional(),
}).openapi("NamespaceCreate");

// Any case, as Cloudflare took it: so a string checked against the types, rather than an enum.
const authType = (text: string) => rule(
  z.string().openapi({ enum: [...AUTH_TYPES], description: text })
    .refine((v) => (AUTH_TYPES as readonly string[]).includes(v.toUpperCase()), { params: { breaksRule: true } }),
  `one of ${AUTH_TYPES.join(", ")} (any case)`, { json: true },
);

const preset = rule(z.enum(PRESETS).openapi({ description: "full: the server's own settings; cloudflare: Cloudflare Pub/Sub's limits and feature table." }), `one of ${PRESETS.join(", ")}`, { json: true });

/** A broker's own limits, each in its range (the registry's table); `null` returns one to its preset's value. */
const limits = (description: string) => rule(z.strictObject(Object.fromEntries(LIMIT_FIELDS.map((f) => [f.name,
  rule(z.int().min(f.min).max(f.max).openapi({ description: `${f.description} ${f.live ? "Applies to connected clients at once." : "Applies to clients that connect after a change."}` }), `a whole number from ${f.min} to ${f.max}`, { json: true }).nullable().optional(),
]))).openapi({ description }), `an object such as {"max_message_size": 65536}`, {
  unknown: (k) => `unknown limit "${k}"; the limits are ${LIMIT_FIELDS.map((f) => f.name).join(", ")}`,
});

const onPublish = (description: string) => rule(z.strictObject({
  url: rule(z.string().openapi({ description: "The hook's URL: https://, or http:// for local use; null removes the hook." }), "a string, or null to remove the hook").nullable().optional(),
  fail_open: z.boolean().openapi({ description: "On a failed call (non-200, invalid reply, no reply in 10 s) deliver the batch unchanged instead of dropping it." }).optional(),
}).openapi({ description }), `an object {"url": "https://..."} or null`).nullable().optional();

const expiration = (text: string) => rule(z.int().min(1).openapi({ description: text }), "a whole number of seconds of at least 1, or null for none").nullable().optional();

/** A broker as the API shows it. */
export const BrokerSchema = z.strictObject({
  id: str("32 hex characters."), name: str("A DNS label, lower-cased."),
  authType: z.enum(AUTH_TYPES), auth_type: z.enum(AUTH_TYPES).openapi({ description: "The same as authType (wrangler's spelling)." }),
  description: str(""), created_on: time("RFC 3339 with microseconds."), modified_on: time("RFC 3339 with microseconds."),
  expiration: int("Lifetime of credentials issued from now on, in seconds; null for none.").nullable(),
  endpoint: str("The MQTT endpoint, `mqtts://<broker>.<namespace>.<domain>:8883`."),
  on_publish: z.strictObject({ url: str("The on-publish hook URL."), fail_open: z.boolean() }).optional().openapi({ description: "Only when the broker has an on-publish hook." }),
  preset: z.enum(PRESETS),
  limits: z.strictObject(Object.fromEntries(LIMIT_FIELDS.map((f) => [f.name, int(f.description)]))).openapi({ description: "The effective limits: the preset's, with the broker's own over them." }),
}).openapi("Broker");

/** `POST /namespaces/{namespace}/brokers`. */
export const BrokerCreateSchema = z.strictObject({
  name: dnsName("broker", "A DNS label, unique in the namespace."),
  authType: authType("TOKEN (the default), MTLS or MTLS_AND_TOKEN, any case; MTLS needs a server configured for client certificates.").optional(),
  auth_type: authType("The same as authType; if both are given they must agree.").optional(),
  description: description("At most 1024 characters.").optional(),
  expiration: expiration("Credential lifetime in seconds; null for none."),
  on_publish: onPublish("The on-publish hook."),
  preset: preset.optional(),
  limits: limits("The broker's own limits, over its preset's.").nullable().optional(),
}).openapi("BrokerCreate");

/** `PATCH /namespaces/{namespace}/brokers/{broker}`: absent fields stay, null clears. */
export const BrokerUpdateSchema = z.strictObject({
  description: description("At most 1024 characters; null clears it.").optional(),
  expiration: expiration("Credential lifetime in seconds; null for none."),
  on_publish: onPublish("null or {\"url\": null} removes the hook; {\"fail_open\": true} alone keeps the URL."),
  name: rule(z.string().openapi({ description: "Accepted only if it is the broker's own name." }), "a string (the broker's own name)").optional(),
  authType: authType("Accepted only if it is the broker's own auth type.").optional(),
  auth_type: authType("Accepted only if it is the broker's own auth type.").optional(),
  preset: preset.optional(),
  limits: limits("Merged with the limits set before; a null limit returns to the preset's value, null clears them all.").nullable().optional(),
}).openapi("BrokerUpdate");
