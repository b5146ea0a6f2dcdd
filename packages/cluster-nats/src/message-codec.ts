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
// Several messages on one subject may travel as one NATS message: see bundle.ts.
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

// The node id and the sender id of the last message read (slots 0 and 1): the
// messages of a bundle, and mostly the next ones, have the same.
const last = [{ bytes: new Uint8Array(0), text: "" }, { bytes: new Uint8Array(0), text: "" }];
function recent(b: Uint8Array, start: number, end: number, slot: 0 | 1): string {
  const l = last[slot]!;
  const n = end - start;
  if (l.bytes.length === n) {
    let i = 0;
    while (i < n && l.bytes[i] === b[start + i]) i++;
    if (i === n) return l.text;
  }
  const t = text(b, start, end);
  if (n <= 64) last[slot] = { bytes: b.slice(start, end), text: t };
  return t;
}

// The string in `b` from `start` to `end`: a short ASCII one is read faster byte by byte than through TextDecoder.
function text(b: Uint8Array, start: number, end: number): string {
  if (end - start > 32) return dec.decode(b.subarray(start, end));
  let s = "";
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c >= 0x80) return dec.decode(b.subarray(start, end));
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
  /** The message's own encoded bytes (one of a bundle's), to send it on as it is. */
  bytes: Uint8Array;
}

/** A message ready to be written: its strings encoded, its size and its remaining lifetime known. */
export interface Prepared {
  message: Message;
  incarnation: number;
  sequence: number;
  flags: number;
  mask: number;
  node: Uint8Array;
  sender: Uint8Array;
  contentType: Uint8Array | undefined;
  responseTopic: Uint8Array | undefined;
  user: (readonly [Uint8Array, Uint8Array])[] | undefined;
  /** Milliseconds of its lifetime left, counted when it was prepared. */
  lifetime: number;
  size: number;
}

/**
 * `message` from `origin` made ready to write; its remaining lifetime counted
 * at `now`; `sharesServed` when the origin served its share groups. Written
 * into `into` when given: a message written at once needs no object of its own.
 */
export function prepareMessage(message: Message, origin: Origin, now: number, sharesServed = false, into?: Prepared): Prepared {
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
  const flags = message.qos | (message.retain ? 4 : 0) | (sharesServed ? 8 : 0);
  // The lifetime left, not the deadline: the nodes' clocks need not agree.
  const lifetime = message.expiresAt === undefined ? 0 : Math.max(0, message.expiresAt - now);
  if (into === undefined) return { message, incarnation: origin.incarnation >>> 0, sequence: origin.sequence, flags, mask, node, sender, contentType, responseTopic, user, lifetime, size };
  into.message = message;
  into.incarnation = origin.incarnation >>> 0;
  into.sequence = origin.sequence;
  into.flags = flags;
  into.mask = mask;
  into.node = node;
  into.sender = sender;
  into.contentType = contentType;
  into.responseTopic = responseTopic;
  into.user = user;
  into.lifetime = lifetime;
  into.size = size;
  return into;
}

/** A Prepared to fill again and again with {@link prepareMessage}. */
export function emptyPrepared(): Prepared {
  const none = new Uint8Array(0);
  return {
    message: { topic: "", payload: none, qos: 0, retain: false, senderId: "", receivedAt: 0, expiresAt: undefined, properties: undefined },
    incarnation: 0, sequence: 0, flags: 0, mask: 0, node: none, sender: none, contentType: undefined, responseTopic: undefined, user: undefined, lifetime: 0, size: 0,
  };
}

// A length-prefixed byte string at `at`; returns where it ends. A function of its own, not a
// closure made per message: this runs for every message that crosses.
function writeBytes(out: Uint8Array, view: DataView, at: number, b: Uint8Array): number {
  view.setUint16(at, b.length);
  out.set(b, at + 2);
  return at + 2 + b.length;
}

