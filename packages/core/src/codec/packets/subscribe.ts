import type { ProtocolVersion, QoS } from "../constants.ts";
import { malformed, protocolError } from "../errors.ts";
import { type Properties, propertiesLength, readProperties, writeProperties } from "../properties.ts";
import type { Reader } from "../reader.ts";
import { validateTopicFilter } from "../topic.ts";
import { utf8Length } from "../utf8.ts";
import { startPacket, varintLength } from "../writer.ts";

/** The properties SUBSCRIBE may carry (§3.8.2.1). */
export type SubscribeProperties = Pick<Properties, "subscriptionIdentifier" | "userProperties">;

/** One topic filter and its Subscription Options (§3.8.3.1). */
export interface Subscription {
  topicFilter: string;
  /** Maximum QoS. */
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  /** 0: send retained on subscribe; 1: only if the subscription is new; 2: never. */
  retainHandling: 0 | 1 | 2;
}

/** SUBSCRIBE (§3.8). */
export interface SubscribePacket {
  type: "subscribe";
  packetId: number;
  subscriptions: Subscription[];
  properties?: SubscribeProperties;
}

const SUBSCRIBE_BIT = 8;

/** Decodes a SUBSCRIBE body. */
export function decodeSubscribe(r: Reader, version: ProtocolVersion): SubscribePacket {
  const packetId = r.u16("the packet identifier");
  if (packetId === 0) throw protocolError("PACKET_ID_ZERO", "SUBSCRIBE has packet identifier 0"); // [MQTT-2.2.1-3], 3.1.1 [MQTT-2.3.1-1]
  const properties = version === 5 ? readProperties(r, SUBSCRIBE_BIT) : undefined;
  const subscriptions: Subscription[] = [];
  while (r.remaining > 0) {
    const topicFilter = r.utf8("a topic filter"); // [MQTT-3.8.3-1]
    validateTopicFilter(topicFilter);
    const options = r.u8("the subscription options");
    const qos = options & 0x03;
    let noLocal = false, retainAsPublished = false, retainHandling = 0;
    if (version === 5) {
      if (options & 0xc0) throw malformed("SUBSCRIPTION_OPTIONS_RESERVED", "reserved subscription option bits are set"); // [MQTT-3.8.3-5]
      if (qos === 3) throw protocolError("QOS_INVALID", "a subscription asks for maximum QoS 3"); // §3.8.3.1
      noLocal = (options & 0x04) !== 0;
      retainAsPublished = (options & 0x08) !== 0;
      retainHandling = (options >> 4) & 0x03;
      if (retainHandling === 3) throw protocolError("RETAIN_HANDLING_INVALID", "retain handling is 3"); // §3.8.3.1
      if (noLocal && topicFilter.startsWith("$share/")) {
        throw protocolError("NO_LOCAL_ON_SHARED", "No Local is set on a shared subscription"); // [MQTT-3.8.3-4]
      }
    } else if (options & 0xfc) {
      throw malformed("SUBSCRIPTION_OPTIONS_RESERVED", "the upper six bits of the requested QoS byte are set"); // [MQTT-3.8.3-4] (3.1.1)
    } else if (qos === 3) {
      throw malformed("QOS_INVALID", "a subscription asks for QoS 3"); // [MQTT-3.8.3-4] (3.1.1)
    }
    subscriptions.push({ topicFilter, qos: qos as QoS, noLocal, retainAsPublished, retainHandling: retainHandling as 0 | 1 | 2 });
  }
  if (subscriptions.length === 0) throw protocolError("NO_SUBSCRIPTIONS", "SUBSCRIBE has no topic filters"); // [MQTT-3.8.3-2], 3.1.1 [MQTT-3.8.3-3]
  return { type: "subscribe", packetId, subscriptions, properties };
}

/** Encodes SUBSCRIBE. */
export function encodeSubscribe(p: SubscribePacket, version: ProtocolVersion): Uint8Array {
  if (p.subscriptions.length === 0) throw protocolError("NO_SUBSCRIPTIONS", "SUBSCRIBE needs at least one topic filter"); // [MQTT-3.8.3-2]
  const propsLen = version === 5 ? propertiesLength(p.properties, SUBSCRIBE_BIT) : 0;
  let n = 2 + (version === 5 ? varintLength(propsLen) + propsLen : 0);
  const lengths = p.subscriptions.map((s) => utf8Length(s.topicFilter));
  for (const len of lengths) n += 2 + len + 1;
  // SUBSCRIBE's fixed header flags are 0010 [MQTT-3.8.1-1]
  const w = startPacket(0x82, n);
  w.u16(p.packetId);
  if (version === 5) writeProperties(w, p.properties, SUBSCRIBE_BIT, propsLen);
  p.subscriptions.forEach((s, i) => {
    w.utf8(s.topicFilter, lengths[i]!);
    let options = s.qos;
    if (version === 5) {
      options |= (s.noLocal ? 0x04 : 0) | (s.retainAsPublished ? 0x08 : 0) | (s.retainHandling << 4);
    }
    w.u8(options);
  });
  return w.buf;
}
