import type { Message } from "../model/message.ts";
import type { OutgoingRecord } from "../model/outgoing-record.ts";
import type { SubscriptionEntry } from "../model/subscription.ts";
import type { Will } from "../codec/packets/connect.ts";
import type { ClientInfo } from "../model/client.ts";

/** A session as the store keeps it. */
export interface SessionRecord {
  clientId: string;
  /** Seconds; 0xFFFFFFFF never expires. */
  expiryInterval: number;
  subscriptions: SubscriptionEntry[];
  /**
   * While connected: the will of the connection, published if the broker
   * dies under it. Once disconnected: the will that waits for its delay.
   */
  will: Will | undefined;
  /** When the will is due (ms since the epoch), once the connection has closed; undefined while connected. */
  willAt?: number | undefined;
  /**
   * When the session's connection closed (ms since the epoch), from which
   * its expiry counts; undefined while connected (a restart then counts from
   * when the previous process was last alive, {@link StoredState.downSince}).
   */
  disconnectedAt?: number | undefined;
  /**
   * Who the last connection was (user name, what authentication attached):
   * offline deliveries and the will are checked against it after a restart.
   */
  client?: ClientInfo | undefined;
}

/** Everything a store holds for one broker, read back at start by {@link Store.loadState}. */
export interface StoredState {
  /** Every session record, in the order first saved. */
  sessions: SessionRecord[];
  /**
   * Per client, its outgoing records (queued and in flight) in the order
   * first saved: resend in this order. The store knows these objects: later
   * saves and deletes of them update their rows.
   */
  outgoing: Map<string, OutgoingRecord[]>;
  /** Per client, the inbound QoS 2 packet ids that wait for PUBREL. */
  inboundQos2: Map<string, number[]>;
  /** Every retained message. */
  retained: Message[];
  /**
   * When the process that wrote this was last known alive (ms since the
   * epoch), if the store knows: sessions that were connected when it stopped
   * count their expiry, and their wills their delay, from then.
   */
  downSince: number | undefined;
}

/**
 * Where the broker keeps what must survive. Every method may return a promise;
 * the broker sends the acknowledgement (PUBACK, PUBREC, PUBREL, PUBCOMP,
 * SUBACK, UNSUBACK, CONNACK) only once it resolves, so a durable store commits
 * before the client hears "done". A method that returns nothing has committed
 * synchronously. Writes must commit in the order they were made.
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
  /** Reads back what was saved, for {@link Broker.restore} at start; called once, before any write. */
  loadState?(): StoredState;
  /** Flushes and releases resources. */
  close(): void | Promise<void>;
}