/** Writes a prepared message at `at` of `out` (`view` over the same bytes); returns where it ends. */
export function writeMessage(m: Prepared, out: Uint8Array, view: DataView, at: number): number {
  const p = m.message.properties;
  out[at++] = VERSION;
  out[at++] = m.flags;
  out[at++] = m.mask;
  at = writeBytes(out, view, at, m.node);
  view.setUint32(at, m.incarnation);
  view.setFloat64(at + 4, m.sequence);
  at += 12;
  at = writeBytes(out, view, at, m.sender);
  if (m.mask & PFI) out[at++] = p!.payloadFormatIndicator!;
  if (m.mask & EXPIRY) (view.setFloat64(at, m.lifetime), (at += 8));
  if (m.contentType !== undefined) at = writeBytes(out, view, at, m.contentType);
  if (m.responseTopic !== undefined) at = writeBytes(out, view, at, m.responseTopic);
  if (m.mask & CORRELATION) at = writeBytes(out, view, at, p!.correlationData!);
  if (m.user !== undefined) {
    view.setUint32(at, m.user.length);
    at += 4;
    for (const [k, v] of m.user) at = writeBytes(out, view, writeBytes(out, view, at, k), v);
  }
  out.set(m.message.payload, at);
  return at + m.message.payload.length;
}

/** The bytes for `message` from `origin`; its remaining lifetime counted at `now`; `sharesServed` when the origin served its share groups. */
export function encodeMessage(message: Message, origin: Origin, now: number, sharesServed = false): Uint8Array {
  const m = prepareMessage(message, origin, now, sharesServed);
  const out = new Uint8Array(m.size);
  writeMessage(m, out, new DataView(out.buffer), 0);
  return out;
}

/** The message in `data` (on `topic`, received at `now`), or throws when the bytes are not one. */
export function decodeMessage(data: Uint8Array, topic: string, now: number): Decoded {
  return decodeAt(data, new DataView(data.buffer, data.byteOffset, data.byteLength), 0, data.length, topic, now);
}

/** A message's place in the cluster, `node\0incarnation\0sequence`: what Message.origin holds, and what a backlog read skips. */
export function originKey(node: string, incarnation: number, sequence: number): string {
  return `${node}\0${incarnation}\0${sequence}`;
}

/** What a message's header says besides the message itself, filled in by {@link readMessageAt}. */
export interface Header {
  node: string;
  incarnation: number;
  sequence: number;
  sharesServed: boolean;
}

/** The message in `data` from `start` to `end` (`view` over all of `data`): one of a bundle's, or the whole. */
export function decodeAt(data: Uint8Array, view: DataView, start: number, end: number, topic: string, now: number): Decoded {
  const h: Header = { node: "", incarnation: 0, sequence: 0, sharesServed: false };
  const message = readMessageAt(data, view, start, end, topic, now, h);
  return { origin: { node: h.node, incarnation: h.incarnation, sequence: h.sequence }, message, sharesServed: h.sharesServed, bytes: start === 0 && end === data.length ? data : data.subarray(start, end) };
}

/**
 * The message in `data` from `start` to `end`, its origin and flags written
 * into `header` (one object for every message read: a node reads thousands a
 * second); throws when the bytes are not one.
 */
export function readMessageAt(data: Uint8Array, view: DataView, start: number, end: number, topic: string, now: number, header: Header): Message {
  let at = start;
  // Where a u16-length field at `at` ends; throws past the end.
  const field = (): number => {
    const stop = at + 2 + view.getUint16(at);
    if (stop > end) throw new RangeError("truncated cluster message");
    return stop;
  };
  if (data[at++] !== VERSION) throw new Error(`unknown cluster message version ${data[start]}`);
  const flags = data[at++]!;
  const mask = data[at++]!;
  let stop = field();
  header.node = recent(data, at + 2, stop, 0);
  at = stop;
  header.incarnation = view.getUint32(at);
  header.sequence = view.getFloat64(at + 4);
  header.sharesServed = (flags & 8) !== 0;
  at += 12;
  stop = field();
  const senderId = recent(data, at + 2, stop, 1);
  at = stop;
  let properties: PublishProperties | undefined;
  let expiresAt: number | undefined;
  if (mask !== 0) {
    const bytes = (): Uint8Array => {
      const stop = field();
      const b = data.subarray(at + 2, stop);
      at = stop;
      return b;
    };
    const string = () => {
      const stop = field();
      const s = text(data, at + 2, stop);
      at = stop;
      return s;
    };
    const props = () => (properties ??= {});
    if (mask & PFI) props().payloadFormatIndicator = data[at++]!;
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
  }
  if (at > end) throw new RangeError("truncated cluster message");
  return {
    topic, payload: data.subarray(at, end), qos: (flags & 3) as QoS, retain: (flags & 4) !== 0,
    properties, expiresAt, senderId, receivedAt: now,
  };
}
