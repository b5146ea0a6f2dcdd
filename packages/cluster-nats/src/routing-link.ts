import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { decodeAll } from "./bundle.ts";
import type { StreamAcks } from "./message-stream.ts";
import type { Decoded } from "./message-codec.ts";
import { subjectToTopic } from "./subject.ts";

/** What one broker's routing (NatsRouting, ShareGroups) needs of the node's NATS link. */
export interface RoutingLink {
  readonly nc: NatsConnection;
  /** The connection of the share groups' queue subscriptions: not the one messages are published on, so NATS may choose this node. */
  readonly shareNc: NatsConnection;
  /** This node's id, carried by every message it sends. */
  readonly nodeId: string;
  /** This run of the node: a restarted node starts its sequence again under a new one. */
  readonly incarnation: number;
  /** The first subject token of every edgemq subject (`edgemq`). */
  readonly root: string;
  readonly now: () => number;
  readonly counters: ClusterCounters;
  /** False between a lost NATS server and the next one (what is published then waits in the client's buffer). */
  readonly connected: boolean;
  /** Whether a QoS 1 or 2 message can be kept now (connected, and the messages stream answering). */
  readonly acceptsDurable: boolean;
  /** Tells the operator something once (a topic too long for NATS, a message that does not decode). */
  report(level: "info" | "warn" | "error", text: string): void;
  /** Resolves once the NATS server has every subscription made so far (or after a bound wait, when it cannot say). */
  interestReady(): Promise<void>;
  /** The stream that keeps QoS 1 and 2 messages, or undefined when the NATS server has no JetStream. */
  readonly messageStream: string | undefined;
  /** The messages stream's acknowledgements of what `nc` publishes, or undefined when the NATS server has no JetStream. */
  readonly streamAcks: StreamAcks | undefined;
  /** The JetStream stream that keeps retained messages, or undefined when the NATS server has no JetStream. */
  readonly retainedStream: string | undefined;
  /** Counts a broker's first read of the retained messages among what the node waits for before it listens. */
  track(ready: Promise<void>): void;
}

/** Messages over NATS since the node started, every broker together. */
export interface ClusterCounters {
  /** Messages published to NATS. */
  sent: number;
  /** Messages from other nodes handed to local sessions (duplicates excluded). */
  received: number;
  /** Messages delivered here only: topic too long for a NATS subject, or the NATS connection closed. */
  notSent: number;
  /** Messages from NATS that did not decode (another version, or not edgemq's). */
  malformed: number;
  /** Share group messages NATS gave this node after its last member of the group had left, sent on to the group's other nodes. */
  handedOff: number;
  /** Share group messages no member here could take and that could not be handed off (lost). */
  unserved: number;
}

/** The NATS connection's events since the node started, for /metrics. */
export interface ClusterStatus {
  /** Times a lost NATS server was replaced by another (or the same, back). */
  reconnects: number;
  /** Times the NATS client said this node reads too slowly (the NATS server may drop its messages). */
  slowConsumers: number;
}

/**
 * The messages in a NATS message published under `prefix` (one, or a
 * bundle's in order), or none when it is not edgemq's (counted, and said once).
 */
export function readMessages(link: RoutingLink, msg: Msg, prefix: string): Decoded[] {
  try {
    return decodeAll(msg.data, subjectToTopic(prefix, msg.subject), link.now());
  } catch (e) {
    if (link.counters.malformed++ === 0) link.report("warn", `cluster: a message on ${msg.subject} is not an edgemq message (${(e as Error).message}); ignored`);
    return [];
  }
}
