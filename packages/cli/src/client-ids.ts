import { randomBytes } from "node:crypto";

// Crockford's base32, as the admin API's own ids (ULIDs) use: no I, L, O or U to misread.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** The length of the client ids the admin API generates when none is given (ULIDs). */
export const API_GENERATED_ID_LENGTH = 26;

/** A client id's length as brokers count it: bytes of UTF-8. */
export const idBytes = (id: string): number => new TextEncoder().encode(id).byteLength;

/**
 * `count` distinct random client ids of at most `max` characters (and at
 * most {@link API_GENERATED_ID_LENGTH}), for a broker whose
 * max_client_id_length is shorter than the ids the API would generate.
 * Undefined when `max` leaves fewer than `count` possible ids.
 */
export function fittingClientIds(count: number, max: number): string[] | undefined {
  const length = Math.min(max, API_GENERATED_ID_LENGTH);
  // At least twice as many possible ids as wanted, so that drawing distinct ones ends quickly.
  if (length < 1 || ALPHABET.length ** length < count * 2) return undefined;
  const ids = new Set<string>();
  while (ids.size < count) {
    ids.add([...randomBytes(length)].map((b) => ALPHABET[b % ALPHABET.length]).join(""));
  }
  return [...ids];
}
