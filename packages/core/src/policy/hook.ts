import type { ConnectPacket } from "../codec/packets/connect.ts";
import type { ConnInfo } from "../transport/duplex.ts";
import type { Message } from "../broker/message.ts";
import type { SubscriptionEntry } from "../broker/topic-tree.ts";

/** Who a connected client is, as hooks see it. */
export interface ClientInfo {
  clientId: string;
  username: string | undefined;
  protocolVersion: 3 | 4 | 5;
  conn: ConnInfo;
  /** Whatever `authenticate` attached (a token's claims, a user record). */
  attributes: Record<string, unknown>;
}

/** A hook's answer: allow, defer to the next hook, or deny with a reason code. */
export type Decision = "allow" | "next" | { deny: number; reason?: string };

/** What `authenticate` sees: the CONNECT and the connection. */
export interface ConnectContext {
  packet: ConnectPacket;
  conn: ConnInfo;
}

/** The result of authentication: allow may attach attributes to the client. */
export type AuthResult = "next" | { deny: number; reason?: string } | AuthAllow;

/** An accepted client: what to attach to it, the client id to assign, and when its right to stay ends. */
export interface AuthAllow {
  allow: true;
  attributes?: Record<string, unknown>;
  /** Assigned when the CONNECT's client id is empty (a credential's `sub`). */
  clientId?: string;
  /** When the credential expires (ms since the epoch): the connection ends then with DISCONNECT 0xA0. */
  expiresAt?: number;
}

/**
 * A hook: typed optional methods of three kinds. Deciders (authenticate,
 * authorize*) run in order and the first allow or deny wins; mutators
 * (transformPublish) thread the message through; observers only watch.
 */
export interface Hook {
  name: string;
  authenticate?(ctx: ConnectContext): AuthResult | Promise<AuthResult>;
  authorizePublish?(client: ClientInfo, message: Message): Decision;
  authorizeSubscribe?(client: ClientInfo, subscription: SubscriptionEntry): Decision;
  /** Checked again at delivery: may this client receive this message? */
  authorizeDelivery?(client: ClientInfo, message: Message): Decision;
  /** Returns the message to route (possibly changed) or null to drop it. */
  transformPublish?(client: ClientInfo, message: Message): Message | null;
  onConnected?(client: ClientInfo): void;
  onDisconnected?(client: ClientInfo, reasonCode: number): void;
  onPublished?(client: ClientInfo, message: Message): void;
}
