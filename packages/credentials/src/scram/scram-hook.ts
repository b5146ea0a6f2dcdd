import { type AuthResult, type Hook, IDENTITY_ATTRIBUTE, type ReauthContext } from "@edgemq/core";
import { ReasonCode } from "@edgemq/core/codec";
import { constantTimeEqual, hash, hmac, randomBytes, SCRAM_MECHANISMS, type ScramCredential, type ScramMechanism, xor } from "./scram-crypto.ts";
import { type ClientFirst, formatServerFirst, parseClientFinal, parseClientFirst, ScramError, toBase64 } from "./scram-messages.ts";

/** Where a SCRAM hook finds its users. */
export interface ScramHookOptions {
  /** The credential kept for `username` under `mechanism`, if that user has one. */
  lookup(username: string, mechanism: ScramMechanism): ScramCredential | undefined | Promise<ScramCredential | undefined>;
  /** The mechanisms offered; both by default. */
  mechanisms?: readonly ScramMechanism[];
}

/** The client attribute naming the SCRAM user a connection authenticated as. */
export const SCRAM_USER_ATTRIBUTE = "scramUser";

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const WRONG = { deny: ReasonCode.NotAuthorized, reason: "SCRAM authentication failed: wrong user name or password" } as const;

/**
 * MQTT 5 enhanced authentication with SCRAM-SHA-256 and SCRAM-SHA-512
 * (RFC 5802, RFC 7677): client-first in CONNECT, server-first in AUTH 0x18,
 * client-final in AUTH, server-final in CONNACK; the same exchange in AUTH
 * packets re-authenticates a connected client (AUTH 0x19) as the same user.
 */
export function scramAuthHook(options: ScramHookOptions): Hook {
  const mechanisms = options.mechanisms ?? (Object.keys(SCRAM_MECHANISMS) as ScramMechanism[]);
  // An unknown user runs the whole exchange against a made-up credential, so that
  // the answer (and its timing) does not tell whether the user exists (RFC 5802 §5.1).
  const decoyKey = randomBytes(32);
  const exchange = async (method: string, data: Uint8Array | undefined, sameUser: string | undefined): Promise<AuthResult> => {
    const mechanism = method as ScramMechanism;
    if (!mechanisms.includes(mechanism)) return { deny: ReasonCode.BadAuthenticationMethod, reason: `offered methods: ${mechanisms.join(", ")}` };
    let first: ClientFirst;
    try {
      first = parseClientFirst(decoder.decode(data ?? new Uint8Array(0)));
    } catch (e) {
      return { deny: ReasonCode.NotAuthorized, reason: `SCRAM: ${e instanceof ScramError ? e.message : "the first message is malformed"}` };
    }
    const known = await options.lookup(first.username, mechanism);
    const credential = known ?? await decoy(mechanism, decoyKey, first.username);
    const nonce = first.nonce + toBase64(randomBytes(18));
    const serverFirst = formatServerFirst(nonce, credential.salt, credential.iterations);
    return {
      continue: true,
      data: encoder.encode(serverFirst),
      next: async (answer) => {
        try {
          const final = parseClientFinal(decoder.decode(answer ?? new Uint8Array(0)));
          // The channel binding echoes the GS2 header; the nonce is the one just sent.
          if (final.channelBinding !== toBase64(encoder.encode(first.gs2Header)) || final.nonce !== nonce) return WRONG;
          const authMessage = `${first.bare},${serverFirst},${final.withoutProof}`;
          const signature = await hmac(mechanism, credential.storedKey, authMessage);
          if (final.proof.byteLength !== signature.byteLength) return WRONG;
          const stored = await hash(mechanism, xor(final.proof, signature));
          // Checked in full even for a decoy, then refused: the same work either way.
          if (!constantTimeEqual(stored, credential.storedKey) || known === undefined) return WRONG;
          if (sameUser !== undefined && sameUser !== first.username) return { deny: ReasonCode.NotAuthorized, reason: "re-authentication must be as the same user" };
          const serverSignature = await hmac(mechanism, credential.serverKey, authMessage);
          return {
            allow: true,
            username: first.username,
            attributes: { [IDENTITY_ATTRIBUTE]: first.username, [SCRAM_USER_ATTRIBUTE]: first.username },
            data: encoder.encode(`v=${toBase64(serverSignature)}`),
          };
        } catch (e) {
          return { deny: ReasonCode.NotAuthorized, reason: `SCRAM: ${e instanceof ScramError ? e.message : "the final message is malformed"}` };
        }
      },
    };
  };
  return {
    name: "scram",
    authenticationMethods: mechanisms,
    // A CONNECT without a method (a plain password, or anonymous) is for the other hooks.
    authenticate: ({ packet }) => {
      const method = packet.properties?.authenticationMethod;
      return method === undefined ? "next" : exchange(method, packet.properties?.authenticationData, undefined);
    },
    reauthenticate: (ctx: ReauthContext) => {
      const user = ctx.client.attributes[SCRAM_USER_ATTRIBUTE];
      return exchange(ctx.method, ctx.data, typeof user === "string" ? user : "");
    },
  };
}

// A made-up credential for an unknown user: the same for the same name, so repeated tries look alike.
async function decoy(mechanism: ScramMechanism, key: Uint8Array, username: string): Promise<ScramCredential> {
  const salt = (await hmac(mechanism, key, `salt:${username}`)).subarray(0, 16);
  const storedKey = await hmac(mechanism, key, `stored:${username}`);
  return { mechanism, salt, iterations: 4096, storedKey, serverKey: storedKey };
}
