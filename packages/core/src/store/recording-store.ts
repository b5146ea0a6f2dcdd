import type { Message } from "../model/message.ts";
import type { OutgoingRecord } from "../model/outgoing-record.ts";
import type { SessionRecord, Store, StoredState } from "./store.ts";

/**
 * A store that also hands every saved session record to `record` (a
 * cluster's session ownership keeps it where other nodes can read it);
 * everything else, and the record itself, goes to `inner`. A save resolves
 * once both have it.
 */
export class RecordingStore implements Store {
  readonly #inner: Store;
  readonly #record: (record: SessionRecord) => void | Promise<unknown>;
  /** Read back at start from the inner store, when it keeps anything. */
  readonly loadState?: () => StoredState;

  constructor(inner: Store, record: (record: SessionRecord) => void | Promise<unknown>) {
    this.#inner = inner;
    this.#record = record;
    if (inner.loadState !== undefined) this.loadState = () => inner.loadState!();
  }

  get name(): string {
    return this.#inner.name;
  }

  get durable(): boolean {
    return this.#inner.durable;
  }

  saveSession(record: SessionRecord): void | Promise<void> {
    const saved = this.#inner.saveSession(record);
    const recorded = this.#record(record);
    if (!recorded) return saved;
    return (saved ? Promise.all([saved, recorded]) : recorded).then(() => {});
  }
  deleteSession(clientId: string): void | Promise<void> {
    return this.#inner.deleteSession(clientId);
  }
  saveOutgoing(clientId: string, records: OutgoingRecord[]): void | Promise<void> {
    return this.#inner.saveOutgoing(clientId, records);
  }
  deleteOutgoing(clientId: string, record: OutgoingRecord): void | Promise<void> {
    return this.#inner.deleteOutgoing(clientId, record);
  }
  saveInboundQos2(clientId: string, packetId: number): void | Promise<void> {
    return this.#inner.saveInboundQos2(clientId, packetId);
  }
  deleteInboundQos2(clientId: string, packetId: number): void | Promise<void> {
    return this.#inner.deleteInboundQos2(clientId, packetId);
  }
  saveRetained(message: Message): void | Promise<void> {
    return this.#inner.saveRetained(message);
  }
  close(): void | Promise<void> {
    return this.#inner.close();
  }
}
