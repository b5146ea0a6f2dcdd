import type { ProtocolVersion, QoS } from "../constants.ts";
import { MqttError, malformed, protocolError } from "../errors.ts";
import { type Properties, propertiesLength, readProperties, WILL, writeProperties } from "../properties.ts";
import type { Reader } from "../reader.ts";
import { ReasonCode } from "../reason-codes.ts";
import { validateTopicName } from "../topic.ts";
import { utf8Length } from "../utf8.ts";
import { startPacket, varintLength } from "../writer.ts";

/** The properties CONNECT may carry (§3.1.2.11). */
export type ConnectProperties = Pick<
  Properties,
  | "sessionExpiryInterval" | "receiveMaximum" | "maximumPacketSize" | "topicAliasMaximum"
  | "requestResponseInformation" | "requestProblemInformation" | "userProperties"
  | "authenticationMethod" | "authenticationData"
>;

/** The properties a Will Message may carry (§3.1.3.2). */
export type WillProperties = Pick<
  Properties,
  | "willDelayInterval" | "payloadFormatIndicator" | "messageExpiryInterval" | "contentType"
  | "responseTopic" | "correlationData" | "userProperties"
>;

/** A Will Message, published by the server if the connection ends abnormally. */
export interface Will {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties?: WillProperties;
}

/** CONNECT (§3.1): the first packet a client sends. */
export interface ConnectPacket {
  type: "connect";
  /** `MQTT` for levels 4 and 5, `MQIsdp` for level 3. */
  protocolName: string;
  protocolVersion: ProtocolVersion;
  /** Clean Start in 5.0, Clean Session in 3.1.1. */
  cleanStart: boolean;
  keepAlive: number;
  clientId: string;
  will?: Will;
  username?: string;
  password?: Uint8Array;
  properties?: ConnectProperties;
}

const CONNECT_BIT = 1;
// Will properties have their own bit in the property table (bit 0, no packet type uses it).
const WILL_BIT = Math.log2(WILL);

/** Decodes a CONNECT body; the protocol level comes from the packet itself. */
export function decodeConnect(r: Reader): ConnectPacket {
  const protocolName = r.utf8("the protocol name");
  const level = r.u8("the protocol level");
  if (protocolName !== "MQTT" && protocolName !== "MQIsdp") {
    throw new MqttError(ReasonCode.UnsupportedProtocolVersion, "UNSUPPORTED_PROTOCOL_NAME",
      `protocol name "${protocolName}" is neither MQTT nor MQIsdp`); // [MQTT-3.1.2-1]
  }
  if (!((protocolName === "MQTT" && (level === 4 || level === 5)) || (protocolName === "MQIsdp" && level === 3))) {
    throw new MqttError(ReasonCode.UnsupportedProtocolVersion, "UNSUPPORTED_PROTOCOL_VERSION",
      `protocol level ${level} with name ${protocolName} is not supported; use 3 (MQIsdp), 4 or 5 (MQTT)`); // [MQTT-3.1.2-2]
  }
  const version = level as ProtocolVersion;
  const flags = r.u8("the connect flags");
  if (flags & 0x01) throw malformed("CONNECT_RESERVED_FLAG", "the reserved connect flag is set"); // [MQTT-3.1.2-3]
  const cleanStart = (flags & 0x02) !== 0;
  const willFlag = (flags & 0x04) !== 0;
  const willQoS = (flags >> 3) & 0x03;
  const willRetain = (flags & 0x20) !== 0;
  const passwordFlag = (flags & 0x40) !== 0;
  const usernameFlag = (flags & 0x80) !== 0;
  if (willQoS === 3) throw malformed("WILL_QOS_INVALID", "the will QoS is 3"); // [MQTT-3.1.2-12]
  if (!willFlag && willQoS !== 0) throw malformed("WILL_QOS_WITHOUT_WILL", "the will QoS is set without a will"); // [MQTT-3.1.2-11]
  if (!willFlag && willRetain) throw malformed("WILL_RETAIN_WITHOUT_WILL", "will retain is set without a will"); // [MQTT-3.1.2-13]
  if (version < 5 && passwordFlag && !usernameFlag) {
    throw malformed("PASSWORD_WITHOUT_USERNAME", "a password is present without a user name"); // [MQTT-3.1.2-22] (3.1.1)
  }
  const keepAlive = r.u16("the keep alive");
  let properties: ConnectProperties | undefined;
  if (version === 5) {
    properties = readProperties(r, CONNECT_BIT);
    if (properties?.authenticationData !== undefined && properties.authenticationMethod === undefined) {
      throw protocolError("AUTH_DATA_WITHOUT_METHOD", "authentication data is present without an authentication method"); // §3.1.2.11.10
    }
  }
  const clientId = r.utf8("the client identifier"); // [MQTT-3.1.3-4]
  let will: Will | undefined;
  if (willFlag) {
    const willProperties: WillProperties | undefined = version === 5 ? readProperties(r, WILL_BIT) : undefined;
    const topic = r.utf8("the will topic"); // [MQTT-3.1.3-11]
    validateTopicName(topic);
    const payload = r.binary("the will payload");
    will = { topic, payload, qos: willQoS as QoS, retain: willRetain, properties: willProperties };
  }
  const username = usernameFlag ? r.utf8("the user name") : undefined; // [MQTT-3.1.3-12]
  const password = passwordFlag ? r.binary("the password") : undefined;
  if (r.remaining !== 0) throw malformed("TRAILING_BYTES", "CONNECT has bytes after its payload");
  return { type: "connect", protocolName, protocolVersion: version, cleanStart, keepAlive, clientId, will, username, password, properties };
}

