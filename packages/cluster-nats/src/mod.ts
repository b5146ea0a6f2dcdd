/**
 * @module
 * edgemq's cluster over NATS (issue 12), in progress: messages routed across
 * nodes over core NATS subjects, one NATS subscription per distinct filter
 * in use; share groups served once cluster-wide over NATS queue groups;
 * retained messages kept in a JetStream stream that every node follows.
 * Sessions and tenancy are still each node's own.
 */
export { ClusterConnectError, ClusterLink, type ClusterOptions, defaultNodeId, redactServers } from "./cluster-link.ts";
export { NatsRouting } from "./nats-routing.ts";
export type { ClusterCounters, RoutingLink } from "./routing-link.ts";
export { ShareGroups } from "./share-groups.ts";
export { ensureRetainedStream, RetainedSync, retainedStreamName } from "./retained-sync.ts";
export { decodeMessage, type Decoded, encodeMessage, type Origin } from "./message-codec.ts";
export { prepareMessage, type Prepared } from "./message-codec.ts";
export { decodeAll, encodeBundle, unbundle, writeRuns } from "./bundle.ts";
export { escapeToken, filterToSubjects, MAX_SUBJECT_BYTES, messagePrefix, subjectToTopic, topicToSubject, unescapeToken } from "./subject.ts";
