import type { Message } from "../model/message.ts";
import type { SessionRecord, Store, StoredState } from "./store.ts";
import type { OutgoingRecord } from "../model/outgoing-record.ts";

/**
 * The in-memory store: every call commits at once and nothing survives the
 * process. For tests, and for users who choose speed over durability. It
 * keeps what the broker saved (the broker's own record objects, not copies),
 * so a new broker in the same process can {@link Broker.restore} from it.
 */
export class MemoryStore implements Store {
  readonly name = "memory";
  readonly durable = false;
  /** Session records, for inspection. */
  readonly sessions: Map<string, SessionRecord> = new Map();
  /** Retained messages by topic, for inspection. */
  readonly retained: Map<string, Message> = new Map();
  /** Outgoing records per client, in the order first saved. */
  readonly outgoing: Map<string, Set<OutgoingRecord>> = new Map();
  /** Inbound QoS 2 packet ids per client. */
  readonly inboundQos2: Map<string, Set<number>> = new Map();

  saveSession(record: SessionRecord): void {
    this.sessions.set(record.clientId, record);
  }
  deleteSession(clientId: string): void {
    this.sessions.delete(clientId);
    this.outgoing.delete(clientId);
    this.inboundQos2.delete(clientId);
  }
  saveOutgoing(clientId: string, records: OutgoingRecord[]): void {
    let set = this.outgoing.get(clientId);
    if (set === undefined) this.outgoing.set(clientId, (set = new Set()));
    for (const r of records) set.add(r); // a record saved again keeps its place
  }
  deleteOutgoing(clientId: string, record: OutgoingRecord): void {
    const set = this.outgoing.get(clientId);
    if (set === undefined) return;
    set.delete(record);
    if (set.size === 0) this.outgoing.delete(clientId);
  }
  saveInboundQos2(clientId: string, packetId: number): void {
    let set = this.inboundQos2.get(clientId);
    if (set === undefined) this.inboundQos2.set(clientId, (set = new Set()));
    set.add(packetId);
  }
  deleteInboundQos2(clientId: string, packetId: number): void {
    const set = this.inboundQos2.get(clientId);
    if (set === undefined) return;
    set.delete(packetId);
    if (set.size === 0) this.inboundQos2.delete(clientId);
  }
  saveRetained(message: Message): void {
    if (message.payload.byteLength === 0) this.retained.delete(message.topic);
    else this.retained.set(message.topic, message);
  }
  /** What was saved, as a restarted broker reads it; `downSince` is unknown (the caller's clock is used). */
  loadState(): StoredState {
    return {
      sessions: [...this.sessions.values()],
      outgoing: new Map([...this.outgoing].map(([id, set]) => [id, [...set]])),
      inboundQos2: new Map([...this.inboundQos2].map(([id, set]) => [id, [...set]])),
      retained: [...this.retained.values()],
      downSince: undefined,
    };
  }
  close(): void {}
}
