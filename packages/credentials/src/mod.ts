/**
 * @module
 * Broker-issued credentials: Ed25519 signing keys (two per broker, for
 * rotation), JWTs shaped as Cloudflare Pub/Sub issued them, their
 * verification, and the topicAcl grammar compiled to access rules.
 */
export * from "./keys.ts";
export * from "./issue.ts";
export * from "./verify.ts";
export * from "./topic-acl.ts";
export * from "./ulid.ts";
export * from "./auth-hook.ts";
export * from "./certificate-hook.ts";
export * from "./scram/mod.ts";
