import type { ProtocolVersion } from "../constants.ts";
import { malformed } from "../errors.ts";
import { type Properties, propertiesLength, readProperties, writeProperties } from "../properties.ts";
import type { Reader } from "../reader.ts";
import { AUTH_REASON_CODES, DISCONNECT_REASON_CODES } from "../reason-codes.ts";
import { startPacket, varintLength } from "../writer.ts";

/** The properties DISCONNECT may carry (§3.14.2.2). */
export type DisconnectProperties = Pick<
  Properties,
  "sessionExpiryInterval" | "reasonString" | "userProperties" | "serverReference"
>;

/** The properties AUTH may carry (§3.15.2.2). */
export type AuthProperties = Pick<
  Properties,
  "authenticationMethod" | "authenticationData" | "reasonString" | "userProperties"
>;

/** DISCONNECT (§3.14): sent by either side; only the client sends it before 5.0. */
export interface DisconnectPacket {
  type: "disconnect";
  reasonCode: number;
  properties?: DisconnectProperties;
}

/** AUTH (§3.15): enhanced authentication exchange, 5.0 only. */
export interface AuthPacket {
  type: "auth";
  reasonCode: number;
  properties?: AuthProperties;
}

const DISCONNECT_BIT = 14, AUTH_BIT = 15;

/** Decodes a DISCONNECT or AUTH body: a reason code and properties, both optional. */
export function decodeDisconnect<T extends "disconnect" | "auth">(r: Reader, type: T, version: ProtocolVersion): T extends "auth" ? AuthPacket : DisconnectPacket {
  let reasonCode = 0;
  let properties: Properties | undefined;
  // At levels 3 and 4 DISCONNECT has no variable header; AUTH exists only in 5.0.
  if (version === 5 && r.remaining > 0) {
    reasonCode = r.u8("the reason code");
    const allowed = type === "auth" ? AUTH_REASON_CODES : DISCONNECT_REASON_CODES;
    if (!allowed[reasonCode]) throw malformed("INVALID_REASON_CODE", `0x${reasonCode.toString(16)} is not a ${type.toUpperCase()} reason code`);
    // A remaining length of 1 means there is no property length (§3.14.2.2.1).
    if (r.remaining > 0) properties = readProperties(r, type === "auth" ? AUTH_BIT : DISCONNECT_BIT);
  }
  if (r.remaining !== 0) throw malformed("TRAILING_BYTES", `${type.toUpperCase()} has bytes after its end`);
  return { type, reasonCode, properties } as T extends "auth" ? AuthPacket : DisconnectPacket;
}

/** Encodes DISCONNECT or AUTH in the shortest form; `omitDiagnostics` drops the reason string and user properties. */
export function encodeDisconnect(p: DisconnectPacket | AuthPacket, version: ProtocolVersion, omitDiagnostics = false): Uint8Array {
  const auth = p.type === "auth";
  const firstByte = auth ? 0xf0 : 0xe0;
  if (version < 5) return startPacket(firstByte, 0).buf;
  const propsLen = propertiesLength(p.properties, auth ? AUTH_BIT : DISCONNECT_BIT, omitDiagnostics);
  // Reason code 0 with no properties may be sent as a zero remaining length (§3.14.2.1, §3.15.2.1).
  const n = p.reasonCode === 0 && propsLen === 0 ? 0 : 1 + (propsLen > 0 ? varintLength(propsLen) + propsLen : 0);
  const w = startPacket(firstByte, n);
  if (n > 0) {
    w.u8(p.reasonCode);
    if (propsLen > 0) writeProperties(w, p.properties, auth ? AUTH_BIT : DISCONNECT_BIT, propsLen, omitDiagnostics);
  }
  return w.buf;
}
