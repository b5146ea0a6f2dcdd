import { decodeProtectedHeader, errors, jwtVerify } from "jose";
import { type KeySet, verificationKey } from "./keys.ts";
import { ISSUER } from "./issue.ts";
import { parseTopicAcl, type TopicAcl } from "./topic-acl.ts";

/** The claims of a credential that verified. */
export interface CredentialClaims {
  sub: string;
  jti: string;
  iat: number;
  exp: number | undefined;
  topicAcl: TopicAcl;
}

/** Why a credential was refused: the CONNACK reason code and words for the log and reason string. */
export interface CredentialRefusal {
  /** 0x86 for a bad signature or a malformed or expired token; 0x87 for a valid one not allowed (revoked). */
  reasonCode: 0x86 | 0x87;
  reason: string;
}

/** How to verify. */
export interface VerifyOptions {
  /** This broker, `<broker>.<namespace>`: the token's `aud` must name it. */
  audience: string;
  /** The time (ms since the epoch). */
  now: number;
  /** Seconds of clock skew tolerated on `iat` and `nbf` (times in the future); {@link CLOCK_TOLERANCE_SECONDS} by default. `exp` gets none. */
  clockTolerance?: number;
  /** True for a revoked `jti`. */
  isRevoked(jti: string): boolean;
}

/**
 * Seconds a credential's `iat` or `nbf` may lie in the future (another
 * machine's clock running ahead). Its `exp` has no tolerance: a credential is
 * refused at CONNECT from the moment it expires, the same moment a session
 * using it ends with DISCONNECT 0xA0, so none is accepted only to be cut off.
 */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** The longest password accepted as a credential, as Cloudflare limited it. */
export const MAX_TOKEN_LENGTH = 4096;

const bad = (reason: string): CredentialRefusal => ({ reasonCode: 0x86, reason });

/**
 * Verifies a credential: EdDSA only (the algorithm is pinned, so `none` and
 * HMAC-with-a-public-key tricks fail), a `kid` of this broker's key set,
 * issuer and audience, `sub`, `jti` and `iat` required, `exp` and `nbf`
 * honoured, `iat` not in the future (both within the clock tolerance; `exp`
 * exactly), and the `jti` not revoked.
 */
export async function verifyCredential(token: string, keys: KeySet, options: VerifyOptions): Promise<CredentialClaims | CredentialRefusal> {
  if (token.length > MAX_TOKEN_LENGTH) return bad(`the credential is longer than ${MAX_TOKEN_LENGTH} characters`);
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return bad("the password is not a credential (a JWT) this broker issued");
  }
  if (header.alg !== "EdDSA") return bad(`credentials are signed with EdDSA, not ${String(header.alg)}`);
  if (header.typ !== undefined && header.typ !== "JWT") return bad(`a credential's typ is JWT, not ${String(header.typ)}`);
  const key = await verificationKey(keys, header.kid);
  if (key === undefined) return bad("the credential was not signed by this broker's keys");
  const tolerance = options.clockTolerance ?? CLOCK_TOLERANCE_SECONDS;
  let payload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ["EdDSA"],
      issuer: ISSUER,
      audience: options.audience,
      currentDate: new Date(options.now),
      clockTolerance: tolerance,
      requiredClaims: ["sub", "jti", "iat"],
    }));
  } catch (e) {
    if (e instanceof errors.JWTExpired) return bad("the credential has expired");
    if (e instanceof errors.JWTClaimValidationFailed) return bad(`the credential's ${e.claim} claim is not valid here (${e.reason})`);
    return bad("the credential's signature does not verify");
  }
  const { sub, jti, iat, exp } = payload;
  if (typeof sub !== "string" || sub === "" || typeof jti !== "string" || jti === "" || typeof iat !== "number") {
    return bad("the credential lacks a client id (sub), a jti or an iat");
  }
  // jose tolerates the skew on exp too; here exp is exact, as the session's end is.
  if (typeof exp === "number" && exp * 1000 <= options.now) return bad("the credential has expired");
  if (iat * 1000 > options.now + tolerance * 1000) {
    return bad(`the credential's iat claim is more than ${tolerance} s in the future: the issuer's clock is ahead of this server's`);
  }
  if (options.isRevoked(jti)) return { reasonCode: 0x87, reason: "the credential has been revoked" };
  let topicAcl: TopicAcl;
  try {
    topicAcl = parseTopicAcl(payload.topicAcl);
  } catch (e) {
    return { reasonCode: 0x87, reason: `the credential's topicAcl cannot be used: ${(e as Error).message}` };
  }
  return { sub, jti, iat, exp: typeof exp === "number" ? exp : undefined, topicAcl };
}

/** True if a verification result is a refusal. */
export function isRefusal(r: CredentialClaims | CredentialRefusal): r is CredentialRefusal {
  return "reasonCode" in r;
}
