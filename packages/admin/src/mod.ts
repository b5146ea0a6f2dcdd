/**
 * @module
 * The admin HTTP API (hono, @hono/zod-openapi): Cloudflare Pub/Sub's
 * management paths, fields and envelope over a tenancy {@link Registry}, with
 * role-scoped API tokens, pagination, optional CORS, and an OpenAPI document
 * generated from the zod schemas the routes validate with.
 */
export * from "./app.ts";
export * from "./auth-failures.ts";
export * from "./envelope.ts";
export * from "./roles.ts";
export * from "./tokens.ts";
export * from "./query.ts";
export { ValidationError } from "./issues.ts";
export { clientJson, PROTOCOL_NAMES, retainedJson, sessionJson, subscriptionJson } from "./broker-data.ts";
export { parsePublish } from "./publish.ts";
export { answerNodeQuery, type ClusterView, mergeListings, type NodeAnswer, type NodeQuery } from "./cluster-view.ts";
export * from "./security-headers.ts";
export * from "./cors.ts";
