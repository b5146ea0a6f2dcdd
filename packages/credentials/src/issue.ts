import { SignJWT } from "jose";
import { type KeySet, signingKey } from "./keys.ts";
import { formatTopicAcl, parseTopicAcl } from "./topic-acl.ts";
import { ulid } from "./ulid.ts";

/** Who issues every edgemq credential (the `iss` claim). */
export const ISSUER = "edgemq";
/** Most credentials issued in one call, as Cloudflare allowed. */
export const MAX_CREDENTIALS_PER_CALL = 100;

/** What to issue a credential for. */
export interface IssueRequest {
  /** The client id (the `sub` claim); a ULID is generated when absent. */
  clientId?: string;
  /** The broker the credential is for, `<broker>.<namespace>` (the `aud` claim). */
  audience: string;
  /** The broker's expiration in seconds, if it sets one. */
  brokerExpiration?: number | null;
  /** This request's expiration in seconds; -1 asks for none, which only a broker without an expiration grants. */
  expiration?: number;
  /** The topic rights (see topic-acl.ts); absent or empty means `#`. */
  topicAcl?: unknown;
  /** The time of issue (ms since the epoch). */
  now: number;
}

/** An issued credential. */
export interface IssuedCredential {
  clientId: string;
  jti: string;
  token: string;
  /** Expiry in seconds since the epoch, when it has one. */
  exp: number | undefined;
}

/**
 * The `exp` of a credential: the shorter of the broker's and the request's
 * expirations. A request can shorten the broker's, never lengthen it: -1 (no
 * expiry) gets none only when the broker sets none either.
 */
export function expiryFor(request: Pick<IssueRequest, "brokerExpiration" | "expiration" | "now">): number | undefined {
  const lifetimes = [request.brokerExpiration, request.expiration].filter((s): s is number => typeof s === "number" && s > 0);
  if (lifetimes.length === 0) return undefined;
  return Math.floor(request.now / 1000) + Math.min(...lifetimes);
}

/**
 * Issues a credential as Cloudflare Pub/Sub did: a JWT signed with the
 * broker's current Ed25519 key, header `{alg: "EdDSA", kid}`, claims `sub`
 * (the client id), `jti`, `iat`, optional `exp` and `topicAcl`, plus `aud`
 * (this broker) and `iss` so that a token for one broker cannot serve another.
 */
export async function issueCredential(keys: KeySet, request: IssueRequest): Promise<IssuedCredential> {
  const clientId = request.clientId ?? ulid(request.now);
  const jti = ulid(request.now);
  const exp = expiryFor(request);
  const topicAcl = formatTopicAcl(parseTopicAcl(request.topicAcl));
  const jwt = new SignJWT({ topicAcl })
    .setProtectedHeader({ alg: "EdDSA", kid: keys.current.kid })
    .setSubject(clientId)
    .setJti(jti)
    .setIssuer(ISSUER)
    .setAudience(request.audience)
    .setIssuedAt(Math.floor(request.now / 1000));
  if (exp !== undefined) jwt.setExpirationTime(exp);
  return { clientId, jti, token: await jwt.sign(await signingKey(keys)), exp };
}
