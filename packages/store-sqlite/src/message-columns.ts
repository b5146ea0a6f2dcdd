import type { Message } from "@edgemq/core";
import type { RowChecksum } from "./checksum.ts";
import { decodePublishProperties, isQos, RowError } from "./row-codec.ts";

// A message is kept as the same nine columns in two tables: `messages` (shared
// by outgoing records) and `retained`. This file writes and reads them.

/** The message columns of a row, as node:sqlite returns them. */
export interface MessageRow {
  topic: string;
  payload: Uint8Array;
  qos: number;
  retain: number;
  properties: Uint8Array | null;
  expires_at: number | null;
  sender_id: string;
  received_at: number;
  crc: number;
}

/** The checksum of a message row; `key` is the row's own key (a message id, or a scope id for a retained row). */
export function messageChecksum(
  ck: RowChecksum, key: number, topic: string, payload: Uint8Array, qos: number, retain: number,
  properties: Uint8Array | null, expiresAt: number | null | undefined, senderId: string, receivedAt: number,
): number {
  return ck.begin().number(key).text(topic).bytes(payload).number(qos).number(retain).bytes(properties)
    .number(expiresAt).text(senderId).number(receivedAt).end();
}

/** Rebuilds a Message from its row, or throws a {@link RowError} if the row does not check out. */
export function readMessage(ck: RowChecksum, key: number, row: MessageRow): Message {
  const crc = messageChecksum(ck, key, row.topic, row.payload, row.qos, row.retain, row.properties, row.expires_at, row.sender_id, row.received_at);
  if (crc !== row.crc) throw new RowError(`the message on ${JSON.stringify(row.topic)} fails its checksum`);
  if (!isQos(row.qos) || (row.retain !== 0 && row.retain !== 1)) throw new RowError(`the message on ${JSON.stringify(row.topic)} has an invalid QoS or retain flag`);
  return {
    topic: row.topic,
    payload: plain(row.payload),
    qos: row.qos,
    retain: row.retain === 1,
    properties: decodePublishProperties(row.properties),
    expiresAt: row.expires_at ?? undefined,
    senderId: row.sender_id,
    receivedAt: row.received_at,
  };
}

/** A plain Uint8Array over the same bytes (a runtime may hand back a Buffer). */
export function plain(b: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
