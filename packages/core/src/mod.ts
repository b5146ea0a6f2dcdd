/**
 * @module
 * edgemq's core: zero dependencies, web-standard APIs only. The MQTT codec,
 * the per-connection protocol machine, the broker and the policy engine,
 * over an abstract connection interface that adapters fill in.
 */
export * from "./codec/mod.ts";
export * from "./transport/duplex.ts";
export type * from "./model/message.ts";
export { forwardableProperties, ownCopy } from "./model/message.ts";
export type * from "./model/client.ts";
export { clientIdentity, IDENTITY_ATTRIBUTE } from "./model/client.ts";
export type * from "./model/outgoing-record.ts";
export { parseSharedFilter, type SubscriptionEntry } from "./model/subscription.ts";
export * from "./model/stats.ts";
export { LazyMap, LazySet } from "./model/lazy-collections.ts";
export * from "./policy/hook.ts";
export * from "./policy/chain.ts";
export * from "./policy/rules.ts";
export * from "./policy/features.ts";
export * from "./policy/limits.ts";
export * from "./policy/memory-budget.ts";
export * from "./policy/publish-hook.ts";
export * from "./policy/topic-match.ts";
export * from "./store/store.ts";
export { MemoryStore } from "./store/memory-store.ts";
export { Connection } from "./connection/connection.ts";
export type { ConnectionState } from "./connection/connection-fields.ts";
export type * from "./connection/host.ts";
export { ConnectRefused } from "./connection/connect-refused.ts";
export { connackProperties, toV3ReturnCode } from "./connection/connack.ts";
export * from "./broker/broker.ts";
export type * from "./broker/inspection.ts";
export type * from "./broker/restore.ts";
export * from "./broker/routing.ts";
export * from "./broker/ownership.ts";
export type { SessionHandover } from "./broker/session-handover.ts";
export type { PendingSummary, RouteTo, SessionBacklog } from "./broker/session-backlog.ts";
export * from "./broker/will-keeper.ts";
export { type BrokerConnection, Session } from "./broker/session.ts";
export { TopicTree } from "./broker/topic-tree.ts";
export { RetainedStore } from "./broker/retained.ts";
