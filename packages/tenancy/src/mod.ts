/**
 * @module
 * Tenancy: a server's namespaces of brokers, as Cloudflare Pub/Sub had them.
 * Each broker has its own Ed25519 keys, revocations and MQTT broker; all of
 * it lives in a {@link TenancyStore}. Runtime-neutral: web-standard APIs only.
 */
export * from "./errors.ts";
export * from "./names.ts";
export * from "./ids.ts";
export * from "./records.ts";
export * from "./store.ts";
export { sameRecord, type TenancyChange } from "./store-changes.ts";
export * from "./registry.ts";
export { type LimitField, LIMIT_FIELDS, limitsJson } from "./broker-limits.ts";
export { aboveCeiling, checkCeilings, DEFAULT_LIMIT_CEILINGS, type LimitCeilings } from "./broker-ceilings.ts";
export type { BrokerAddress, BrokerExtras, BrokerUpdate, CredentialRequest, NewBroker, NewNamespace, PublicJwk, RegistryOptions } from "./registry-types.ts";
export { HookDestinations } from "./hook-destinations.ts";
export { MAX_SCRAM_USERS_PER_BROKER, type ScramUserInfo } from "./scram-users.ts";
export { MAX_CREDENTIAL_CLIENT_ID_LENGTH, MAX_DESCRIPTION_LENGTH, MAX_JTI_LENGTH } from "./validate.ts";
