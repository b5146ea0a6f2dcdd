import { durablePrefix, topicToSubject } from "./subject.ts";

/**
 * The NATS subjects of one broker's topics, QoS 0 (`<root>.<broker>.msg.0…`)
 * and durable (QoS 1 and 2, `….msg.1…`, which the messages stream keeps),
 * remembered for the next messages on them: a topic is escaped once, not once
 * per message (at most 4,096 topics of each kind, then forgotten at once).
 */
export class SubjectCache {
  /** What QoS 1 and 2 messages are published under. */
  readonly durablePrefix: string;
  readonly #qos0Prefix: string;
  readonly #qos0 = new Map<string, string>();
  readonly #durable = new Map<string, string>();

  constructor(root: string, broker: string) {
    this.#qos0Prefix = durablePrefix(root, broker, false);
    this.durablePrefix = durablePrefix(root, broker, true);
  }

  /** The subject of `topic` for a QoS 0 message, or a durable one. */
  subject(topic: string, durable: boolean): string {
    const known = durable ? this.#durable : this.#qos0;
    let subject = known.get(topic);
    if (subject === undefined) {
      if (known.size >= 4096) known.clear();
      known.set(topic, (subject = topicToSubject(durable ? this.durablePrefix : this.#qos0Prefix, topic)));
    }
    return subject;
  }
}
