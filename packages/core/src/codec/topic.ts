import { MqttError } from "./errors.ts";
import { ReasonCode } from "./reason-codes.ts";

const PLUS = 0x2b, HASH = 0x23, SLASH = 0x2f;

/** Throws unless `topic` is a valid Topic Name: non-empty and free of wildcards. */
export function validateTopicName(topic: string): void {
  if (topic.length === 0) {
    throw new MqttError(ReasonCode.TopicNameInvalid, "TOPIC_NAME_EMPTY", "a topic name must be at least one character long"); // [MQTT-4.7.3-1]
  }
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === PLUS || c === HASH) {
      throw new MqttError(ReasonCode.TopicNameInvalid, "TOPIC_NAME_WILDCARD", `topic name "${topic}" contains a wildcard character`); // [MQTT-4.7.0-1]
    }
  }
}

/** True if bytes[start, end) contain `+` or `#`: a PUBLISH topic check that runs before decoding. */
export function hasWildcard(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (b === PLUS || b === HASH) return true;
  }
  return false;
}

/**
 * Throws unless `filter` is a valid Topic Filter: non-empty, `#` only as the
 * whole last level, `+` only as a whole level, and a `$share/{ShareName}/`
 * prefix with a non-empty share name free of wildcards and followed by a filter.
 */
export function validateTopicFilter(filter: string): void {
  if (filter.length === 0) {
    throw invalidFilter(filter, "TOPIC_FILTER_EMPTY", "must be at least one character long"); // [MQTT-4.7.3-1]
  }
  let start = 0;
  if (filter.startsWith("$share/")) {
    const slash = filter.indexOf("/", 7);
    const shareName = filter.slice(7, slash < 0 ? filter.length : slash);
    if (shareName.length === 0 || shareName.includes("+") || shareName.includes("#")) {
      throw invalidFilter(filter, "SHARE_NAME_INVALID", "has a share name that is empty or contains a wildcard"); // [MQTT-4.8.2-1]
    }
    if (slash < 0 || slash === filter.length - 1) {
      throw invalidFilter(filter, "SHARED_FILTER_MISSING", "must have a topic filter after the share name"); // [MQTT-4.8.2-2]
    }
    start = slash + 1;
  }
  const last = filter.length - 1;
  for (let i = start; i <= last; i++) {
    const c = filter.charCodeAt(i);
    if (c === HASH) {
      // `#` must be the whole of the last level [MQTT-4.7.1-1]
      if (i !== last || (i > start && filter.charCodeAt(i - 1) !== SLASH)) {
        throw invalidFilter(filter, "MULTI_LEVEL_WILDCARD_MISPLACED", "uses '#' other than as the whole last level"); // [MQTT-4.7.1-1]
      }
    } else if (c === PLUS) {
      // `+` must be a whole level [MQTT-4.7.1-2]
      const before = i === start || filter.charCodeAt(i - 1) === SLASH;
      const after = i === last || filter.charCodeAt(i + 1) === SLASH;
      if (!before || !after) {
        throw invalidFilter(filter, "SINGLE_LEVEL_WILDCARD_MISPLACED", "uses '+' other than as a whole level"); // [MQTT-4.7.1-2]
      }
    }
  }
}

function invalidFilter(filter: string, code: string, what: string): MqttError {
  return new MqttError(ReasonCode.TopicFilterInvalid, code, `topic filter "${filter}" ${what}`);
}
