// SCRAM's primitives (RFC 5802 §2.2, RFC 7677) over WebCrypto, which Node,
// Bun and Deno all have: Hi (PBKDF2), HMAC, H, XOR, and what a server keeps.

/** The SCRAM mechanisms edgemq offers, by their SASL names (also the MQTT Authentication Method). */
export const SCRAM_MECHANISMS = { "SCRAM-SHA-256": "SHA-256", "SCRAM-SHA-512": "SHA-512" } as const;

/** A SCRAM mechanism's SASL name. */
export type ScramMechanism = keyof typeof SCRAM_MECHANISMS;

/** What a server keeps for a SCRAM user: never the password (RFC 5802 §3). */
export interface ScramCredential {
  mechanism: ScramMechanism;
  salt: Uint8Array;
  iterations: number;
  storedKey: Uint8Array;
  serverKey: Uint8Array;
}

/** The iteration count when none is given: RFC 7677's minimum recommendation. */
export const DEFAULT_SCRAM_ITERATIONS = 4096;

const encoder = new TextEncoder();
// WebCrypto takes bytes over an ArrayBuffer (never a SharedArrayBuffer): ours always are, so no copy is made.
const own = (b: Uint8Array): Uint8Array<ArrayBuffer> => (b.buffer instanceof ArrayBuffer ? (b as Uint8Array<ArrayBuffer>) : new Uint8Array(b));
const subtle = () => globalThis.crypto.subtle;
const hashOf = (mechanism: ScramMechanism) => SCRAM_MECHANISMS[mechanism];

/** HMAC(key, message) with the mechanism's hash. */
export async function hmac(mechanism: ScramMechanism, key: Uint8Array, message: Uint8Array | string): Promise<Uint8Array> {
  const k = await subtle().importKey("raw", own(key), { name: "HMAC", hash: hashOf(mechanism) }, false, ["sign"]);
  const data = typeof message === "string" ? encoder.encode(message) : message;
  return new Uint8Array(await subtle().sign("HMAC", k, own(data)));
}

/** H(data) with the mechanism's hash. */
export async function hash(mechanism: ScramMechanism, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest(hashOf(mechanism), own(data)));
}

/** Hi(password, salt, i): PBKDF2 with HMAC, one hash length of output. */
export async function saltedPassword(mechanism: ScramMechanism, password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await subtle().importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = mechanism === "SCRAM-SHA-512" ? 512 : 256;
  return new Uint8Array(await subtle().deriveBits({ name: "PBKDF2", hash: hashOf(mechanism), salt: own(salt), iterations }, key, bits));
}

/** a XOR b (same length). */
export function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength);
  for (let i = 0; i < a.byteLength; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Whether two byte strings are equal, in time that depends only on their length. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Random bytes from the platform's CSPRNG. */
export function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/**
 * Derives what a server keeps for `password` (RFC 5802 §3): a fresh random
 * salt unless one is given, StoredKey = H(HMAC(SaltedPassword, "Client Key")),
 * ServerKey = HMAC(SaltedPassword, "Server Key").
 */
export async function scramCredential(mechanism: ScramMechanism, password: string, options: { iterations?: number; salt?: Uint8Array } = {}): Promise<ScramCredential> {
  const iterations = options.iterations ?? DEFAULT_SCRAM_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 4096) throw new RangeError(`a SCRAM iteration count must be a whole number of at least 4096 (RFC 7677), not ${iterations}`);
  const salt = options.salt ?? randomBytes(16);
  const salted = await saltedPassword(mechanism, password, salt, iterations);
  const clientKey = await hmac(mechanism, salted, "Client Key");
  return { mechanism, salt, iterations, storedKey: await hash(mechanism, clientKey), serverKey: await hmac(mechanism, salted, "Server Key") };
}
