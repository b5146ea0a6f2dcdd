import type { ProtocolVersion, QoS } from "../constants.ts";
import { MqttError, malformed, protocolError } from "../errors.ts";
import { type Properties, propertiesLength, readProperties, writeProperties } from "../properties.ts";
import type { Reader } from "../reader.ts";
import { ReasonCode } from "../reason-codes.ts";
import { hasWildcard } from "../topic.ts";
import { utf8Length } from "../utf8.ts";
import { decodeTopic } from "../recent-topics.ts";
import { startPacket, varintLength } from "../writer.ts";

/** The properties PUBLISH may carry (§3.3.2.3). */
export type PublishProperties = Pick<
  Properties,
  | "payloadFormatIndicator" | "messageExpiryInterval" | "topicAlias" | "responseTopic"
  | "correlationData" | "userProperties" | "subscriptionIdentifiers" | "contentType"
>;

/** PUBLISH (§3.3): an application message, in either direction. */
export interface PublishPacket {
  type: "publish";
  /** The topic name; empty in 5.0 when a topic alias stands for it. */
  topic: string;
  /** The application message: a view into the received bytes when decoded. */
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present when qos > 0. */
  packetId?: number;
  properties?: PublishProperties;
}

const PUBLISH_BIT = 3;

/** Decodes a PUBLISH body; `flags` are the low four bits of the fixed header. */
export function decodePublish(r: Reader, flags: number, version: ProtocolVersion): PublishPacket {
  const qos = (flags >> 1) & 0x03;
  if (qos === 3) throw malformed("QOS_INVALID", "PUBLISH has QoS 3"); // [MQTT-3.3.1-4]
  const dup = (flags & 0x08) !== 0;
  if (dup && qos === 0) throw malformed("DUP_ON_QOS0", "PUBLISH at QoS 0 has the DUP flag set"); // [MQTT-3.3.1-2]
  const topicLen = r.u16("the topic name");
  r.need(topicLen, "the topic name");
  const buf = r.buf;
  const topicStart = r.pos;
  r.pos += topicLen;
  if (hasWildcard(buf, topicStart, r.pos)) {
    throw new MqttError(ReasonCode.TopicNameInvalid, "TOPIC_NAME_WILDCARD", "a PUBLISH topic name contains a wildcard character"); // [MQTT-3.3.2-2]
  }
  const topic = decodeTopic(buf, topicStart, r.pos); // [MQTT-3.3.2-1]
  let packetId: number | undefined;
  if (qos > 0) {
    packetId = r.u16("the packet identifier");
    if (packetId === 0) throw protocolError("PACKET_ID_ZERO", "PUBLISH at QoS > 0 has packet identifier 0"); // [MQTT-2.2.1-3], 3.1.1 [MQTT-2.3.1-1]
  }
  let properties: PublishProperties | undefined;
  if (version === 5) {
    properties = readProperties(r, PUBLISH_BIT);
    if (topicLen === 0 && properties?.topicAlias === undefined) {
      throw protocolError("TOPIC_NAME_EMPTY", "PUBLISH has an empty topic name and no topic alias"); // [MQTT-3.3.2-1]
    }
  } else if (topicLen === 0) {
    throw new MqttError(ReasonCode.TopicNameInvalid, "TOPIC_NAME_EMPTY", "a topic name must be at least one character long"); // [MQTT-4.7.3-1]
  }
  const payload = buf.subarray(r.pos, r.end); // a view, not a copy
  r.pos = r.end;
  return { type: "publish", topic, payload, qos: qos as QoS, retain: (flags & 0x01) !== 0, dup, packetId, properties };
}

/** Encodes PUBLISH. User properties belong to the message, so nothing is dropped to fit. */
export function encodePublish(p: PublishPacket, version: ProtocolVersion): Uint8Array {
  const topicLen = utf8Length(p.topic);
  let n = 2 + topicLen + p.payload.byteLength;
  if (p.qos > 0) {
    if (!p.packetId) throw protocolError("PACKET_ID_ZERO", "PUBLISH at QoS > 0 needs a non-zero packet identifier"); // [MQTT-2.2.1-3], 3.1.1 [MQTT-2.3.1-1]
    n += 2;
  }
  let propsLen = 0;
  if (version === 5) {
    propsLen = p.properties === undefined ? 0 : propertiesLength(p.properties, PUBLISH_BIT);
    n += varintLength(propsLen) + propsLen;
  }
  const w = startPacket(0x30 | (p.dup && p.qos > 0 ? 0x08 : 0) | (p.qos << 1) | (p.retain ? 1 : 0), n); // [MQTT-3.3.1-2]
  w.utf8(p.topic, topicLen);
  if (p.qos > 0) w.u16(p.packetId!);
  if (version === 5) writeProperties(w, p.properties, PUBLISH_BIT, propsLen);
  w.bytes(p.payload);
  return w.buf;
}
