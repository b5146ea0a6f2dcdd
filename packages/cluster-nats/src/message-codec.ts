import type { Message, PublishProperties, QoS } from "@edgemq/core";

//
// A Message as the bytes of one NATS message: a small header, the MQTT 5
// properties that travel with it, then the payload. The topic is the
// subject's (see subject.ts), so it is not repeated here.
//
//   u8  version (1)
//   u8  flags: QoS in bits 0-1, RETAIN in bit 2, bit 3 when the origin node
//       gave it to its own share groups (NATS was away), so no other node does
//   u8  which properties follow: 1 payload format, 2 expiry, 4 content type,
//       8 response topic, 16 correlation data, 32 user properties
//   str origin node id, u32 origin incarnation, f64 origin sequence
//   str sender client id (No Local compares it with each subscriber's)
//   then, when present: u8 payload format, f64 remaining lifetime in ms,
//   str content type, str response topic, bin correlation data,
//   u32 count + (str name, str value) user properties, in order
//   the payload, to the end
//
// str and bin are a u16 length and the bytes: MQTT bounds every one of them to 65,535.
//
// Several messages on one subject, one after the other, may travel as one NATS
// message (a bundle), so that NATS's per-message work is paid once for them:
//
//   u8  2, then for each message: u32 length and its bytes as above
//

const VERSION = 1;
const PFI = 1, EXPIRY = 2, CONTENT_TYPE = 4, RESPONSE_TOPIC = 8, CORRELATION = 16, USER = 32;
const enc = new TextEncoder();
const dec = new TextDecoder();

// Node ids and client ids come back with every message: each is encoded once
// (at most 4,096 remembered, then forgotten at once).
const encoded = new Map<string, Uint8Array>();
function utf8(s: string): Uint8Array {
  let b = encoded.get(s);
  if (b === undefined) {
    if (encoded.size >= 4096) encoded.clear();
    encoded.set(s, (b = enc.encode(s)));
  }
  return b;
}

// A short ASCII string is read faster byte by byte than through TextDecoder.
function text(b: Uint8Array): string {
  if (b.length > 32) return dec.decode(b);
  let s = "";
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c >= 0x80) return dec.decode(b);
    s += String.fromCharCode(c);
  }
  return s;
}

/** Who sent a message over NATS: a node, its run (incarnation) and the message's place in that run's order. */
export interface Origin {
  node: string;
  incarnation: number;
  sequence: number;
}

/** A message read back from NATS, with its origin. */
export interface Decoded {
  origin: Origin;
  message: Message;
  /** The origin served its share groups itself: share groups elsewhere must not get it again. */
  sharesServed: boolean;
}

