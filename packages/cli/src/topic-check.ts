import { validateTopicFilter, validateTopicName } from "@edgemq/core/codec";
import { CliError } from "./errors.ts";

// MQTT's strings are at most 65535 bytes of UTF-8, without U+0000 [MQTT-1.5.4-1] [MQTT-1.5.4-2].
function checkString(kind: string, topic: string): void {
  if (topic.includes("\u0000")) throw new CliError(`invalid ${kind} "${topic.replace(/\u0000/g, "\\0")}": it contains the character U+0000, which MQTT does not allow`);
  const bytes = new TextEncoder().encode(topic).byteLength;
  if (bytes > 65_535) throw new CliError(`invalid ${kind}: it is ${bytes} bytes long; MQTT allows at most 65535`);
}

/**
 * Refuses a publish topic before anything is sent, as mosquitto_pub does:
 * empty, or with a wildcard `+` or `#` (those are for subscriptions). Exit 1.
 */
export function checkPublishTopic(topic: string): void {
  checkString("publish topic", topic);
  try {
    validateTopicName(topic);
  } catch {
    throw new CliError(topic === ""
      ? "invalid publish topic: it is empty; give one such as -t sensors/room-1"
      : `invalid publish topic "${topic}": it contains the wildcard + or #, which only a subscription may use (edgemq sub -t '${topic}'); publish to one topic such as ${topic.replace(/[+#]/g, "x")}`);
  }
}

/**
 * Refuses a subscription filter before anything is sent, as mosquitto_sub
 * does: empty, `#` other than as the whole last level, `+` other than as a
 * whole level, or a malformed `$share/<name>/<filter>`. Exit 1.
 */
export function checkSubscribeFilter(filter: string): void {
  checkString("subscription filter", filter);
  try {
    validateTopicFilter(filter);
  } catch (e) {
    const what = (e as Error).message.replace(/^topic filter "[^"]*" /, "");
    throw new CliError(`invalid subscription filter "${filter}": it ${what} (wildcards stand for whole levels: a/+/c, a/#)`);
  }
}
