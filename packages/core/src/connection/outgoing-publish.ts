import { MqttError } from "../codec/errors.ts";
import { encodePacket } from "../codec/packet.ts";
import type { PublishProperties } from "../codec/packets/publish.ts";
import type { Message } from "../model/message.ts";
import type { OutgoingRecord } from "../model/outgoing-record.ts";

//
// Encode once, share the bytes. A message's PUBLISH differs between
// subscribers only by protocol family (3.x or 5), QoS, RETAIN, packet id, DUP,
// subscription identifiers, remaining expiry and topic alias. The first five
// are handled by a cached form per (family, QoS, RETAIN) that QoS 0 sends as
// it is and QoS > 0 copies with its packet id patched in. The last three make
// a PUBLISH unique to its subscriber, so it is encoded for that one.
//

function formIndex(v5: boolean, qos: number, retain: boolean): number {
  return (v5 ? 6 : 0) + qos * 2 + (retain ? 1 : 0);
}

function sharedForm(m: Message, v5: boolean, qos: 0 | 1 | 2, retain: boolean): Uint8Array {
  const forms = (m.forms ??= []);
  const i = formIndex(v5, qos, retain);
  let bytes = forms[i];
  if (bytes === undefined) {
    bytes = encodePacket(
      { type: "publish", topic: m.topic, payload: m.payload, qos, retain, dup: false, packetId: qos > 0 ? 1 : undefined, properties: v5 ? m.properties : undefined },
      v5 ? 5 : 4,
    );
    forms[i] = bytes;
  }
  return bytes;
}

/** What encoding a PUBLISH needs to know of the receiving connection. */
export interface PublishReceiver {
  readonly version: number;
  /** The client's Maximum Packet Size. */
  readonly clientMaximumPacketSize: number;
  /** The client's Topic Alias Maximum. */
  readonly clientTopicAliasMaximum: number;
}

/**
 * Encodes the PUBLISH for one outgoing record on one connection, or returns
 * undefined if the message has expired before its first send [MQTT-3.3.2-5]
 * or is larger than the client's Maximum Packet Size [MQTT-3.1.2-24].
 */
export function encodeOutgoingPublish(conn: PublishReceiver, record: OutgoingRecord, dup: boolean, now: number, aliases: Map<string, number> | undefined): Uint8Array | undefined {
  const m = record.message;
  let remaining: number | undefined;
  if (m.expiresAt !== undefined) {
    const left = m.expiresAt - now;
    // A lifetime that has run out stops a delivery not yet started [MQTT-3.3.2-5]. An
    // interval of 0 runs out after this instant: subscribers connected now get it.
    // A resend (DUP) continues a delivery already started, which expiry no longer stops [MQTT-4.3.3-7]
    if (left < 0 && !dup) return undefined;
    remaining = left > 0 ? Math.ceil(left / 1000) : 0;
  }
  const v5 = conn.version === 5;
  const ids = record.subscriptionIdentifiers;
  if (!v5 || (ids === undefined && remaining === undefined && conn.clientTopicAliasMaximum === 0)) {
    const form = sharedForm(m, v5, record.qos, record.retain);
    if (form.byteLength > conn.clientMaximumPacketSize) return undefined; // [MQTT-3.1.2-25]
    if (record.qos === 0) return form;
    const bytes = form.slice();
    if (dup) bytes[0]! |= 0x08; // [MQTT-3.3.1-1] DUP on a resend
    // The packet id follows the topic name, after the fixed header.
    let header = 1;
    while (bytes[header]! & 0x80) header++;
    header++;
    const at = header + 2 + ((bytes[header]! << 8) | bytes[header + 1]!);
    bytes[at] = record.packetId >>> 8;
    bytes[at + 1] = record.packetId & 0xff;
    return bytes;
  }

  const properties: PublishProperties = m.properties ? { ...m.properties } : {};
  if (ids !== undefined) properties.subscriptionIdentifiers = ids; // [MQTT-3.3.4-3]
  if (remaining !== undefined) properties.messageExpiryInterval = remaining; // [MQTT-3.3.2-6]
  let topic = m.topic;
  let newAlias: number | undefined;
  if (aliases !== undefined) {
    const alias = aliases.get(topic);
    if (alias !== undefined) {
      properties.topicAlias = alias;
      topic = "";
    } else if (aliases.size < conn.clientTopicAliasMaximum) {
      newAlias = aliases.size + 1; // never above the client's maximum [MQTT-3.3.2-11]
      properties.topicAlias = newAlias;
    }
  }
  let bytes: Uint8Array;
  try {
    bytes = encodePacket(
      { type: "publish", topic, payload: m.payload, qos: record.qos, retain: record.retain, dup: dup && record.qos > 0, packetId: record.qos > 0 ? record.packetId : undefined, properties },
      5,
      conn.clientMaximumPacketSize,
    );
  } catch (e) {
    if (e instanceof MqttError) return undefined; // too large for this client [MQTT-3.1.2-25]
    throw e;
  }
  // The alias is the client's to know only once the PUBLISH that sets it goes out.
  if (newAlias !== undefined) aliases!.set(m.topic, newAlias);
  return bytes;
}
