import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";

/** An imported key, as jose hands it back. */
export type ImportedKey = Awaited<ReturnType<typeof importJWK>>;

/** One Ed25519 signing key of a broker, as stored. */
export interface SigningKey {
  /** RFC 7638 JWK SHA-256 thumbprint of the public key. */
  kid: string;
  /** The private key as a JWK (kept in the store, never served). */
  privateJwk: JWK;
  /** The public key as a JWK, with `kid`, `alg` and `use`, as /publickeys serves it. */
  publicJwk: JWK;
  /** When it was made (ms since the epoch). */
  createdAt: number;
}

/** Makes a new Ed25519 key whose `kid` is its RFC 7638 thumbprint. */
export async function generateSigningKey(now: number): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub, "sha256");
  const priv = await exportJWK(privateKey);
  return {
    kid,
    privateJwk: { ...priv, kid, alg: "EdDSA" },
    publicJwk: { ...pub, kid, alg: "EdDSA", use: "sig" },
    createdAt: now,
  };
}

/**
 * A broker's two keys: the current one signs; the previous one still
 * verifies what it signed, so that keys rotate without cutting clients off.
 */
export interface KeySet {
  current: SigningKey;
  previous: SigningKey | undefined;
}

/** A fresh key set with one key. */
export async function newKeySet(now: number): Promise<KeySet> {
  return { current: await generateSigningKey(now), previous: undefined };
}

/** Rotates: a new key signs from now on, the current one verifies until the next rotation. */
export async function rotateKeySet(keys: KeySet, now: number): Promise<KeySet> {
  return { current: await generateSigningKey(now), previous: keys.current };
}

/** The public keys of a set, newest first, as `/publickeys` and JWKS serve them. */
export function publicKeys(keys: KeySet): JWK[] {
  return keys.previous ? [keys.current.publicJwk, keys.previous.publicJwk] : [keys.current.publicJwk];
}

/** Imports a key set's public key by `kid`, or undefined if the set does not hold it. */
export async function verificationKey(keys: KeySet, kid: string | undefined): Promise<ImportedKey | undefined> {
  const key = kid === keys.current.kid ? keys.current : kid === keys.previous?.kid ? keys.previous : undefined;
  if (key === undefined) return undefined;
  return (await importJWK(key.publicJwk, "EdDSA"));
}

/** Imports the current private key for signing. */
export async function signingKey(keys: KeySet): Promise<ImportedKey> {
  return (await importJWK(keys.current.privateJwk, "EdDSA"));
}
