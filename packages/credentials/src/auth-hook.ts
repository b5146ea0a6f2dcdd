import { ACCESS_RULES_ATTRIBUTE, type Hook, IDENTITY_ATTRIBUTE } from "@edgemq/core";
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

/**
 * Authenticates a CONNECT whose password is a credential this broker issued
 * (auth type TOKEN). The client id must equal the credential's `sub`; an empty
 * one is assigned `sub`. The user name is not checked (Cloudflare's clients
 * send anything there). The client gets the credential's topicAcl as its
 * access rules, its `jti` for revocation, `sub` as its identity (which owns
 * its session), and its `exp` as the end of the session.
 */
export function tokenAuthHook(options: TokenAuthOptions): Hook {
  return {
    name: "token",
    async authenticate({ packet }) {
      if (packet.password === undefined || packet.password.byteLength === 0) {
        return { deny: ReasonCode.BadUserNameOrPassword, reason: "this broker needs a credential (a JWT it issued) as the password" };
      }
      let token: string;
      try {
        token = decoder.decode(packet.password);
      } catch {
        return { deny: ReasonCode.BadUserNameOrPassword, reason: "the password is not a credential (a JWT) this broker issued" };
      }
      const result = await verifyCredential(token, options.keys(), {
        audience: options.audience, now: options.now(), isRevoked: options.isRevoked, clockTolerance: options.clockTolerance,
      });
      if (isRefusal(result)) return { deny: result.reasonCode, reason: result.reason };
      if (packet.clientId !== "" && packet.clientId !== result.sub) {
        return { deny: ReasonCode.ClientIdentifierNotValid, reason: "the client id must equal the credential's client id (sub), or be empty" };
      }
      return {
        allow: true,
        clientId: result.sub,
        // The credential's subject is who the client is (its user name is anything): it owns the session.
        attributes: { [JTI_ATTRIBUTE]: result.jti, [ACCESS_RULES_ATTRIBUTE]: topicAclRules(result.topicAcl), [IDENTITY_ATTRIBUTE]: result.sub },
        expiresAt: result.exp !== undefined ? result.exp * 1000 : undefined,
      };
    },
  };
}
