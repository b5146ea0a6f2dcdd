/**
 * @module
 * edgemq's cluster over NATS (issue 12), first step: messages routed across
 * nodes over core NATS subjects, one NATS subscription per distinct filter
 * in use. Shared subscriptions, retained messages, sessions and tenancy are
 * still each node's own.
 */
export { ClusterConnectError, ClusterLink, type ClusterOptions, defaultNodeId, redactServers } from "./cluster-link.ts";
export { type ClusterCounters, NatsRouting, type RoutingLink } from "./nats-routing.ts";
export { decodeMessage, type Decoded, encodeMessage, type Origin } from "./message-codec.ts";
export { escapeToken, filterToSubjects, MAX_SUBJECT_BYTES, messagePrefix, subjectToTopic, topicToSubject, unescapeToken } from "./subject.ts";
