import type { Message } from "@edgemq/core";
import { decodeAt, type Decoded, type Header, type Prepared, readMessageAt, writeMessage } from "./message-codec.ts";

//
// Several messages on one subject, one after the other, as one NATS message (a
// bundle), so that NATS's per-message work (a command line written, parsed and
// routed, a callback) is paid once for them. A bundle is a run of entries:
//
//   u8 tag, u32 length, that many bytes (one message, message-codec.ts)
//
// The first entry's tag is 3, which marks a bundle; the others' are 0. That
// layout is what lets a run of messages written one after the other into a
// buffer (see Outbox) be sent as it lies, without a copy. A lone message
// travels as itself (its first byte, the version, is 1).
//

const BUNDLE = 3;
const ENTRY = 5;

// The buffers the outbox writes into: big enough that a turn's messages mostly share one.
const CHUNK_BYTES = 64 * 1024;

/** One NATS message's bytes for several encoded messages of one subject, in order. */
export function encodeBundle(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += ENTRY + p.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    out[at] = at === 0 ? BUNDLE : 0;
    view.setUint32(at + 1, p.length);
    out.set(p, at + ENTRY);
    at += ENTRY + p.length;
  }
  return out;
}

/** The encoded messages in one NATS message's bytes: a bundle's, in order, or the bytes themselves; throws on a truncated bundle. */
export function unbundle(data: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  eachPart(data, new DataView(data.buffer, data.byteOffset, data.byteLength), (start, end) => parts.push(data.subarray(start, end)));
  return parts;
}

function eachPart(data: Uint8Array, view: DataView, fn: (start: number, end: number) => void): void {
  if (data[0] !== BUNDLE) return fn(0, data.length);
  for (let at = 0; at < data.length;) {
    if (at + ENTRY > data.length) throw new RangeError("truncated cluster bundle");
    const n = view.getUint32(at + 1);
    if (at + ENTRY + n > data.length) throw new RangeError("truncated cluster bundle");
    fn(at + ENTRY, at + ENTRY + n);
    at += ENTRY + n;
  }
}

/** The messages in one NATS message's bytes (on `topic`, received at `now`), in order; throws when they are not edgemq messages. */
export function decodeAll(data: Uint8Array, topic: string, now: number): Decoded[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: Decoded[] = [];
  eachPart(data, view, (start, end) => out.push(decodeAt(data, view, start, end, topic, now)));
  return out;
}

/**
 * Hands each message in one NATS message's bytes to `fn`, in order, with its
 * origin in `header` (filled again for each); throws at the first that is not
 * an edgemq message (those before it were handed over).
 */
export function eachMessage(data: Uint8Array, topic: string, now: number, header: Header, fn: (message: Message) => void): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data[0] !== BUNDLE) return fn(readMessageAt(data, view, 0, data.length, topic, now, header));
  for (let at = 0; at < data.length;) {
    if (at + ENTRY > data.length) throw new RangeError("truncated cluster bundle");
    const n = view.getUint32(at + 1);
    if (at + ENTRY + n > data.length) throw new RangeError("truncated cluster bundle");
    fn(readMessageAt(data, view, at + ENTRY, at + ENTRY + n, topic, now, header));
    at += ENTRY + n;
  }
}

/** Where {@link Outbox.drain} sends one NATS message: `count` messages, the first of them on `topic`. */
export type SendRun = (subject: string, data: Uint8Array, count: number, topic: string) => void;

/**
 * The messages one broker sends to NATS in one event-loop turn. Each is
 * written as it is routed, as a bundle entry, into a buffer it shares with
 * the messages before it (a new one when full; nothing already written is
 * ever written over, as the NATS client may still hold it), so nothing of
 * the MQTT message has to live until the end of the turn. {@link drain} then
 * cuts them into NATS messages: consecutive entries on one subject, up to
 * `maxCount` and `maxBytes`, as one bundle, sent as they lie.
 */
export class Outbox {
  readonly #maxCount: number;
  readonly #maxBytes: number;
  #chunk = new Uint8Array(0);
  #view = new DataView(this.#chunk.buffer);
  #at = 0;
  // One slot per message, in order; the arrays are kept from turn to turn.
  readonly #subjects: string[] = [];
  readonly #topics: string[] = [];
  readonly #chunks: Uint8Array[] = [];
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];
  #length = 0;

  constructor(maxCount: number, maxBytes: number) {
    this.#maxCount = maxCount;
    this.#maxBytes = maxBytes;
  }

  /** Messages written since the last drain. */
  get length(): number {
    return this.#length;
  }

  /** Writes `m` for `subject`; returns the number of messages now waiting. */
  add(subject: string, m: Prepared): number {
    const need = ENTRY + m.size;
    if (this.#at + need > this.#chunk.length) {
      this.#chunk = new Uint8Array(Math.max(CHUNK_BYTES, need));
      this.#view = new DataView(this.#chunk.buffer);
      this.#at = 0;
    }
    const chunk = this.#chunk;
    const start = this.#at;
    chunk[start] = 0;
    this.#view.setUint32(start + 1, m.size);
    this.#at = writeMessage(m, chunk, this.#view, start + ENTRY);
    const i = this.#length++;
    this.#subjects[i] = subject;
    this.#topics[i] = m.message.topic;
    this.#chunks[i] = chunk;
    this.#starts[i] = start;
    this.#ends[i] = this.#at;
    return this.#length;
  }

  /** Hands every waiting message to `send`, in order, as few NATS messages as the limits allow; the outbox is then empty. */
  drain(send: SendRun): void {
    const n = this.#length;
    const subjects = this.#subjects, chunks = this.#chunks, starts = this.#starts, ends = this.#ends;
    for (let i = 0; i < n;) {
      const chunk = chunks[i]!;
      let j = i + 1;
      // A run: the same subject, in the same buffer (so the entries lie one after the other), within the limits.
      while (j < n && j - i < this.#maxCount && subjects[j] === subjects[i] && chunks[j] === chunk && ends[j]! - starts[i]! <= this.#maxBytes) j++;
      if (j - i === 1) send(subjects[i]!, chunk.subarray(starts[i]! + ENTRY, ends[i]), 1, this.#topics[i]!);
      else {
        chunk[starts[i]!] = BUNDLE;
        send(subjects[i]!, chunk.subarray(starts[i], ends[j - 1]), j - i, this.#topics[i]!);
      }
      i = j;
    }
    // Forget the references (not the slots): a chunk is freed once the NATS client is done with it.
    for (let i = 0; i < n; i++) (chunks[i] = this.#chunk), (subjects[i] = ""), (this.#topics[i] = "");
    this.#length = 0;
  }
}
