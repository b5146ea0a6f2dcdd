import type { QoS } from "../codec/constants.ts";
import type { Message } from "../model/message.ts";
import type { RetainedStore } from "./retained.ts";

// One SUBSCRIBE's retained messages for one filter, taken from the front.
interface Batch {
  /** The matches in tree order; each is let go once taken. */
  messages: (Message | undefined)[];
  next: number;
  /** The QoS granted to the subscription: a message goes at the lower of its own and this. */
  qos: QoS;
  ids: number[] | undefined;
}

/** A retained message taken from the backlog, with what its delivery needs. */
export interface DueRetained {
  message: Message;
  qos: QoS;
  ids: number[] | undefined;
}

/**
 * The retained messages new subscriptions brought that wait for the client's
 * receive window, so that a filter matching thousands is delivered in full,
 * at the client's pace, rather than overflowing the session's queue. It holds
 * references to messages the retained store holds anyway, never copies.
 *
 * Order: the messages of one SUBSCRIBE go out after its SUBACK, in tree order
 * and in the order of its filters, and before anything that arrives for the
 * session afterwards (live messages wait in the queue behind them); the
 * `ahead` records that already waited in the queue when the backlog began go
 * first. A retained message replaced or cleared since the SUBSCRIBE is
 * skipped: the newer one reached the subscriber live, and an older one must
 * not follow it.
 */
export class RetainedBacklog {
  readonly #batches: Batch[] = [];
  /** Queued records that were waiting when the backlog began: they are sent before it. */
  ahead: number;

  constructor(ahead: number) {
    this.ahead = ahead;
  }

  /** Whether nothing is left to take. */
  get empty(): boolean {
    return this.#batches.length === 0;
  }

  /** Adds one subscription's retained matches. */
  add(messages: Message[], qos: QoS, ids: number[] | undefined): void {
    if (messages.length > 0) this.#batches.push({ messages, next: 0, qos, ids });
  }

  /**
   * Takes the next message still due: one that is still the retained message
   * of its topic, not expired and that `allowed` lets the client receive.
   */
  take(retained: RetainedStore, now: number, allowed: (message: Message) => boolean): DueRetained | undefined {
    for (let batch = this.#batches[0]; batch !== undefined; batch = this.#batches[0]) {
      const message = batch.messages[batch.next]!;
      batch.messages[batch.next++] = undefined;
      if (batch.next === batch.messages.length) this.#batches.shift(); // never an empty batch: add() skips them
      if (retained.get(message.topic) !== message) continue; // replaced or cleared since the SUBSCRIBE
      if (message.expiresAt !== undefined && message.expiresAt <= now) continue; // [MQTT-3.3.2-5]
      if (!allowed(message)) continue;
      return { message, qos: (message.qos < batch.qos ? message.qos : batch.qos) as QoS, ids: batch.ids };
    }
    return undefined;
  }
}
