import { type Message, ownCopy } from "../model/message.ts";
import { type BrokerContext, retainedFits, type SysRetained } from "./context.ts";
import type { Routing } from "./routing.ts";

/**
 * The last step every accepted message takes, from a client, a will, $SYS or
 * an embedder: its retained copy is kept (and stored), then it is routed.
 */
export class Publisher {
  readonly #ctx: BrokerContext;
  readonly #routing: Routing;
  /** The $SYS messages among the retained ones, left out of the retained quotas. */
  readonly sys: SysRetained = { count: 0, bytes: 0 };
  /** Set while the broker publishes its own $SYS values, which are neither counted in quotas nor stored. */
  publishingSys = false;
  // Reused for every message: the store commits one message waits for.
  readonly #commits: Promise<unknown>[] = [];

  constructor(ctx: BrokerContext, routing: Routing) {
    this.#ctx = ctx;
    this.#routing = routing;
  }

  /** False while the routing cannot make a QoS 1 or 2 message durable (a cluster node cut off from NATS). */
  get acceptsDurable(): boolean {
    return this.#routing.acceptsDurable !== false;
  }

  /**
   * Retains (when RETAIN is set) and routes a message; returns how many
   * sessions it matched, and the store commit covering every write it made
   * (with `extra`, a commit made before it, such as a held QoS 2 id).
   */
  publish(message: Message, extra: Promise<unknown> | void, out: { committed: Promise<unknown> | undefined }): number {
    const ctx = this.#ctx;
    const commits = this.#commits;
    if (extra) commits.push(extra);
    // A message whose lifetime is over by now (Message Expiry Interval 0) is delivered to
    // subscribers connected now, but not kept [MQTT-3.3.2-5].
    const outlived = message.expiresAt !== undefined && message.expiresAt <= message.receivedAt;
    // A will or an embedder's message past the retained quotas is delivered, not retained (a client's was refused before).
    const fits = !message.retain || this.publishingSys || message.payload.byteLength === 0 || retainedFits(ctx, this.sys, message);
    if (!fits) ctx.stats.quotaExceeded++;
    if (message.retain && fits && (!outlived || message.payload.byteLength === 0)) {
      // The retained copy owns its bytes, so it does not pin the socket's read buffer.
      const copy: Message = { ...ownCopy(message), forms: undefined };
      ctx.retained.set(copy); // [MQTT-3.3.1-5], an empty payload clears it [MQTT-3.3.1-6]
      // $SYS values are the running broker's own, republished every interval: not stored.
      const c = this.publishingSys ? undefined : ctx.store.saveRetained(copy);
      if (c) commits.push(c);
      if (!this.publishingSys) {
        const kept = this.#routing.retained?.(copy); // a cluster keeps it for the other nodes (issue 12)
        if (kept) commits.push(kept);
      }
    }
    const matched = this.#routing.route(message, commits);
    out.committed = commits.length === 0 ? undefined : commits.length === 1 ? commits[0] : Promise.all(commits);
    commits.length = 0;
    return matched;
  }
}
