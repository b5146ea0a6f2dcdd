import type { ProtocolVersion } from "../constants.ts";
import { malformed, protocolError } from "../errors.ts";
import { type Properties, propertiesLength, readProperties, writeProperties } from "../properties.ts";
import type { Reader } from "../reader.ts";
import { CONNACK_REASON_CODES, CONNACK_RETURN_CODES_V3 } from "../reason-codes.ts";
import { startPacket, varintLength } from "../writer.ts";

/** The properties CONNACK may carry (§3.2.2.3). */
export type ConnackProperties = Pick<
  Properties,
  | "sessionExpiryInterval" | "receiveMaximum" | "maximumQoS" | "retainAvailable" | "maximumPacketSize"
  | "assignedClientIdentifier" | "topicAliasMaximum" | "reasonString" | "userProperties"
  | "wildcardSubscriptionAvailable" | "subscriptionIdentifiersAvailable" | "sharedSubscriptionAvailable"
  | "serverKeepAlive" | "responseInformation" | "serverReference" | "authenticationMethod" | "authenticationData"
>;

/** CONNACK (§3.2): the server's answer to CONNECT. */
export interface ConnackPacket {
  type: "connack";
  sessionPresent: boolean;
  /** A 5.0 reason code, or a 3.1.1 return code (0–5) at levels 3 and 4. */
  reasonCode: number;
  properties?: ConnackProperties;
}

const CONNACK_BIT = 2;

/** Decodes a CONNACK body. */
export function decodeConnack(r: Reader, version: ProtocolVersion): ConnackPacket {
  const flags = r.u8("the connect acknowledge flags");
  if (flags & 0xfe) throw malformed("CONNACK_RESERVED_FLAGS", "reserved connect acknowledge flags are set"); // [MQTT-3.2.2-1]
  const reasonCode = r.u8("the connect reason code");
  const allowed = version === 5 ? CONNACK_REASON_CODES : CONNACK_RETURN_CODES_V3;
  if (!allowed[reasonCode]) throw malformed("INVALID_REASON_CODE", `0x${reasonCode.toString(16)} is not a CONNACK reason code`);
  // Level 3 (3.1) has no session present flag (the encoder writes 0 there), so its bit is not read.
  const sessionPresent = version > 3 && (flags & 0x01) !== 0;
  if (sessionPresent && reasonCode !== 0) {
    throw protocolError("SESSION_PRESENT_ON_FAILURE", "session present is set on a refused connection"); // [MQTT-3.2.2-6]
  }
  const properties = version === 5 ? readProperties(r, CONNACK_BIT) : undefined;
  if (r.remaining !== 0) throw malformed("TRAILING_BYTES", "CONNACK has bytes after its properties");
  return { type: "connack", sessionPresent, reasonCode, properties };
}

/** Encodes CONNACK; `omitDiagnostics` drops the reason string and user properties. */
export function encodeConnack(p: ConnackPacket, version: ProtocolVersion, omitDiagnostics = false): Uint8Array {
  const v5 = version === 5;
  const propsLen = v5 ? propertiesLength(p.properties, CONNACK_BIT, omitDiagnostics) : 0;
  const w = startPacket(0x20, 2 + (v5 ? varintLength(propsLen) + propsLen : 0));
  // Level 3 (3.1) has no session present flag; the byte is reserved there.
  w.u8(p.sessionPresent && version > 3 ? 1 : 0);
  w.u8(p.reasonCode);
  if (v5) writeProperties(w, p.properties, CONNACK_BIT, propsLen, omitDiagnostics);
  return w.buf;
}
