/** The claims of a credential edgemq issued, as far as the CLI reads them. */
export interface CredentialClaims {
  /** The client id the credential is for. */
  sub?: string;
  /** Its id, the key to revoke it by. */
  jti?: string;
  /** Expiry, Unix seconds. */
  exp?: number;
  /** The topic rights it grants. */
  topicAcl?: string;
}

/**
 * The claims of a JWT, read without checking its signature (the broker
 * checks that); undefined when it is not a JWT. Only for display and for
 * picking the client id a credential names.
 */
export function readClaims(token: string): CredentialClaims | undefined {
  const part = token.split(".")[1];
  if (part === undefined || token.split(".").length !== 3) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof claims === "object" && claims !== null ? claims as CredentialClaims : undefined;
  } catch {
    return undefined;
  }
}
