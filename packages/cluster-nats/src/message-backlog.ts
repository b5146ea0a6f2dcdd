import type { Message } from "@edgemq/core";
import { type Consumer, DeliverPolicy, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { eachMessage } from "./bundle.ts";
import type { Header } from "./message-codec.ts";
import type { Qos2Marks } from "./qos2-marks.ts";
import { subjectToTopic } from "./subject.ts";

//
// A session's backlog: the QoS 1 and 2 messages it missed while the node that
// held it was gone, read back from the messages stream (message-stream.ts).
// A lasting session that goes offline records where it stands: when, and the
// last message it had from each origin run (a run's messages reach a node in
// its order, so one number per run says which it had). Reading starts a
// little before that moment (the stream's clock is not the node's) and skips
// what the session had; the session's own subscriptions then choose, as they
// would have chosen live.
//

/** Where a session's backlog starts: when it went offline, and the last sequence it had from each origin run (`node\0incarnation`). */
export interface BacklogPosition {
  at: number;
  seen: Record<string, number>;
}

/** What reads a broker's backlogs: its routing (see NatsRouting.position and .backlog). */
export interface BacklogSource {
  /** Where a session going offline now stands. */
  position(): BacklogPosition;
  /** Where the connected sessions stand, given the receipt time of the earliest message they have not acknowledged. */
  checkpoint(oldest: number | undefined): BacklogPosition;
  /**
   * Hands `deliver` what the stream holds for a session since `position`, each
   * saying whether `sent` covers it (sent at QoS 2 already); resolves with how many.
   */
  backlog(position: BacklogPosition, deliver: (message: Message, sentAtQos2: boolean) => void, sent?: Qos2Marks): Promise<number>;
}

/** How far before a position's time reading starts: the stream's clock and the node's may differ by that much. */
export const BACKLOG_CLOCK_SLACK_MS = 2_000;
// Messages asked for at once.
const BATCH = 256;

/** Whether `value` is a position as {@link BacklogPosition} writes it (it comes from a shared bucket). */
export function isBacklogPosition(value: unknown): value is BacklogPosition {
  const p = value as BacklogPosition | undefined;
  return typeof p === "object" && p !== null && typeof p.at === "number" && typeof p.seen === "object" && p.seen !== null;
}

/**
 * Hands `deliver` every message of the stream under `prefix` (a broker's
 * `<root>.<broker>.msg.*`) stored since `position` that the session did not
 * have, in the stream's order, up to the stream's end when reading began,
 * but for those in `receivedLive` (`node\0incarnation\0sequence`: this node
 * received them since the session was subscribed here, so they reached it);
 * resolves with how many. One ordered consumer for the read, gone after it.
 */
export async function readBacklog(
  nc: NatsConnection, stream: string, prefix: string, position: BacklogPosition, deliver: (message: Message, sentAtQos2: boolean) => void,
  receivedLive: ReadonlySet<string>, sent?: Qos2Marks,
): Promise<number> {
  const js = jetstream(nc, { timeout: 5000 });
  const filter = `${prefix.slice(0, -1)}1.>`;
  const consumer = await js.consumers.get(stream, {
    filter_subjects: filter, deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: new Date(position.at - BACKLOG_CLOCK_SLACK_MS).toISOString(),
  });
  try {
    return await readFrom(consumer, prefix, position, deliver, receivedLive, sent);
  } finally {
    await consumer.delete().catch(() => {}); // else the server drops it once idle
  }
}

async function readFrom(
  consumer: Consumer, prefix: string, position: BacklogPosition, deliver: (message: Message, sentAtQos2: boolean) => void, receivedLive: ReadonlySet<string>,
  sent: Qos2Marks | undefined,
): Promise<number> {
  // Up to the stream's end as the consumer was made: the session was subscribed by then, so what comes later
  // reaches it live (reading on to the end as it grows would deliver those twice).
  let left = (await consumer.info(true)).num_pending;
  const header: Header = { node: "", incarnation: 0, sequence: 0, sharesServed: false };
  const seen = position.seen;
  let delivered = 0;
  const one = (message: Message): void => {
    const run = `${header.node}\0${header.incarnation}`;
    const had = seen[run];
    if (had !== undefined && header.sequence <= had) return;
    // Reached the session live since it was subscribed here: it has it.
    const origin = receivedLive.size > 0 || message.qos === 2 ? `${run}\0${header.sequence}` : undefined;
    if (origin !== undefined && receivedLive.has(origin)) return;
    // A QoS 2 message knows where it came from: should it be in flight when this node dies, the next one resends it as it is.
    if (message.qos === 2) message.origin = origin;
    delivered++;
    // Sent to it at QoS 2 already (in flight, or finished): not again at QoS 2 [MQTT-4.3.3-2]
    deliver(message, message.qos === 2 && sent !== undefined && sent.covers(run, header.sequence));
  };
  while (left > 0) {
    const batch = await consumer.fetch({ max_messages: Math.min(BATCH, left), expires: 5000 });
    let got = 0;
    for await (const m of batch) {
      got++;
      // Its lifetime was counted when the stream took it, as was its receipt.
      eachMessage(m.data, subjectToTopic(prefix, m.subject), m.time.getTime(), header, one);
      if (--left === 0) break;
    }
    if (got === 0) throw new Error("the messages stream stopped answering");
  }
  return delivered;
}
