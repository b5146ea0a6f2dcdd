// ULIDs (Crockford base32: 48 bits of milliseconds, 80 random bits), the
// form Cloudflare Pub/Sub used for generated client ids and `jti` values.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A new ULID for the time `now` (ms since the epoch). */
export function ulid(now: number): string {
  let out = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  const random = crypto.getRandomValues(new Uint8Array(16));
  for (let i = 0; i < 16; i++) out += ALPHABET[random[i]! & 31];
  return out;
}
