import type { ProtocolVersion } from "../constants.ts";
import { malformed, protocolError } from "../errors.ts";
import { type Properties, propertiesLength, readProperties, writeProperties } from "../properties.ts";
import type { Reader } from "../reader.ts";
import { SUBACK_REASON_CODES, SUBACK_RETURN_CODES_V3, UNSUBACK_REASON_CODES } from "../reason-codes.ts";
import { startPacket, varintLength } from "../writer.ts";

/** The properties SUBACK and UNSUBACK may carry. */
export type SubackProperties = Pick<Properties, "reasonString" | "userProperties">;

/** SUBACK (§3.9): one reason code per topic filter, in order. */
export interface SubackPacket {
  type: "suback";
  packetId: number;
  reasonCodes: number[];
  properties?: SubackProperties;
}

/** UNSUBACK (§3.11): one reason code per topic filter in 5.0; none at levels 3 and 4. */
export interface UnsubackPacket {
  type: "unsuback";
  packetId: number;
  reasonCodes: number[];
  properties?: SubackProperties;
}

const SUBACK_BIT = 9, UNSUBACK_BIT = 11;

/** Decodes a SUBACK or UNSUBACK body: they differ only in their code tables. */
export function decodeSuback<T extends "suback" | "unsuback">(r: Reader, type: T, version: ProtocolVersion): T extends "suback" ? SubackPacket : UnsubackPacket {
  const packetId = r.u16("the packet identifier");
  if (packetId === 0) throw protocolError("PACKET_ID_ZERO", `${type.toUpperCase()} has packet identifier 0`); // [MQTT-2.2.1-3], 3.1.1 [MQTT-2.3.1-1]
  const properties = version === 5 ? readProperties(r, type === "suback" ? SUBACK_BIT : UNSUBACK_BIT) : undefined;
  const reasonCodes: number[] = [];
  if (type === "unsuback" && version < 5) {
    // A 3.1.1 UNSUBACK has no payload (§3.11.3).
    if (r.remaining !== 0) throw malformed("TRAILING_BYTES", "UNSUBACK has bytes after its packet identifier");
  } else {
    const allowed = type === "unsuback" ? UNSUBACK_REASON_CODES : version === 5 ? SUBACK_REASON_CODES : SUBACK_RETURN_CODES_V3;
    while (r.remaining > 0) {
      const code = r.u8("a reason code");
      if (!allowed[code]) throw malformed("INVALID_REASON_CODE", `0x${code.toString(16)} is not a ${type.toUpperCase()} reason code`);
      reasonCodes.push(code);
    }
    if (reasonCodes.length === 0) throw protocolError("NO_REASON_CODES", `${type.toUpperCase()} has no reason codes`);
  }
  return { type, packetId, reasonCodes, properties } as T extends "suback" ? SubackPacket : UnsubackPacket;
}

/** Encodes SUBACK or UNSUBACK; `omitDiagnostics` drops the reason string and user properties. */
export function encodeSuback(p: SubackPacket | UnsubackPacket, version: ProtocolVersion, omitDiagnostics = false): Uint8Array {
  const suback = p.type === "suback";
  const bit = suback ? SUBACK_BIT : UNSUBACK_BIT;
  const propsLen = version === 5 ? propertiesLength(p.properties, bit, omitDiagnostics) : 0;
  const codes = suback || version === 5 ? p.reasonCodes : [];
  const w = startPacket(suback ? 0x90 : 0xb0, 2 + (version === 5 ? varintLength(propsLen) + propsLen : 0) + codes.length);
  w.u16(p.packetId);
  if (version === 5) writeProperties(w, p.properties, bit, propsLen, omitDiagnostics);
  for (const code of codes) w.u8(code);
  return w.buf;
}
