import type { JWK } from "jose";

/** The headers that sign an on-publish request, as Cloudflare's brokers sent them. */
export interface HookSignatureHeaders {
  "X-Signature-Ed25519": string;
  "X-Signature-Timestamp": string;
  "X-Signature-Key-Id": string;
}

const encoder = new TextEncoder();
// Imported keys by kid: importing costs more than signing.
const imported = new Map<string, ReturnType<typeof crypto.subtle.importKey>>();

/**
 * Signs a request body with a broker's Ed25519 private key (a JWK with
 * `kid`): base64 signature over UTF-8(timestamp + body), the timestamp in
 * Unix seconds, and the key id so the receiver picks the right public key.
 */
export async function signHookRequest(privateJwk: JWK, body: string, timestamp: number): Promise<HookSignatureHeaders> {
  const kid = privateJwk.kid!;
  let key = imported.get(kid);
  if (key === undefined) {
    // WebCrypto wants the bare key: no alg/use/kid members.
    const jwk = { kty: privateJwk.kty, crv: privateJwk.crv, x: privateJwk.x, d: privateJwk.d };
    key = crypto.subtle.importKey("jwk", jwk, { name: "Ed25519" }, false, ["sign"]);
    imported.set(kid, key);
  }
  const ts = String(timestamp);
  const signature = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, await key, encoder.encode(ts + body)));
  return { "X-Signature-Ed25519": base64(signature), "X-Signature-Timestamp": ts, "X-Signature-Key-Id": kid };
}

function base64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}