/** The bytes for `message` from `origin`; its remaining lifetime counted at `now`; `sharesServed` when the origin served its share groups. */
export function encodeMessage(message: Message, origin: Origin, now: number, sharesServed = false): Uint8Array {
  const p = message.properties;
  const node = utf8(origin.node);
  const sender = utf8(message.senderId);
  const contentType = p?.contentType !== undefined ? enc.encode(p.contentType) : undefined;
  const responseTopic = p?.responseTopic !== undefined ? enc.encode(p.responseTopic) : undefined;
  const user = p?.userProperties?.map(([k, v]) => [enc.encode(k), enc.encode(v)] as const);
  let mask = 0;
  let size = 3 + 2 + node.length + 4 + 8 + 2 + sender.length;
  if (p?.payloadFormatIndicator !== undefined) (mask |= PFI), (size += 1);
  if (message.expiresAt !== undefined) (mask |= EXPIRY), (size += 8);
  if (contentType !== undefined) (mask |= CONTENT_TYPE), (size += 2 + contentType.length);
  if (responseTopic !== undefined) (mask |= RESPONSE_TOPIC), (size += 2 + responseTopic.length);
  if (p?.correlationData !== undefined) (mask |= CORRELATION), (size += 2 + p.correlationData.length);
  if (user !== undefined) {
    mask |= USER;
    size += 4;
    for (const [k, v] of user) size += 4 + k.length + v.length;
  }
  size += message.payload.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  const bytes = (b: Uint8Array) => {
    view.setUint16(at, b.length);
    out.set(b, at + 2);
    at += 2 + b.length;
  };
  out[at++] = VERSION;
  out[at++] = message.qos | (message.retain ? 4 : 0) | (sharesServed ? 8 : 0);
  out[at++] = mask;
  bytes(node);
  view.setUint32(at, origin.incarnation >>> 0);
  view.setFloat64(at + 4, origin.sequence);
  at += 12;
  bytes(sender);
  if (mask & PFI) out[at++] = p!.payloadFormatIndicator!;
  // The lifetime left, not the deadline: the nodes' clocks need not agree.
  if (mask & EXPIRY) (view.setFloat64(at, Math.max(0, message.expiresAt! - now)), (at += 8));
  if (contentType !== undefined) bytes(contentType);
  if (responseTopic !== undefined) bytes(responseTopic);
  if (mask & CORRELATION) bytes(p!.correlationData!);
  if (user !== undefined) {
    view.setUint32(at, user.length);
    at += 4;
    for (const [k, v] of user) (bytes(k), bytes(v));
  }
  out.set(message.payload, at);
  return out;
}

const BUNDLE = 2;

/** One NATS message's bytes for several encoded messages of one subject, in order (see the format above). */
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
  if (data[0] !== BUNDLE) return [data];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const parts: Uint8Array[] = [];
  for (let at = 1; at < data.length;) {
    if (at + 4 > data.length) throw new RangeError("truncated cluster bundle");
    const n = view.getUint32(at);
    if (at + 4 + n > data.length) throw new RangeError("truncated cluster bundle");
    parts.push(data.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return parts;
}

/** The message in `data` (on `topic`, received at `now`), or throws when the bytes are not one. */
export function decodeMessage(data: Uint8Array, topic: string, now: number): Decoded {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = 0;
  const bytes = (): Uint8Array => {
    const n = view.getUint16(at);
    if (at + 2 + n > data.length) throw new RangeError("truncated cluster message");
    const b = data.subarray(at + 2, at + 2 + n);
    at += 2 + n;
    return b;
  };
  const string = () => text(bytes());
  if (data[at++] !== VERSION) throw new Error(`unknown cluster message version ${data[0]}`);
  const flags = data[at++]!;
  const mask = data[at++]!;
  const node = string();
  const origin: Origin = { node, incarnation: view.getUint32(at), sequence: view.getFloat64(at + 4) };
  at += 12;
  const senderId = string();
  let properties: PublishProperties | undefined;
  const props = () => (properties ??= {});
  if (mask & PFI) props().payloadFormatIndicator = data[at++]!;
  let expiresAt: number | undefined;
  if (mask & EXPIRY) (expiresAt = now + view.getFloat64(at)), (at += 8);
  if (mask & CONTENT_TYPE) props().contentType = string();
  if (mask & RESPONSE_TOPIC) props().responseTopic = string();
  // Views, as the core's own PUBLISHes are: NATS hands each read its own buffer,
  // and the core copies what it keeps for an offline session (ownCopy).
  if (mask & CORRELATION) props().correlationData = bytes();
  if (mask & USER) {
    const count = view.getUint32(at);
    at += 4;
    const user: [string, string][] = [];
    for (let i = 0; i < count; i++) user.push([string(), string()]);
    props().userProperties = user;
  }
  if (at > data.length) throw new RangeError("truncated cluster message");
  const message: Message = {
    topic, payload: data.subarray(at), qos: (flags & 3) as QoS, retain: (flags & 4) !== 0,
    properties, expiresAt, senderId, receivedAt: now,
  };
  return { origin, message, sharesServed: (flags & 8) !== 0 };
}
