import { decodeUtf8 } from "./utf8.ts";

//
// Most PUBLISH packets carry a topic seen a moment before. Comparing the bytes
// with the last topic that landed in the same slot is cheaper than decoding
// them again, and gives back the same string, whose hash the engine has
// already computed: the subscription tree's and the cluster's lookups by
// topic then cost nothing more. A direct-mapped table: a slot is chosen from
// the length and three bytes, a miss replaces it; the bytes were checked
// (well-formed UTF-8, no U+0000) when they were first decoded, and equal bytes
// decode to the same string.
//

const SLOTS = 256;
const MAX_BYTES = 64;
const keptBytes: (Uint8Array | undefined)[] = new Array(SLOTS).fill(undefined);
const keptText: string[] = new Array(SLOTS).fill("");

/** bytes[start, end) as an MQTT UTF-8 Encoded String (see {@link decodeUtf8}), the string of a recent equal topic when there is one. */
export function decodeTopic(bytes: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n === 0 || n > MAX_BYTES) return decodeUtf8(bytes, start, end); // [MQTT-1.5.4-1] [MQTT-1.5.4-2]
  const slot = (n * 31 + bytes[start]! * 7 + bytes[end - 1]! * 131 + bytes[start + (n >> 1)]! * 17) & (SLOTS - 1);
  const kept = keptBytes[slot];
  if (kept !== undefined && kept.length === n) {
    let i = 0;
    while (i < n && kept[i] === bytes[start + i]) i++;
    if (i === n) return keptText[slot]!;
  }
  const text = decodeUtf8(bytes, start, end); // [MQTT-1.5.4-1] [MQTT-1.5.4-2]
  keptBytes[slot] = bytes.slice(start, end);
  keptText[slot] = text;
  return text;
}
