import { DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { createInbox, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";

//
// QoS 1 and 2 messages kept by the cluster: one JetStream stream for every
// broker, `<ROOT>_MESSAGES` on `<root>.*.msg.1.>`, so a message is stored once
// per broker (its subjects) whatever the number of sessions that want it. The
// stream takes the very NATS message the other nodes receive (it is one more
// subscriber of the subject), and answers with an acknowledgement once its
// replicas have it: that answer is what PUBACK and PUBREC wait for. One stream
// for all brokers, not one each: each stream is a Raft group on every one of
// its servers, and a cluster may hold thousands of brokers.
//

/** The name of the stream that keeps every broker's QoS 1 and 2 messages under `root`. */
export function messageStreamName(root: string): string {
  return `${root.replace(/[^A-Za-z0-9_-]/g, "_").toUpperCase()}_MESSAGES`;
}

/** How long the stream keeps a message: a session offline longer misses what it would have been sent. */
export const MESSAGE_STREAM_MAX_AGE_MS = 24 * 3600 * 1000;
/** The most bytes the stream holds; the oldest messages go first. */
export const MESSAGE_STREAM_MAX_BYTES = 1024 ** 3;

/**
 * Makes sure the messages stream exists with `replicas` copies; resolves to
 * its name, or to undefined (said once through `report`) when the NATS server
 * has no JetStream, in which case an acknowledgement means the NATS server
 * had the message, not that it is kept.
 */
export async function ensureMessageStream(nc: NatsConnection, root: string, replicas: number, report: (text: string) => void): Promise<string | undefined> {
  const name = messageStreamName(root);
  const config = {
    name, subjects: [`${root}.*.msg.1.>`], retention: RetentionPolicy.Limits, storage: StorageType.File, discard: DiscardPolicy.Old,
    num_replicas: replicas, max_age: MESSAGE_STREAM_MAX_AGE_MS * 1_000_000, max_bytes: MESSAGE_STREAM_MAX_BYTES,
    description: "edgemq: every broker's QoS 1 and 2 messages, for the sessions that wait for them",
  };
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5000 });
    const info = await jsm.streams.info(name).catch(() => undefined);
    if (info === undefined) {
      // Another node starting at the same moment may have made it first.
      await jsm.streams.add(config).catch((e) => jsm.streams.info(name).catch(() => Promise.reject(e)));
    } else if (info.config.num_replicas !== replicas) {
      report(`cluster: the stream ${name} keeps ${info.config.num_replicas} copies, not the ${replicas} asked for; it is left as it is (change it with: nats stream edit ${name} --replicas ${replicas})`);
    }
    return name;
  } catch (e) {
    const why = (e as Error).message;
    // Too many replicas for the NATS cluster is a setting to fix, not a missing JetStream.
    const fix = /replica|resources|peers/i.test(why) ? `give --cluster-replicas at most the number of NATS servers (asked for ${replicas})` : "start nats-server with -js";
    report(`cluster: cannot keep QoS 1 and 2 messages in JetStream (${why}); they are acknowledged once the NATS server has them, and are not kept for a node's death. To keep them, ${fix}.`);
    return undefined;
  }
}

/** One event-loop turn's QoS 1 and 2 messages, confirmed together. */
export interface TurnConfirmation {
  readonly promise: Promise<unknown>;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
}

/** A promise with its settle functions, for one turn's confirmation. */
export function turnConfirmation(): TurnConfirmation {
  let resolve!: (v: unknown) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<unknown>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => {}); // rejected with no PUBLISH left waiting (its connection closed): not unhandled
  return { promise, resolve, reject };
}

/**
 * The stream's acknowledgements of what one connection publishes: one inbox
 * subscription for the node, a reply subject per turn, and one timer per turn
 * (not a request, with its timer, per NATS message).
 */
export class StreamAcks {
  readonly #inbox: string;
  readonly #sub: Subscription;
  readonly #turns = new Map<string, { left: number; confirmation: TurnConfirmation; timer: ReturnType<typeof setTimeout> }>();
  readonly #failed: (why: string) => void;
  #turn = 0;

  /** `failed` hears of each turn the stream did not store (refused, or no answer in time). */
  constructor(nc: NatsConnection, failed: (why: string) => void = () => {}) {
    this.#failed = failed;
    this.#inbox = createInbox();
    this.#sub = nc.subscribe(`${this.#inbox}.*`, { callback: (err, msg) => void (err === null && this.#answered(msg)) });
  }

  /** A reply subject for the next turn's messages. */
  nextTurn(): string {
    return `${this.#inbox}.${++this.#turn}`;
  }

  /**
   * Settles `confirmation` once the stream acknowledged `count` messages sent
   * with `reply`; rejects it at the first refusal, or after `waitMs`.
   */
  await(reply: string, count: number, confirmation: TurnConfirmation, waitMs: number): void {
    const timer = setTimeout(() => {
      this.#failed("no answer in time");
      this.#settle(reply, new Error("the NATS server did not store it in time"));
    }, waitMs);
    this.#turns.set(reply, { left: count, confirmation, timer });
  }

  /** No more acknowledgements are waited for: each turn still open is refused. */
  close(): void {
    this.#sub.unsubscribe();
    for (const reply of [...this.#turns.keys()]) this.#settle(reply, new Error("the NATS connection closed"));
  }

  #answered(msg: Msg): void {
    const turn = this.#turns.get(msg.subject);
    if (turn === undefined) return; // a turn already settled (refused, or too late)
    let error: string | undefined;
    try {
      const ack = msg.json<{ error?: { description?: string } }>();
      if (ack.error !== undefined) error = ack.error.description ?? "refused";
    } catch {
      error = "an answer that is not JetStream's";
    }
    if (error !== undefined) {
      this.#failed(error);
      return this.#settle(msg.subject, new Error(`the stream did not store it (${error})`));
    }
    if (--turn.left === 0) this.#settle(msg.subject);
  }

  #settle(reply: string, error?: Error): void {
    const turn = this.#turns.get(reply);
    if (turn === undefined) return;
    this.#turns.delete(reply);
    clearTimeout(turn.timer);
    if (error === undefined) turn.confirmation.resolve(undefined);
    else turn.confirmation.reject(error);
  }
}
