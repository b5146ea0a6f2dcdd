import type { OutgoingRecord } from "../model/outgoing-record.ts";

// The one empty list every queue starts with; never written to.
const NONE: (OutgoingRecord | undefined)[] = [];

/**
 * A first-in first-out queue of outgoing records. Taking from the front moves
 * a head index instead of shifting or copying the array, so draining a long
 * queue one acknowledgement at a time costs O(1) per message.
 */
export class RecordQueue {
  // Shared and empty until the first push: most sessions never queue (issue 14).
  #items: (OutgoingRecord | undefined)[] = NONE;
  #head = 0;

  /** The number of records waiting. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Adds a record at the back. */
  push(record: OutgoingRecord): void {
    if (this.#items === NONE) this.#items = [record];
    else this.#items.push(record);
  }

  /** The record at the front, without taking it. */
  peek(): OutgoingRecord | undefined {
    return this.#items[this.#head];
  }

  /** The record at the back, without taking it. */
  last(): OutgoingRecord | undefined {
    return this.length === 0 ? undefined : this.#items[this.#items.length - 1];
  }

  /** Takes the record at the front. */
  shift(): OutgoingRecord | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const record = this.#items[this.#head];
    this.#items[this.#head++] = undefined; // let it be collected
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      // Compact now and then so the spent front does not grow without bound.
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return record;
  }

  /** Keeps only the records for which `keep` is true, in order. */
  retain(keep: (record: OutgoingRecord) => boolean): void {
    const kept: OutgoingRecord[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const r = this.#items[i]!;
      if (keep(r)) kept.push(r);
    }
    this.#items = kept;
    this.#head = 0;
  }
}
