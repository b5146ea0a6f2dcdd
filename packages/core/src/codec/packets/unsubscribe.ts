import type { ProtocolVersion } from "../constants.ts";
import { protocolError } from "../errors.ts";
import { type Properties, propertiesLength, readProperties, writeProperties } from "../properties.ts";
import type { Reader } from "../reader.ts";
import { validateTopicFilter } from "../topic.ts";
import { utf8Length } from "../utf8.ts";
import { startPacket, varintLength } from "../writer.ts";

/** The properties UNSUBSCRIBE may carry (§3.10.2.1). */
export type UnsubscribeProperties = Pick<Properties, "userProperties">;

/** UNSUBSCRIBE (§3.10). */
export interface UnsubscribePacket {
  type: "unsubscribe";
  packetId: number;
  topicFilters: string[];
  properties?: UnsubscribeProperties;
}

const UNSUBSCRIBE_BIT = 10;

/** Decodes an UNSUBSCRIBE body. */
export function decodeUnsubscribe(r: Reader, version: ProtocolVersion): UnsubscribePacket {
  const packetId = r.u16("the packet identifier");
  if (packetId === 0) throw protocolError("PACKET_ID_ZERO", "UNSUBSCRIBE has packet identifier 0"); // [MQTT-2.2.1-3], 3.1.1 [MQTT-2.3.1-1]
  const properties = version === 5 ? readProperties(r, UNSUBSCRIBE_BIT) : undefined;
  const topicFilters: string[] = [];
  while (r.remaining > 0) {
    const filter = r.utf8("a topic filter"); // [MQTT-3.10.3-1]
    validateTopicFilter(filter);
    topicFilters.push(filter);
  }
  if (topicFilters.length === 0) throw protocolError("NO_TOPIC_FILTERS", "UNSUBSCRIBE has no topic filters"); // [MQTT-3.10.3-2]
  return { type: "unsubscribe", packetId, topicFilters, properties };
}

/** Encodes UNSUBSCRIBE. */
export function encodeUnsubscribe(p: UnsubscribePacket, version: ProtocolVersion): Uint8Array {
  if (p.topicFilters.length === 0) throw protocolError("NO_TOPIC_FILTERS", "UNSUBSCRIBE needs at least one topic filter"); // [MQTT-3.10.3-2]
  const propsLen = version === 5 ? propertiesLength(p.properties, UNSUBSCRIBE_BIT) : 0;
  const lengths = p.topicFilters.map(utf8Length);
  let n = 2 + (version === 5 ? varintLength(propsLen) + propsLen : 0);
  for (const len of lengths) n += 2 + len;
  // UNSUBSCRIBE's fixed header flags are 0010 [MQTT-3.10.1-1]
  const w = startPacket(0xa2, n);
  w.u16(p.packetId);
  if (version === 5) writeProperties(w, p.properties, UNSUBSCRIBE_BIT, propsLen);
  p.topicFilters.forEach((f, i) => w.utf8(f, lengths[i]!));
  return w.buf;
}
