import type { AuthResult, Hook } from "@edgemq/core";
import { ReasonCode } from "@edgemq/core/codec";

/** The client attribute holding the verified client certificate's subject (its CN). */
export const CERTIFICATE_SUBJECT_ATTRIBUTE = "certificateSubject";

/**
 * Authenticates by client certificate (auth types MTLS and MTLS_AND_TOKEN).
 * The listener has verified the certificate against its CA; its subject's
 * common name is the client id (an empty client id is assigned it, another
 * one is refused). With `token` (MTLS_AND_TOKEN) the CONNECT must also carry
 * a credential for the same client id, and its topicAcl applies.
 */
export function certificateAuthHook(token?: Hook): Hook {
  return {
    name: token ? "certificate+token" : "certificate",
    async authenticate(ctx): Promise<AuthResult> {
      const subject = ctx.conn.clientCertificateSubject;
      if (subject === undefined || subject === "") {
        return { deny: ReasonCode.NotAuthorized, reason: "this broker needs a client certificate signed by the server's CA (connect over TLS with your certificate)" };
      }
      if (ctx.packet.clientId !== "" && ctx.packet.clientId !== subject) {
        return { deny: ReasonCode.ClientIdentifierNotValid, reason: "the client id must equal the certificate's subject (CN), or be empty" };
      }
      if (token?.authenticate === undefined) {
        return { allow: true, clientId: subject, attributes: { [CERTIFICATE_SUBJECT_ATTRIBUTE]: subject } };
      }
      const result = await token.authenticate(ctx);
      if (result === "next" || !("allow" in result)) return result;
      if (result.clientId !== subject) {
        return { deny: ReasonCode.NotAuthorized, reason: "the credential was issued for another client id than the certificate's subject (CN)" };
      }
      return { ...result, attributes: { ...result.attributes, [CERTIFICATE_SUBJECT_ATTRIBUTE]: subject } };
    },
  };
}
