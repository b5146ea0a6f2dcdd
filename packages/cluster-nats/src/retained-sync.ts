import type { LocalRoute, Message } from "@edgemq/core";
import { type ConsumerMessages, DeliverPolicy, DiscardPolicy, type JetStreamClient, jetstream, jetstreamManager, type JsMsg, StorageType } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { whileNotServed } from "./kv-cas.ts";
import { decodeMessage, encodeMessage } from "./message-codec.ts";
import type { RoutingLink } from "./routing-link.ts";
import { escapeToken, MAX_SUBJECT_BYTES, subjectToTopic, topicToSubject } from "./subject.ts";

//
// Retained messages kept by the cluster, not by a node: one JetStream stream
// for every broker of the cluster, `<ROOT>_RETAINED` on `<root>.*.retained.>`,
// keeping the last message of each subject (max_msgs_per_subject 1), so a
// topic's subject holds its retained message, or an empty one once cleared.
// Plain streams, consumers and max_msgs_per_subject are all nats-server 2.9;
// the topic's subject is the message subject's escaping, which KV keys
// (no `~`) could not hold.
//

/** The name of the stream that keeps every broker's retained messages under `root`. */
export function retainedStreamName(root: string): string {
  return `${root.replace(/[^A-Za-z0-9_-]/g, "_").toUpperCase()}_RETAINED`;
}

/**
 * Makes sure the retained stream exists; resolves to its name, or to
 * undefined (said once through `report`) when the NATS server has no
 * JetStream, in which case retained messages stay each node's own.
 */
export async function ensureRetainedStream(nc: NatsConnection, root: string, report: (text: string) => void, replicas = 1): Promise<string | undefined> {
  const name = retainedStreamName(root);
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5000 });
    try {
      await jsm.streams.info(name);
    } catch {
      try {
        await jsm.streams.add({
          name, subjects: [`${root}.*.retained.>`], max_msgs_per_subject: 1,
          storage: StorageType.File, discard: DiscardPolicy.Old, num_replicas: replicas,
        });
      } catch (e) {
        // Another node starting at the same moment may have made it first.
        await jsm.streams.info(name).catch(() => Promise.reject(e));
      }
    }
    return name;
  } catch (e) {
    report(`cluster: JetStream is not available on the NATS server (${(e as Error).message}); retained messages stay on the node they were published on. Start nats-server with -js.`);
    return undefined;
  }
}

/**
 * One broker's retained messages across the cluster: what this broker keeps
 * is published on `<root>.<broker>.retained.<topic levels>`, and an ordered
 * consumer (deliver last per subject) hands every node's, this node's
 * included, to the local RetainedStore in the stream's order, so that all
 * nodes end with the stream's last word on each topic. A node starting
 * reads every retained message first ({@link ready}).
 */
export class RetainedSync {
  readonly #link: RoutingLink;
  readonly #local: LocalRoute;
  readonly #prefix: string;
  readonly #js: JetStreamClient;
  #messages: ConsumerMessages | undefined;
  #stopped = false;
  /** Resolves once the retained messages stored so far are in the local store (or after a bound wait). */
  readonly ready: Promise<void>;

  constructor(link: RoutingLink, local: LocalRoute, broker: string, stream: string) {
    this.#link = link;
    this.#local = local;
    this.#prefix = `${link.root}.${escapeToken(broker)}.retained`;
    this.#js = jetstream(link.nc);
    this.ready = this.#follow(stream);
  }

  /**
   * Keeps a retained message (an empty payload clears) for the other nodes;
   * resolves once the stream has it, rejects (said through the log) when it
   * did not take it: the PUBLISH is then not acknowledged.
   */
  put(message: Message): Promise<unknown> | undefined {
    const link = this.#link;
    const subject = topicToSubject(this.#prefix, message.topic);
    if (subject.length > MAX_SUBJECT_BYTES || link.nc.isClosed()) return undefined;
    const origin = { node: link.nodeId, incarnation: link.incarnation, sequence: 0 };
    const data = encodeMessage(message, origin, link.now());
    // The stream's subjects may not have reached this NATS server yet (just made): tried again, briefly.
    const kept = whileNotServed(() => this.#js.publish(subject, data), 5000).catch((e: Error) => {
      link.report("warn", `cluster: the retained message on "${message.topic.slice(0, 80)}" was not kept in JetStream (${e.message}); other nodes do not have it`);
      throw e;
    });
    kept.catch(() => {}); // a will's or an admin clear's, which nobody waits for
    return kept;
  }

  /** Stops following the stream. */
  close(): void {
    this.#stopped = true;
    void this.#messages?.close().catch(() => {});
  }

  async #follow(stream: string): Promise<void> {
    let caughtUp!: () => void;
    const ready = new Promise<void>((r) => (caughtUp = r));
    const bound = setTimeout(() => {
      this.#link.report("warn", "cluster: the retained messages of JetStream took over 5 s to read; starting without waiting for the rest");
      caughtUp();
    }, 5000);
    const done = () => {
      clearTimeout(bound);
      caughtUp();
    };
    void (async () => {
      try {
        const filter = `${this.#prefix}.>`;
        const jsm = await jetstreamManager(this.#link.nc);
        const info = await jsm.streams.info(stream, { subjects_filter: filter });
        if (Object.keys(info.state.subjects ?? {}).length === 0) done();
        const consumer = await this.#js.consumers.get(stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.LastPerSubject });
        if (this.#stopped) return;
        const messages = this.#messages = await consumer.consume();
        for await (const m of messages) {
          if (this.#stopped) break;
          this.#apply(m);
          if (m.info.pending === 0) done();
        }
      } catch (e) {
        if (!this.#stopped) this.#link.report("warn", `cluster: stopped following the retained messages in JetStream (${(e as Error).message})`);
        done();
      }
    })();
    return ready;
  }

  #apply(m: JsMsg): void {
    const link = this.#link;
    let message: Message;
    try {
      message = decodeMessage(m.data, subjectToTopic(this.#prefix, m.subject), link.now()).message;
    } catch {
      link.counters.malformed++;
      return;
    }
    if (message.expiresAt !== undefined) {
      // The lifetime was counted when it was stored: take off the time it has spent in the stream since.
      message.expiresAt -= Math.max(0, Date.now() - m.time.getTime());
      if (message.expiresAt <= message.receivedAt) message.payload = new Uint8Array(0);
    }
    this.#local.retain(message);
  }
}
