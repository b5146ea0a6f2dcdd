import type { Message } from "../broker/message.ts";
import type { SubscriptionEntry } from "../broker/topic-tree.ts";
import type { Will } from "../codec/packets/connect.ts";

/** A session as the store keeps it. */
export interface SessionRecord {
  clientId: string;
  /** Seconds; 0xFFFFFFFF never expires. */
  expiryInterval: number;
  subscriptions: SubscriptionEntry[];
  will: Will | undefined;
}

/** An outgoing message held for a session: queued, or in flight with a packet id. */
export interface OutgoingRecord {
  message: Message;
  qos: 0 | 1 | 2;
  retain: boolean;
  subscriptionIdentifiers: number[] | undefined;
  /** 0 while queued. */
  packetId: number;
  /** `publish` until PUBREC arrives; `pubrel` after (QoS 2). */
  state: "publish" | "pubrel";
}

/**
 * Where the broker keeps what must survive. Every method may return a promise;
 * the broker sends the acknowledgement (PUBACK, PUBREC, SUBACK) only once it
 * resolves, so a durable store commits before the client hears "done". A
 * method that returns nothing has committed synchronously.
 */
export interface Store {
  /** A name for logs and the start-up line, such as `memory` or `sqlite`. */
  readonly name: string;
  /** Whether data survives the process. */
  readonly durable: boolean;
  saveSession(record: SessionRecord): void | Promise<void>;
  deleteSession(clientId: string): void | Promise<void>;
  /** Records messages accepted for sessions (the inbound message fanned out to them). */
  saveOutgoing(clientId: string, records: OutgoingRecord[]): void | Promise<void>;
  deleteOutgoing(clientId: string, record: OutgoingRecord): void | Promise<void>;
  saveInboundQos2(clientId: string, packetId: number): void | Promise<void>;
  deleteInboundQos2(clientId: string, packetId: number): void | Promise<void>;
  /** Stores a retained message; an empty payload clears the topic. */
  saveRetained(message: Message): void | Promise<void>;
  /** Flushes and releases resources. */
  close(): void | Promise<void>;
}
