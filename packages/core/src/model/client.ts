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
