import type { ConnInfo } from "../transport/duplex.ts";

/** Who a connected client is, as hooks see it. */
export interface ClientInfo {
  clientId: string;
  username: string | undefined;
  protocolVersion: 3 | 4 | 5;
  conn: ConnInfo;
  /** Whatever `authenticate` attached (a token's claims, a user record). */
  attributes: Record<string, unknown>;
}

/**
 * The attribute an authentication hook sets to say who the client is when the
 * user name does not (a token's subject, whatever name a client sends with it).
 */
export const IDENTITY_ATTRIBUTE = "identity";

/**
 * Who a client is, for owning its session: the {@link IDENTITY_ATTRIBUTE} an
 * authentication hook attached, else the user name; undefined for an anonymous client.
 */
export function clientIdentity(client: ClientInfo): string | undefined {
  const identity = client.attributes[IDENTITY_ATTRIBUTE];
  return typeof identity === "string" ? identity : client.username;
}
