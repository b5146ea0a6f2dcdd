import { MAX_PACKET_SIZE, type ProtocolVersion } from "./constants.ts";
import { MqttError, malformed } from "./errors.ts";
import { decodeAck, encodeAck, type PubackPacket, type PubcompPacket, type PubrecPacket, type PubrelPacket } from "./packets/ack.ts";
import { type ConnackPacket, decodeConnack, encodeConnack } from "./packets/connack.ts";
import { type ConnectPacket, decodeConnect, encodeConnect } from "./packets/connect.ts";
import { type AuthPacket, decodeDisconnect, type DisconnectPacket, encodeDisconnect } from "./packets/disconnect.ts";
import { encodePing, type PingreqPacket, type PingrespPacket } from "./packets/ping.ts";
import { decodePublish, encodePublish, type PublishPacket } from "./packets/publish.ts";
import { decodeSuback, encodeSuback, type SubackPacket, type UnsubackPacket } from "./packets/suback.ts";
import { decodeSubscribe, encodeSubscribe, type SubscribePacket } from "./packets/subscribe.ts";
import { decodeUnsubscribe, encodeUnsubscribe, type UnsubscribePacket } from "./packets/unsubscribe.ts";
import { Reader } from "./reader.ts";
import { ReasonCode } from "./reason-codes.ts";

/** Every MQTT control packet, discriminated on `type`. */
export type Packet =
  | ConnectPacket | ConnackPacket | PublishPacket | PubackPacket | PubrecPacket | PubrelPacket
  | PubcompPacket | SubscribePacket | SubackPacket | UnsubscribePacket | UnsubackPacket
  | PingreqPacket | PingrespPacket | DisconnectPacket | AuthPacket;

// The flags each packet type must carry in the low nibble of its fixed header
// (Table 2-2); PUBLISH (3) carries DUP, QoS and RETAIN instead.
const REQUIRED_FLAGS = [-1, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];

/**
 * Checks a fixed header's first byte before any of the body is read: packet
 * type 0 is reserved, AUTH exists only in 5.0, and the reserved flags must be
 * exactly as Table 2-2 says [MQTT-2.1.3-1].
 */
export function checkFixedHeader(firstByte: number, version: ProtocolVersion): void {
  const type = firstByte >> 4;
  if (type === 0 || (type === 15 && version < 5)) {
    throw malformed("PACKET_TYPE_RESERVED", `packet type ${type} is reserved at protocol level ${version}`);
  }
  const required = REQUIRED_FLAGS[type]!;
  if (required >= 0 && (firstByte & 0x0f) !== required) {
    throw malformed("FIXED_HEADER_FLAGS", `packet type ${type} has fixed header flags ${firstByte & 0x0f}; they must be ${required}`); // [MQTT-2.1.3-1]
  }
}

/**
 * Decodes one packet body, bytes[start, end), using the reader given (so a
 * stream decoder can reuse one). The fixed header has been checked already.
 */
export function decodeBody(r: Reader, firstByte: number, version: ProtocolVersion): Packet {
  const flags = firstByte & 0x0f;
  switch (firstByte >> 4) {
    case 1: return decodeConnect(r);
    case 2: return decodeConnack(r, version);
    case 3: return decodePublish(r, flags, version);
    case 4: return decodeAck(r, "puback", version);
    case 5: return decodeAck(r, "pubrec", version);
    case 6: return decodeAck(r, "pubrel", version);
    case 7: return decodeAck(r, "pubcomp", version);
    case 8: return decodeSubscribe(r, version);
    case 9: return decodeSuback(r, "suback", version);
    case 10: return decodeUnsubscribe(r, version);
    case 11: return decodeSuback(r, "unsuback", version);
    case 12:
    case 13:
      if (r.remaining !== 0) throw malformed("TRAILING_BYTES", "PINGREQ and PINGRESP have no body");
      return { type: firstByte >> 4 === 12 ? "pingreq" : "pingresp" };
    case 14: return decodeDisconnect(r, "disconnect", version);
    default: return decodeDisconnect(r, "auth", version);
  }
}

/**
 * Decodes exactly one whole packet (fixed header included). For a stream of
 * bytes use {@link FrameDecoder}; this is for packets already framed.
 */
export function decodePacket(bytes: Uint8Array, version: ProtocolVersion = 5): Packet {
  const r = new Reader(bytes, 0, bytes.byteLength);
  const firstByte = r.u8("the fixed header");
  checkFixedHeader(firstByte, version);
  const remaining = r.varint("the remaining length");
  if (remaining !== r.remaining) {
    throw malformed("REMAINING_LENGTH_MISMATCH", `the remaining length says ${remaining} bytes but ${r.remaining} follow`);
  }
  return decodeBody(r, firstByte, version);
}

/**
 * Encodes a packet into a buffer of exactly its size. With a
 * `maximumPacketSize` (the receiver's), a packet that would exceed it is
 * re-encoded without its Reason String and User Properties, as the spec
 * requires ([MQTT-3.2.2-19], [MQTT-3.2.2-20], [MQTT-3.4.2-2], [MQTT-3.4.2-3] and
 * the same rule for PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT and
 * AUTH); if it still does not fit, or is a PUBLISH (whose properties belong to
 * the message), an MqttError 0x95 Packet Too Large is thrown, and the caller
 * discards the packet [MQTT-3.1.2-25].
 */
export function encodePacket(p: Packet, version: ProtocolVersion = 5, maximumPacketSize: number = MAX_PACKET_SIZE): Uint8Array {
  let bytes = encodeOnce(p, version, false);
  if (bytes.byteLength <= maximumPacketSize) return bytes;
  if (hasDiagnostics(p)) {
    bytes = encodeOnce(p, version, true);
    if (bytes.byteLength <= maximumPacketSize) return bytes;
  }
  throw new MqttError(ReasonCode.PacketTooLarge, "PACKET_TOO_LARGE",
    `a ${p.type.toUpperCase()} of ${bytes.byteLength} bytes exceeds the receiver's maximum packet size of ${maximumPacketSize}`); // [MQTT-3.1.2-24]
}

function hasDiagnostics(p: Packet): boolean {
  switch (p.type) {
    case "connack": case "puback": case "pubrec": case "pubrel": case "pubcomp":
    case "suback": case "unsuback": case "disconnect": case "auth":
      return true;
    default:
      return false;
  }
}

function encodeOnce(p: Packet, version: ProtocolVersion, omitDiagnostics: boolean): Uint8Array {
  switch (p.type) {
    case "publish": return encodePublish(p, version);
    case "connect": return encodeConnect(p);
    case "connack": return encodeConnack(p, version, omitDiagnostics);
    case "puback": case "pubrec": case "pubrel": case "pubcomp": return encodeAck(p, version, omitDiagnostics);
    case "subscribe": return encodeSubscribe(p, version);
    case "suback": case "unsuback": return encodeSuback(p, version, omitDiagnostics);
    case "unsubscribe": return encodeUnsubscribe(p, version);
    case "pingreq": case "pingresp": return encodePing(p);
    case "disconnect": case "auth": return encodeDisconnect(p, version, omitDiagnostics);
  }
}
