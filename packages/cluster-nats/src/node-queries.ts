import { headers, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";

// How long a question waits: for the first answer at most MAX_WAIT_MS, then until
// no further answer came for STALL_MS (every node answers at once from memory).
const MAX_WAIT_MS = 2000;
const STALL_MS = 200;

// An answer larger than the NATS server's max_payload goes as parts, each headed with its answer's id and `<i>/<n>`.
const ANSWER = "Edgemq-Answer";
const PART = "Edgemq-Part";
// Room left in each part for its headers.
const HEADROOM = 512;

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
          this.#respond(msg, enc.encode(JSON.stringify(answer(msg.subject.slice(prefix.length), JSON.parse(dec.decode(msg.data))))));
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

  // One message when it fits the server's max_payload, else as many parts as it takes (in order, on one connection).
  #respond(msg: Msg, data: Uint8Array): void {
    const size = Math.max(1024, (this.#nc.info?.max_payload ?? 1024 * 1024) - HEADROOM);
    if (data.length <= size) {
      msg.respond(data);
      return;
    }
    const id = crypto.randomUUID();
    const n = Math.ceil(data.length / size);
    for (let i = 0; i < n; i++) {
      const h = headers();
      h.set(ANSWER, id);
      h.set(PART, `${i + 1}/${n}`);
      msg.respond(data.subarray(i * size, (i + 1) * size), { headers: h });
    }
  }

  /** Stops answering. */
  close(): void {
    this.#sub?.unsubscribe();
    this.#sub = undefined;
  }
}

// A reply's whole answer: the reply itself, or, for the last part of an answer sent in parts, all of them joined.
function assemble(reply: Msg, parts: Map<string, Uint8Array[]>): Uint8Array | undefined {
  const id = reply.headers?.get(ANSWER);
  if (id === undefined || id === "") return reply.data;
  const [i, n] = (reply.headers!.get(PART) ?? "").split("/").map(Number) as [number, number];
  if (!(n > 0 && i >= 1 && i <= n)) return undefined;
  const got = parts.get(id) ?? [];
  parts.set(id, got);
  got[i - 1] = reply.data;
  if (got.filter((p) => p !== undefined).length < n) return undefined;
  parts.delete(id);
  const whole = new Uint8Array(got.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of got) {
    whole.set(p, at);
    at += p.length;
  }
  return whole;
}
