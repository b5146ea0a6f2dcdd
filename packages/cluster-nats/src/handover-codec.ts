import type { OutgoingRecord, QoS, SessionHandover, SessionRecord } from "@edgemq/core";
import { Qos2Marks } from "./qos2-marks.ts";
import { decodeMessage, encodeMessage } from "./message-codec.ts";

//
// A session handed from one node to another (a client reconnecting
// elsewhere), as the answer to a fence request carries it: a u32 length and
// a JSON head (the session record and each outgoing record's delivery
// state), then each outgoing record's message in the cluster's message
// encoding as a u32 length and its bytes, in order. Messages carry their
// remaining lifetime, not a deadline, so the nodes' clocks need not agree.
//

const VERSION = 1;
const NO_ORIGIN = { node: "", incarnation: 0, sequence: 0 };
const enc = new TextEncoder();
const dec = new TextDecoder();

interface OutgoingHead {
  topic: string;
  qos: QoS;
  retain: boolean;
  ids?: number[];
  packetId: number;
  state: "publish" | "pubrel";
  share?: { group: string; filter: string };
  /** The message's origin in the cluster (Message.origin), kept with a QoS 2 message. */
  origin?: string;
}

interface Head {
  v: number;
  record: SessionRecord;
  outgoing: OutgoingHead[];
  inboundQos2: number[];
  /** How far the session was sent each origin run's QoS 2 messages (see Qos2Marks). */
  sent?: unknown;
}

/** A session as another node handed it over, with its QoS 2 marks there. */
export interface HandedOver {
  handover: SessionHandover;
  sent: Qos2Marks | undefined;
}

/** The bytes of a handover (with the session's QoS 2 marks); message lifetimes counted at `now`. */
export function encodeHandover(h: SessionHandover, now: number, sent?: Qos2Marks): Uint8Array {
  const outgoing: OutgoingHead[] = [];
  const bodies: Uint8Array[] = [];
  for (const r of h.outgoing) {
    outgoing.push(outgoingHead(r));
    bodies.push(encodeMessage(r.message, NO_ORIGIN, now));
  }
  // The core hands a record over without its will (handOverSession): the client is back.
  const head = enc.encode(JSON.stringify({ v: VERSION, record: h.record, outgoing, inboundQos2: h.inboundQos2, sent } satisfies Head));
  const out = new Uint8Array(4 + head.length + bodies.reduce((sum, b) => sum + 4 + b.length, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, head.length);
  out.set(head, 4);
  let at = 4 + head.length;
  for (const b of bodies) {
    view.setUint32(at, b.length);
    out.set(b, at + 4);
    at += 4 + b.length;
  }
  return out;
}

/** A handover read back at `now`; throws when the bytes are not one. */
export function decodeHandover(bytes: Uint8Array, now: number): SessionHandover {
  return decodeHandedOver(bytes, now).handover;
}

/** A handover read back at `now`, with the QoS 2 marks it carries; throws when the bytes are not one. */
export function decodeHandedOver(bytes: Uint8Array, now: number): HandedOver {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headEnd = 4 + view.getUint32(0);
  if (headEnd > bytes.length) throw new RangeError("truncated session handover");
  const head = JSON.parse(dec.decode(bytes.subarray(4, headEnd))) as Head;
  if (head.v !== VERSION || typeof head.record?.clientId !== "string" || !Array.isArray(head.outgoing)) throw new Error("not a session handover");
  let at = headEnd;
  const outgoing: OutgoingRecord[] = head.outgoing.map((o) => {
    const end = at + 4 + view.getUint32(at);
    if (end > bytes.length) throw new RangeError("truncated session handover");
    const record = fromHead(o, bytes.subarray(at + 4, end), now);
    at = end;
    return record;
  });
  return { handover: { record: head.record, outgoing, inboundQos2: head.inboundQos2 ?? [] }, sent: head.sent === undefined ? undefined : Qos2Marks.from(head.sent) };
}

/**
 * One outgoing record as the held QoS 2 bucket keeps it (see held-qos2.ts):
 * a u32 length, a JSON head (with `order`, the place it was first saved in),
 * then its message in the cluster's encoding; its lifetime counted at `now`.
 */
export function encodeOutgoing(r: OutgoingRecord, order: number, now: number): Uint8Array {
  const head = enc.encode(JSON.stringify({ v: VERSION, order, ...outgoingHead(r) }));
  const body = encodeMessage(r.message, NO_ORIGIN, now);
  const out = new Uint8Array(4 + head.length + body.length);
  new DataView(out.buffer).setUint32(0, head.length);
  out.set(head, 4);
  out.set(body, 4 + head.length);
  return out;
}

/** A record {@link encodeOutgoing} wrote, read back at `now`, with its order; throws when the bytes are not one. */
export function decodeOutgoing(bytes: Uint8Array, now: number): { record: OutgoingRecord; order: number } {
  const headEnd = 4 + new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  if (headEnd > bytes.length) throw new RangeError("truncated outgoing record");
  const head = JSON.parse(dec.decode(bytes.subarray(4, headEnd))) as OutgoingHead & { v: number; order: number };
  if (head.v !== VERSION || typeof head.topic !== "string" || typeof head.packetId !== "number") throw new Error("not an outgoing record");
  return { record: fromHead(head, bytes.subarray(headEnd), now), order: head.order };
}

function outgoingHead(r: OutgoingRecord): OutgoingHead {
  return {
    topic: r.message.topic, qos: r.qos, retain: r.retain, ids: r.subscriptionIdentifiers, packetId: r.packetId, state: r.state,
    share: r.shareGroup === undefined ? undefined : { group: r.shareGroup.group, filter: r.shareGroup.filter },
    origin: r.message.origin,
  };
}

function fromHead(o: OutgoingHead, body: Uint8Array, now: number): OutgoingRecord {
  const { message } = decodeMessage(body, o.topic, now);
  if (o.origin !== undefined) message.origin = o.origin;
  const record: OutgoingRecord = { message, qos: o.qos, retain: o.retain, subscriptionIdentifiers: o.ids, packetId: o.packetId, state: o.state };
  if (o.share !== undefined) record.shareGroup = o.share;
  return record;
}
