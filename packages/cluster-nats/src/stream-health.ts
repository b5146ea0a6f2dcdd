import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

/**
 * Whether the messages stream (and the held QoS 2 bucket's) answers, for
 * refusing QoS 1 and 2 messages that could not be kept: not from a failed
 * store (refused, or no answer in time), nor from a reconnection to NATS
 * (NATS servers that restarted elect a stream's leader a moment later), until
 * a probe finds every one answering again (every half second, one at a time).
 */
export class StreamHealth {
  readonly #nc: NatsConnection;
  readonly #connected: () => boolean;
  readonly #log: (level: "info" | "warn", text: string) => void;
  readonly #streams: string[] = [];
  #answers = true;
  #probing = false;

  constructor(nc: NatsConnection, connected: () => boolean, log: (level: "info" | "warn", text: string) => void) {
    this.#nc = nc;
    this.#connected = connected;
    this.#log = log;
  }

  /** Watches `stream` too (until the first, and without JetStream, it always answers: nothing waits for it). */
  watch(stream: string): void {
    if (!this.#streams.includes(stream)) this.#streams.push(stream);
  }

  /** False from a failure or a reconnection until the stream answers again. */
  get answers(): boolean {
    return this.#answers;
  }

  /** A stream failed to store what was sent (refused, or no answer in time); `what` names it for the log. */
  failed(why: string, what = "the messages stream did not store QoS 1 and 2 messages"): void {
    if (!this.#answers || this.#streams.length === 0) return;
    this.#answers = false;
    this.#log("warn", `cluster: ${what} (${why}); QoS 1 and 2 messages are refused until it answers again`);
    void this.#probe();
  }

  /** Back on NATS after losing it: QoS 1 and 2 wait for the stream to answer. */
  reconnected(): void {
    if (this.#streams.length === 0) return;
    this.#answers = false;
    void this.#probe();
  }

  // Asks the stream for its state every half second until it answers with a leader.
  async #probe(): Promise<void> {
    if (this.#probing || this.#streams.length === 0) return;
    this.#probing = true;
    try {
      while (!this.#answers && !this.#nc.isClosed()) {
        await new Promise((r) => setTimeout(r, 500));
        if (!this.#connected()) continue;
        // Made each time: making one asks JetStream already, which fails until it is back.
        const jsm = await jetstreamManager(this.#nc, { timeout: 2000 }).catch(() => undefined);
        if (jsm === undefined) continue;
        let all = true;
        for (const stream of this.#streams) {
          const info = await jsm.streams.info(stream).catch(() => undefined);
          if (info === undefined || (info.cluster !== undefined && info.cluster.leader === undefined)) all = false;
        }
        if (!all) continue;
        this.#answers = true;
        this.#log("info", "cluster: the messages stream answers again; QoS 1 and 2 messages are taken");
      }
    } finally {
      this.#probing = false;
    }
  }
}

// How long a node starting waits for the JetStream of NATS servers that say they have it (a NATS cluster
// that just started chooses its JetStream leader a few seconds after it takes connections).
const JETSTREAM_READY_MS = 15_000;

/** Resolves once the NATS server's JetStream answers, or at once when the server has none; bounded. */
export async function jetStreamReady(nc: NatsConnection, report: (text: string) => void): Promise<void> {
  if (nc.info?.jetstream !== true) return;
  const until = Date.now() + JETSTREAM_READY_MS;
  let told = false;
  for (;;) {
    try {
      const jsm = await jetstreamManager(nc, { timeout: 2000 });
      await jsm.getAccountInfo();
      return;
    } catch (e) {
      if (Date.now() >= until) return; // the steps after this one say what is missing
      if (!told) report(`cluster: waiting for the NATS servers' JetStream to answer (${(e as Error).message})`);
      told = true;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
