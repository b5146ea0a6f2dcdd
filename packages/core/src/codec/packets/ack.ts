import type { ProtocolVersion } from "../constants.ts";
import { malformed, protocolError } from "../errors.ts";
import { type Properties, propertiesLength, readProperties, writeProperties } from "../properties.ts";
import type { Reader } from "../reader.ts";
import { PUBACK_REASON_CODES, PUBREL_REASON_CODES } from "../reason-codes.ts";
import { startPacket, varintLength } from "../writer.ts";

/** The properties of PUBACK, PUBREC, PUBREL and PUBCOMP. */
export type AckProperties = Pick<Properties, "reasonString" | "userProperties">;

/** The four QoS acknowledgements, which share one wire shape (§3.4–§3.7). */
export interface AckPacket<T extends "puback" | "pubrec" | "pubrel" | "pubcomp"> {
  type: T;
  packetId: number;
  /** Always 0 at levels 3 and 4, which carry no reason code. */
  reasonCode: number;
  properties?: AckProperties;
}

/** PUBACK (§3.4): QoS 1 acknowledgement. */
export type PubackPacket = AckPacket<"puback">;
/** PUBREC (§3.5): QoS 2, part 1. */
export type PubrecPacket = AckPacket<"pubrec">;
/** PUBREL (§3.6): QoS 2, part 2. */
export type PubrelPacket = AckPacket<"pubrel">;
/** PUBCOMP (§3.7): QoS 2, part 3. */
export type PubcompPacket = AckPacket<"pubcomp">;

/** Any of the four acknowledgements. */
export type AnyAckPacket = PubackPacket | PubrecPacket | PubrelPacket | PubcompPacket;

const TYPE_NUMBER = { puback: 4, pubrec: 5, pubrel: 6, pubcomp: 7 } as const;

/** Decodes the body of one of the four acknowledgements. */
export function decodeAck<T extends AnyAckPacket["type"]>(r: Reader, type: T, version: ProtocolVersion): AckPacket<T> {
  const packetId = r.u16("the packet identifier");
  if (packetId === 0) throw protocolError("PACKET_ID_ZERO", `${type.toUpperCase()} has packet identifier 0`); // [MQTT-2.2.1-3], 3.1.1 [MQTT-2.3.1-1]
  let reasonCode = 0;
  let properties: AckProperties | undefined;
  if (version === 5) {
    // A remaining length of 2 means Success with no properties (§3.4.2.1).
    if (r.remaining > 0) {
      reasonCode = r.u8("the reason code");
      const allowed = type === "puback" || type === "pubrec" ? PUBACK_REASON_CODES : PUBREL_REASON_CODES;
      if (!allowed[reasonCode]) throw malformed("INVALID_REASON_CODE", `0x${reasonCode.toString(16)} is not a ${type.toUpperCase()} reason code`);
      // With a remaining length of 3 the property length is absent (§3.4.2.2).
      if (r.remaining > 0) properties = readProperties(r, TYPE_NUMBER[type]);
    }
  }
  if (r.remaining !== 0) throw malformed("TRAILING_BYTES", `${type.toUpperCase()} has bytes after its end`);
  return { type, packetId, reasonCode, properties };
}

/** Encodes an acknowledgement in its shortest form; `omitDiagnostics` drops the reason string and user properties. */
export function encodeAck(p: AnyAckPacket, version: ProtocolVersion, omitDiagnostics = false): Uint8Array {
  const typeNumber = TYPE_NUMBER[p.type];
  // PUBREL's fixed header flags are 0010 [MQTT-3.6.1-1]
  const firstByte = (typeNumber << 4) | (typeNumber === 6 ? 0x02 : 0);
  if (!p.packetId) throw protocolError("PACKET_ID_ZERO", `${p.type.toUpperCase()} needs a non-zero packet identifier`); // [MQTT-2.2.1-3], 3.1.1 [MQTT-2.3.1-1]
  const propsLen = version === 5 ? propertiesLength(p.properties, typeNumber, omitDiagnostics) : 0;
  let n = 2;
  if (version === 5 && (p.reasonCode !== 0 || propsLen > 0)) n += 1 + (propsLen > 0 ? varintLength(propsLen) + propsLen : 0);
  const w = startPacket(firstByte, n);
  w.u16(p.packetId);
  if (n > 2) {
    w.u8(p.reasonCode);
    if (propsLen > 0) writeProperties(w, p.properties, typeNumber, propsLen, omitDiagnostics);
  }
  return w.buf;
}
