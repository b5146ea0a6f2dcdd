import { ACCESS_RULES_ATTRIBUTE, type AuthAllow, type AuthResult, type Hook, IDENTITY_ATTRIBUTE, type ReauthContext } from "@edgemq/core";
import { ReasonCode } from "@edgemq/core/codec";
import type { KeySet } from "./keys.ts";
import { topicAclRules } from "./topic-acl.ts";
import { isRefusal, verifyCredential } from "./verify.ts";

/** The client attribute holding a credential's `jti`, for revocation. */
export const JTI_ATTRIBUTE = "jti";

/** What the token hook needs to know about its broker. */
export interface TokenAuthOptions {
  /** This broker, `<broker>.<namespace>` (the `aud` a credential must carry). */
  audience: string;
  /** The broker's current key set (read at each CONNECT, so rotation takes effect at once). */
  keys(): KeySet;
  isRevoked(jti: string): boolean;
  now(): number;
  clockTolerance?: number;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The MQTT 5 Authentication Method that carries a credential in Authentication Data instead of the password. */
export const JWT_METHOD = "JWT";

/**
 * Authenticates a CONNECT whose password is a credential this broker issued
 * (auth type TOKEN), or whose Authentication Method is `JWT` with the
 * credential as Authentication Data. The client id must equal the
 * credential's `sub`; an empty one is assigned `sub`. The user name is not
 * checked (Cloudflare's clients send anything there). The client gets the
 * credential's topicAcl as its access rules, its `jti` for revocation, `sub`
 * as its identity (which owns its session), and its `exp` as the end of the
 * connection. A `JWT` client re-authenticates (AUTH 0x19) with a fresh
 * credential for the same `sub`, which moves that end.
 */
export function tokenAuthHook(options: TokenAuthOptions): Hook {
  const verify = async (bytes: Uint8Array | undefined, where: string): Promise<{ deny: number; reason?: string } | { sub: string; allow: AuthAllow }> => {
    if (bytes === undefined || bytes.byteLength === 0) {
      return { deny: ReasonCode.BadUserNameOrPassword, reason: `this broker needs a credential (a JWT it issued) as the ${where}` };
    }
    let token: string;
    try {
      token = decoder.decode(bytes);
    } catch {
      return { deny: ReasonCode.BadUserNameOrPassword, reason: `the ${where} is not a credential (a JWT) this broker issued` };
    }
    const result = await verifyCredential(token, options.keys(), {
      audience: options.audience, now: options.now(), isRevoked: options.isRevoked, clockTolerance: options.clockTolerance,
    });
    if (isRefusal(result)) return { deny: result.reasonCode, reason: result.reason };
    return {
      sub: result.sub,
      allow: {
        allow: true,
        clientId: result.sub,
        // The credential's subject is who the client is (its user name is anything): it owns the session.
        attributes: { [JTI_ATTRIBUTE]: result.jti, [ACCESS_RULES_ATTRIBUTE]: topicAclRules(result.topicAcl), [IDENTITY_ATTRIBUTE]: result.sub },
        expiresAt: result.exp !== undefined ? result.exp * 1000 : undefined,
      },
    };
  };
  return {
    name: "token",
    authenticationMethods: [JWT_METHOD],
    async authenticate({ packet }) {
      const method = packet.properties?.authenticationMethod;
      const checked = method === JWT_METHOD ? await verify(packet.properties?.authenticationData, "Authentication Data") : await verify(packet.password, "password");
      if (!("sub" in checked)) return checked;
      if (packet.clientId !== "" && packet.clientId !== checked.sub) {
        return { deny: ReasonCode.ClientIdentifierNotValid, reason: "the client id must equal the credential's client id (sub), or be empty" };
      }
      return checked.allow;
    },
    async reauthenticate(ctx: ReauthContext) {
      const checked = await verify(ctx.data, "Authentication Data");
      if (!("sub" in checked)) return checked;
      // A fresh credential for the same client: another subject would be another client [MQTT-4.12.1-2]
      if (checked.sub !== ctx.client.clientId) return { deny: ReasonCode.NotAuthorized, reason: "re-authentication needs a credential for the same client id (sub)" };
      return checked.allow;
    },
  };
}
