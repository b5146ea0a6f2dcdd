/**
 * @module
 * SCRAM-SHA-256 and SCRAM-SHA-512 for MQTT 5 enhanced authentication.
 */
export * from "./scram-crypto.ts";
export * from "./scram-hook.ts";
export * from "./scram-client.ts";
export { fromBase64, toBase64 } from "./scram-messages.ts";
