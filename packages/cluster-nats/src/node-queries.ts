import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { assemble, respondInParts } from "./answer-parts.ts";

// How long a question waits: for the first answer at most MAX_WAIT_MS, then until
// no further answer came for STALL_MS (every node answers at once from memory).
const MAX_WAIT_MS = 2000;
const STALL_MS = 200;

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Questions one node asks all the others, and answers for them: JSON in,
 * JSON out, on `<root>.admin.<op>` (the admin API's cluster-wide listings
 * and disconnections, issue 12). The connection does not echo, so a node
 * never hears its own question: the asker answers for itself.
 */
export class NodeQueries {
  readonly #nc: NatsConnection;
  readonly #root: string;
  #sub: Subscription | undefined;

  constructor(nc: NatsConnection, root: string) {
    this.#nc = nc;
    this.#root = root;
  }

  /** Answers every other node's questions with `answer` (a question it throws on, or that does not parse, goes unanswered). */
  serve(answer: (op: string, query: unknown) => unknown, onError: (text: string) => void = () => {}): void {
    this.#sub?.unsubscribe();
    const prefix = `${this.#root}.admin.`;
    this.#sub = this.#nc.subscribe(`${prefix}*`, {
      callback: (err: Error | null, msg: Msg) => {
        if (err !== null || msg.reply === undefined) return;
        try {
          respondInParts(this.#nc, msg, enc.encode(JSON.stringify(answer(msg.subject.slice(prefix.length), JSON.parse(dec.decode(msg.data))))));
        } catch (e) {
          onError(`cluster: could not answer another node's ${msg.subject} (${(e as Error).message})`);
        }
      },
    });
  }

  /** Asks every other node; resolves with the answers that came within a short, bounded wait (none when this node is alone or NATS is away). */
  async ask(op: string, query: unknown): Promise<unknown[]> {
    const answers: unknown[] = [];
    if (this.#nc.isClosed()) return answers;
    try {
      const replies = await this.#nc.requestMany(`${this.#root}.admin.${op}`, enc.encode(JSON.stringify(query)), {
        strategy: "stall", stall: STALL_MS, maxWait: MAX_WAIT_MS,
      });
      const parts = new Map<string, Uint8Array[]>();
      for await (const reply of replies) {
        const whole = assemble(reply, parts);
        if (whole === undefined) continue;
        try {
          answers.push(JSON.parse(dec.decode(whole)));
        } catch {
          // Not JSON: not an edgemq node's answer.
        }
      }
    } catch {
      // No other node answers (no responders), or NATS is away: what came is all there is.
    }
    return answers;
  }

  /** Stops answering. */
  close(): void {
    this.#sub?.unsubscribe();
    this.#sub = undefined;
  }
}
