import { decodeAt, type Decoded, type Prepared, writeMessage } from "./message-codec.ts";

//
// Several messages on one subject, one after the other, as one NATS message (a
// bundle), so that NATS's per-message work (a command line written, parsed and
// routed, a callback) is paid once for them:
//
//   u8  2, then for each message: u32 length and its bytes (message-codec.ts)
//
// A lone message travels as itself (its first byte, the version, is 1).
//

const BUNDLE = 2;

/** One NATS message's bytes for several encoded messages of one subject, in order. */
export function encodeBundle(parts: readonly Uint8Array[]): Uint8Array {
  let size = 1;
  for (const p of parts) size += 4 + p.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = BUNDLE;
  let at = 1;
  for (const p of parts) {
    view.setUint32(at, p.length);
    out.set(p, at + 4);
    at += 4 + p.length;
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
  for (let at = 1; at < data.length;) {
    if (at + 4 > data.length) throw new RangeError("truncated cluster bundle");
    const n = view.getUint32(at);
    if (at + 4 + n > data.length) throw new RangeError("truncated cluster bundle");
    fn(at + 4, at + 4 + n);
    at += 4 + n;
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
 * The NATS messages for prepared messages, written into one new buffer: each
 * run `[ends[k-1], ends[k])` is one NATS message, a lone message as itself and
 * more as a bundle. One allocation for them all, not one per message.
 */
export function writeRuns(messages: readonly Prepared[], ends: readonly number[]): Uint8Array[] {
  let size = 0;
  for (let k = 0, i = 0; k < ends.length; i = ends[k++]!) {
    if (ends[k]! - i > 1) size += 1 + 4 * (ends[k]! - i);
    for (let m = i; m < ends[k]!; m++) size += messages[m]!.size;
  }
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  const out: Uint8Array[] = [];
  let at = 0;
  for (let k = 0, i = 0; k < ends.length; i = ends[k++]!) {
    const start = at;
    if (ends[k]! - i === 1) at = writeMessage(messages[i]!, buf, view, at);
    else {
      buf[at++] = BUNDLE;
      for (let m = i; m < ends[k]!; m++) {
        view.setUint32(at, messages[m]!.size);
        at = writeMessage(messages[m]!, buf, view, at + 4);
      }
    }
    out.push(buf.subarray(start, at));
  }
  return out;
}
