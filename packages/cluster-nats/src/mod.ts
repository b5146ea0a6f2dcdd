/**
 * @module
 * edgemq's cluster over NATS (issue 12), in progress: messages routed across
 * nodes over core NATS subjects, one NATS subscription per distinct filter
 * in use; share groups served once cluster-wide over NATS queue groups;
 * retained messages kept in a JetStream stream that every node follows;
 * tenancy in a JetStream KV bucket that every node watches.
 * One owner per client id across nodes (a KV record claimed by compare-and-set,
 * the previous owner fenced, handing its session over to a claim that resumes it).
 * Lasting sessions' QoS 2 exchanges kept in a KV bucket, so that a node that
 * resumes one after its node died carries them on under the same packet ids.
 */
export { ClusterConnectError, ClusterLink, type ClusterOptions, defaultNodeId, redactServers } from "./cluster-link.ts";
export { Presence, PRESENCE_INTERVAL_MS } from "./presence.ts";
export { NatsRouting } from "./nats-routing.ts";
export { NodeQueries } from "./node-queries.ts";
export type { ClusterCounters, ClusterStatus, RoutingLink } from "./routing-link.ts";
export { ShareGroups } from "./share-groups.ts";
export { ensureRetainedStream, RetainedSync, retainedStreamName } from "./retained-sync.ts";
export { ensureMessageStream, MESSAGE_STREAM_MAX_AGE_MS, MESSAGE_STREAM_MAX_BYTES, messageStreamName, StreamAcks } from "./message-stream.ts";
export { SessionOwners, sessionsBucketName } from "./session-owners.ts";
export { ClusterWills, type WillsLink, willsBucketName } from "./cluster-wills.ts";
export { NatsWillKeeper, willKey } from "./nats-will-keeper.ts";
export { decodeWillRecord, encodeWillRecord, type WillRecord } from "./will-record.ts";
export { decodeHandedOver, decodeHandover, decodeOutgoing, encodeHandover, encodeOutgoing, type HandedOver } from "./handover-codec.ts";
export { heldKey, heldPrefix, heldQos2BucketName, readHeld, type ReadHeld, sentKey } from "./held-qos2.ts";
export { HeldQos2Store } from "./held-qos2-store.ts";
export { type MarksJson, Qos2Marks } from "./qos2-marks.ts";
export { CLAIM_ATTEMPTS, FENCE_WAIT_MS, NatsOwnership, TAKEOVER_DAMPING_MS } from "./session-ownership.ts";
export { identityHash, type OwnerRecord, sessionKey } from "./owner-record.ts";
export { type BacklogPosition, readBacklog } from "./message-backlog.ts";
export { KvTenancyStore, tenancyBucketName, tenancyReplicas } from "./tenancy-kv.ts";
export { decodeKeyToken, encodeKeyToken, parseTenancyKey, tenancyKey, type TenancyKey } from "./tenancy-keys.ts";
export { decodeMessage, type Decoded, encodeMessage, type Origin } from "./message-codec.ts";
export { emptyPrepared, prepareMessage, type Prepared } from "./message-codec.ts";
export { decodeAll, encodeBundle, Outbox, type SendRun, unbundle } from "./bundle.ts";
export { durablePrefix, escapeToken, filterToSubjects, MAX_SUBJECT_BYTES, messagePrefix, subjectToTopic, topicToSubject, unescapeToken } from "./subject.ts";
