/**
 * @module
 * edgemq's core: zero dependencies, web-standard APIs only. The MQTT codec,
 * the per-connection protocol machine, the broker and the policy engine,
 * over an abstract connection interface that adapters fill in.
 */
export * from "./codec/mod.ts";
export * from "./transport/duplex.ts";
export * from "./broker/broker.ts";
export * from "./broker/limits.ts";
export * from "./broker/stats.ts";
export * from "./broker/publish-hook.ts";
export type * from "./broker/message.ts";
export { NEVER_EXPIRES, Session } from "./broker/session.ts";
export { parseSharedFilter, type SubscriptionEntry, TopicTree } from "./broker/topic-tree.ts";
export { RetainedStore } from "./broker/retained.ts";
export { Connection, type ConnectionState } from "./session/connection.ts";
export { toV3ReturnCode } from "./session/connack.ts";
export * from "./policy/hook.ts";
export * from "./policy/chain.ts";
export * from "./policy/rules.ts";
export * from "./policy/features.ts";
export * from "./policy/topic-match.ts";
export * from "./store/store.ts";
export { MemoryStore } from "./store/memory-store.ts";
