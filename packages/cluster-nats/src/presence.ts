import type { NatsConnection } from "@nats-io/transport-node";

/** How often a node says it is up; one not heard for three rounds is taken as gone. */
export const PRESENCE_INTERVAL_MS = 2000;

/**
 * The nodes of the cluster up now, for the `edgemq_cluster_nodes` gauge:
 * every node says its id on `<root>.nodes.presence` every
 * {@link PRESENCE_INTERVAL_MS} (one small message per node, whatever the
 * traffic), and on `<root>.nodes.left` when it leaves, so that the count
 * drops at once rather than after three silent rounds.
 */
export class Presence {
  readonly #nc: NatsConnection;
  readonly #root: string;
  readonly #nodeId: () => string;
  readonly #now: () => number;
  // Other nodes by id, with when each was last heard.
  readonly #heard = new Map<string, number>();
  readonly #timer: ReturnType<typeof setInterval>;
  // The id this node last said it was up under.
  #said: string | undefined;

  constructor(nc: NatsConnection, root: string, nodeId: () => string, now: () => number) {
    this.#nc = nc;
    this.#root = root;
    this.#nodeId = nodeId;
    this.#now = now;
    const decode = (data: Uint8Array) => new TextDecoder().decode(data);
    // The connection does not echo: this node never hears itself.
    nc.subscribe(`${root}.nodes.presence`, { callback: (err, msg) => void (err === null && this.heard(decode(msg.data))) });
    nc.subscribe(`${root}.nodes.left`, { callback: (err, msg) => void (err === null && this.#heard.delete(decode(msg.data))) });
    this.#timer = setInterval(() => this.#say("presence"), PRESENCE_INTERVAL_MS);
    this.#say("presence");
  }

  /** Says at once that this node is up, under its id now: the server names a node after its port once bound. */
  renamed(): void {
    this.#say("presence");
  }

  /** Notes that node `id` is up now (a presence message, or an answer to a roll call). */
  heard(id: string): void {
    if (id !== this.#nodeId()) this.#heard.set(id, this.#now());
  }

  /** How many nodes are up: this one, and every other heard within three rounds. */
  count(): number {
    const since = this.#now() - 3 * PRESENCE_INTERVAL_MS;
    let n = 1;
    for (const [id, at] of this.#heard) {
      if (at >= since) n++;
      else this.#heard.delete(id);
    }
    return n;
  }

  /** Stops saying this node is up, and says it leaves (before the connection drains). */
  close(): void {
    clearInterval(this.#timer);
    this.#say("left");
  }

  #say(what: "presence" | "left"): void {
    // While NATS is away the client buffers it; a closed connection cannot take it.
    if (this.#nc.isClosed()) return;
    const id = this.#nodeId();
    // A node renamed once its port is known: the others stop counting its first name at once.
    if (this.#said !== undefined && this.#said !== id) this.#nc.publish(`${this.#root}.nodes.left`, new TextEncoder().encode(this.#said));
    this.#said = id;
    this.#nc.publish(`${this.#root}.nodes.${what}`, new TextEncoder().encode(id));
  }
}
