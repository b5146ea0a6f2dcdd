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
  // Told of each node taken as gone: silent for three rounds, or said it left.
  readonly #gone: ((id: string, lastHeard: number) => void)[] = [];
  // Since when this node has been connected to NATS (undefined while it is not): what it did not
  // hear while cut off says nothing of the others, so silence counts only from then.
  #connectedAt: number | undefined;

  constructor(nc: NatsConnection, root: string, nodeId: () => string, now: () => number) {
    this.#nc = nc;
    this.#root = root;
    this.#nodeId = nodeId;
    this.#now = now;
    const decode = (data: Uint8Array) => new TextDecoder().decode(data);
    // The connection does not echo: this node never hears itself.
    nc.subscribe(`${root}.nodes.presence`, { callback: (err, msg) => void (err === null && this.heard(decode(msg.data))) });
    nc.subscribe(`${root}.nodes.left`, { callback: (err, msg) => void (err === null && this.#left(decode(msg.data))) });
    this.#connectedAt = now();
    void this.#followConnection();
    this.#timer = setInterval(() => {
      this.#say("presence");
      this.#noticeSilent();
    }, PRESENCE_INTERVAL_MS);
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
    for (const at of this.#heard.values()) if (at >= since) n++;
    return n;
  }

  /** Whether node `id` was heard within three rounds (this node always is). */
  isUp(id: string): boolean {
    if (id === this.#nodeId()) return true;
    const at = this.#heard.get(id);
    return at !== undefined && at >= this.#now() - 3 * PRESENCE_INTERVAL_MS;
  }

  /** Calls `listener` with each node taken as gone from now on (silent for three rounds, or left), and when it was last heard. */
  onGone(listener: (id: string, lastHeard: number) => void): void {
    this.#gone.push(listener);
  }

  // A node silent for three rounds while this one was connected all along is gone.
  #noticeSilent(): void {
    const connectedAt = this.#connectedAt;
    if (connectedAt === undefined) return;
    const since = this.#now() - 3 * PRESENCE_INTERVAL_MS;
    for (const [id, at] of this.#heard) if (at < since && connectedAt < since) this.#goneNow(id, at);
  }

  async #followConnection(): Promise<void> {
    for await (const s of this.#nc.status()) {
      if (s.type === "disconnect") this.#connectedAt = undefined;
      else if (s.type === "reconnect") this.#connectedAt = this.#now();
    }
  }

  #left(id: string): void {
    const at = this.#heard.get(id);
    if (at !== undefined) this.#goneNow(id, this.#now());
  }

  #goneNow(id: string, lastHeard: number): void {
    this.#heard.delete(id);
    for (const listener of this.#gone) listener(id, lastHeard);
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