/** Encodes CONNECT; the packet's own protocolVersion decides the wire format. */
export function encodeConnect(p: ConnectPacket): Uint8Array {
  const version = p.protocolVersion;
  const name = p.protocolName || (version === 3 ? "MQIsdp" : "MQTT");
  const v5 = version === 5;
  if (!v5 && p.password !== undefined && p.username === undefined) {
    throw malformed("PASSWORD_WITHOUT_USERNAME", "MQTT 3.1.1 cannot send a password without a user name"); // [MQTT-3.1.2-22] (3.1.1)
  }
  const nameLen = utf8Length(name);
  const clientIdLen = utf8Length(p.clientId);
  const propsLen = v5 ? propertiesLength(p.properties, CONNECT_BIT) : 0;
  let n = 2 + nameLen + 1 + 1 + 2 + (v5 ? varintLength(propsLen) + propsLen : 0) + 2 + clientIdLen;
  let willPropsLen = 0, willTopicLen = 0;
  const will = p.will;
  if (will) {
    willTopicLen = utf8Length(will.topic);
    if (v5) {
      willPropsLen = propertiesLength(will.properties, WILL_BIT);
      n += varintLength(willPropsLen) + willPropsLen;
    }
    n += 2 + willTopicLen + 2 + will.payload.byteLength;
  }
  const usernameLen = p.username !== undefined ? utf8Length(p.username) : 0;
  if (p.username !== undefined) n += 2 + usernameLen;
  if (p.password !== undefined) n += 2 + p.password.byteLength;

  let flags = 0;
  if (p.cleanStart) flags |= 0x02;
  if (will) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  if (p.password !== undefined) flags |= 0x40;
  if (p.username !== undefined) flags |= 0x80;

  const w = startPacket(0x10, n);
  w.utf8(name, nameLen);
  w.u8(version);
  w.u8(flags);
  w.u16(p.keepAlive);
  if (v5) writeProperties(w, p.properties, CONNECT_BIT, propsLen);
  w.utf8(p.clientId, clientIdLen);
  if (will) {
    if (v5) writeProperties(w, will.properties, WILL_BIT, willPropsLen);
    w.utf8(will.topic, willTopicLen);
    w.binary(will.payload);
  }
  if (p.username !== undefined) w.utf8(p.username, usernameLen);
  if (p.password !== undefined) w.binary(p.password);
  return w.buf;
}
