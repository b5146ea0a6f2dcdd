import { MqttError, malformed } from "./errors.ts";

// `fatal` makes ill-formed input (including encoded surrogates, U+D800..U+DFFF)
// an error instead of U+FFFD; `ignoreBOM` keeps a leading U+FEFF, which a
// receiver must not strip [MQTT-1.5.4-3].
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

// Short ASCII strings (most topics, client ids, property names) are built with
// String.fromCharCode, which beats TextDecoder's call overhead below this size.
const ASCII_FAST_PATH_MAX = 64;

/**
 * Decodes bytes[start, end) as an MQTT UTF-8 Encoded String, rejecting
 * ill-formed UTF-8 [MQTT-1.5.4-1] and U+0000 [MQTT-1.5.4-2] as Malformed Packets.
 */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (b === 0) throw malformed("UTF8_NULL_CHARACTER", "a UTF-8 string contains U+0000"); // [MQTT-1.5.4-2]
    if (b > 0x7f) ascii = false;
  }
  if (ascii && end - start <= ASCII_FAST_PATH_MAX) {
    return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  }
  try {
    return decoder.decode(bytes.subarray(start, end)); // [MQTT-1.5.4-1]
  } catch {
    throw malformed("UTF8_INVALID", "a UTF-8 string is not well-formed UTF-8");
  }
}

/** True if the bytes are well-formed UTF-8 (a payload with Payload Format Indicator 1, §3.3.2.3.2). */
export function isWellFormedUtf8(bytes: Uint8Array): boolean {
  try {
    decoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns the UTF-8 byte length of a string, refusing what MQTT forbids in a
 * UTF-8 Encoded String: U+0000 [MQTT-1.5.4-2] and lone surrogates [MQTT-1.5.4-1].
 */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0) throw new MqttError(0x81, "UTF8_NULL_CHARACTER", "a string to encode contains U+0000"); // [MQTT-1.5.4-2]
    } else if (c < 0x800) {
      n += 1;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) {
        throw new MqttError(0x81, "UTF8_INVALID", "a string to encode contains a lone surrogate"); // [MQTT-1.5.4-1]
      }
      n += 2; // the pair is 2 UTF-16 units and 4 UTF-8 bytes
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      throw new MqttError(0x81, "UTF8_INVALID", "a string to encode contains a lone surrogate"); // [MQTT-1.5.4-1]
    } else {
      n += 2;
    }
  }
  return n;
}

/** Writes a string known to take `byteLength` UTF-8 bytes at `offset`. */
export function writeUtf8(buf: Uint8Array, offset: number, s: string, byteLength: number): void {
  if (byteLength === s.length) {
    for (let i = 0; i < byteLength; i++) buf[offset + i] = s.charCodeAt(i);
  } else {
    encoder.encodeInto(s, buf.subarray(offset, offset + byteLength));
  }
}
