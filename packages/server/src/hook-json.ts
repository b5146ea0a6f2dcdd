import type { HookMessage } from "@edgemq/core";

/**
 * The JSON of an on-publish request and reply. A UTF-8 payload
 * (payloadFormatIndicator 1) is a JSON string; a binary one (0) is a JSON
 * array of byte values 0-255, which a Worker turns back into bytes with
 * `new Uint8Array(message.payload)`. A reply may use either form for either
 * indicator: a string is taken as its UTF-8 bytes.
 */
export function encodeHookBatch(messages: HookMessage[]): string {
  // The holder's own value, not `value`: a Node Buffer's toJSON would have turned it into {type, data} first.
  return JSON.stringify(messages, function (this: Record<string, unknown>, key, value) {
    const raw = this[key];
    return raw instanceof Uint8Array ? Array.from(raw) : value;
  });
}

/** Why a reply body was refused: the whole batch fails. */
export class HookReplyError extends Error {
  override name = "HookReplyError";
}

/**
 * A reply body as the core's hook contract takes it: an array whose binary
 * payloads are bytes again. Throws {@link HookReplyError} for a body that is
 * not JSON, not an array, or holds a payload that is neither a string nor an
 * array of byte values.
 */
export function decodeHookReply(text: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HookReplyError(`the reply is not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(value)) throw new HookReplyError("the reply is not a JSON array of messages");
  return value.map((item, i) => {
    if (typeof item !== "object" || item === null || Array.isArray(item)) throw new HookReplyError(`reply element ${i} is not a message object`);
    const payload = (item as { payload?: unknown }).payload;
    if (typeof payload === "string") return item;
    if (!Array.isArray(payload)) throw new HookReplyError(`reply element ${i}: payload must be a string or an array of byte values`);
    const bytes = new Uint8Array(payload.length);
    for (let j = 0; j < payload.length; j++) {
      const b = payload[j];
      if (typeof b !== "number" || !Number.isInteger(b) || b < 0 || b > 255) throw new HookReplyError(`reply element ${i}: payload[${j}] is not a byte value 0-255`);
      bytes[j] = b;
    }
    return { ...item, payload: bytes };
  });
}
