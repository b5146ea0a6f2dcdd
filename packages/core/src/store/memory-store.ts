import type { Message } from "../broker/message.ts";
import type { OutgoingRecord, SessionRecord, Store } from "./store.ts";

/**
 * The in-memory store: the broker's own structures are the data, so every
 * call commits at once and nothing survives a restart. For tests, and for
 * users who choose speed over durability.
 */
export class MemoryStore implements Store {
  readonly name = "memory";
  readonly durable = false;
  /** Session records, for inspection. */
  readonly sessions = new Map<string, SessionRecord>();
  /** Retained messages by topic, for inspection. */
  readonly retained = new Map<string, Message>();

  saveSession(record: SessionRecord): void {
    this.sessions.set(record.clientId, record);
  }
  deleteSession(clientId: string): void {
    this.sessions.delete(clientId);
  }
  saveOutgoing(_clientId: string, _records: OutgoingRecord[]): void {}
  deleteOutgoing(_clientId: string, _record: OutgoingRecord): void {}
  saveInboundQos2(_clientId: string, _packetId: number): void {}
  deleteInboundQos2(_clientId: string, _packetId: number): void {}
  saveRetained(message: Message): void {
    if (message.payload.byteLength === 0) this.retained.delete(message.topic);
    else this.retained.set(message.topic, message);
  }
  close(): void {}
}
