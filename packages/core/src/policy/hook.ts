import type { ConnectPacket } from "../codec/packets/connect.ts";
import type { ClientInfo } from "../model/client.ts";
import type { ConnInfo } from "../transport/duplex.ts";
import type { Message } from "../model/message.ts";
import type { BrokerEventKind } from "../model/stats.ts";
import type { SubscriptionEntry } from "../model/subscription.ts";

/** A hook's answer: allow, defer to the next hook, or deny with a reason code. */
export type Decision = "allow" | "next" | { deny: number; reason?: string };

/** What `authenticate` sees: the CONNECT and the connection. */
export interface ConnectContext {
  packet: ConnectPacket;
  conn: ConnInfo;
}

/** What re-authentication (AUTH 0x19 while connected) sees: the client, and the method and data of its AUTH. */
export interface ReauthContext {
  client: ClientInfo;
  /** The Authentication Method, the same as at CONNECT [MQTT-4.12.1-1]. */
  method: string;
  data: Uint8Array | undefined;
}

/**
 * The result of authentication: allow may attach attributes to the client;
 * `continue` asks the client for another step of an enhanced authentication exchange.
 */
export type AuthResult = "next" | { deny: number; reason?: string } | AuthAllow | AuthContinue;

/**
 * One more step of an enhanced authentication exchange (MQTT 5 AUTH): the
 * server sends AUTH 0x18 (Continue authentication) with `data`, and calls
 * `next` with the Authentication Data of the client's AUTH answer. Before
 * CONNACK the exchange runs under the connect timeout.
 */
export interface AuthContinue {
  continue: true;
  /** Authentication Data for the AUTH packet sent to the client. */
  data?: Uint8Array;
  /** Takes the client's next Authentication Data; answers with the next step, allow or deny. */
  next(data: Uint8Array | undefined): AuthResult | Promise<AuthResult>;
}

/** An accepted client: what to attach to it, the client id to assign, and when its right to stay ends. */
export interface AuthAllow {
  allow: true;
  attributes?: Record<string, unknown>;
  /** Assigned when the CONNECT's client id is empty (a credential's `sub`). */
  clientId?: string;
  /** The user name the client is known by from now on, when the authentication names one (SCRAM's user). */
  username?: string;
  /** When the credential expires (ms since the epoch): the connection ends then with DISCONNECT 0xA0. */
  expiresAt?: number;
  /** Authentication Data for the CONNACK (or final AUTH) of an enhanced authentication exchange. */
  data?: Uint8Array;
}

/**
 * A hook: typed optional methods of three kinds. Deciders (authenticate,
 * authorize*) run in order and the first allow or deny wins; mutators
 * (transformPublish) thread the message through; observers only watch.
 */
export interface Hook {
  name: string;
  /**
   * The MQTT 5 Authentication Methods this hook runs. A CONNECT that names a
   * method is authenticated only by hooks that list it; without one, 0x8C.
   */
  authenticationMethods?: readonly string[];
  authenticate?(ctx: ConnectContext): AuthResult | Promise<AuthResult>;
  /** Re-authentication while connected (AUTH 0x19), by a hook that lists the connection's method. */
  reauthenticate?(ctx: ReauthContext): AuthResult | Promise<AuthResult>;
  authorizePublish?(client: ClientInfo, message: Message): Decision;
  authorizeSubscribe?(client: ClientInfo, subscription: SubscriptionEntry): Decision;
  /** Checked again at delivery: may this client receive this message? */
  authorizeDelivery?(client: ClientInfo, message: Message): Decision;
  /** Returns the message to route (possibly changed) or null to drop it. */
  transformPublish?(client: ClientInfo, message: Message): Message | null;
  onConnected?(client: ClientInfo): void;
  onDisconnected?(client: ClientInfo, reasonCode: number): void;
  onPublished?(client: ClientInfo, message: Message): void;
  /**
   * A refusal, denial, protocol error or drop (see {@link BrokerEventKind}),
   * with the client id (the CONNECT's before one is accepted; may be empty),
   * the connection, the reason code and what was refused (a topic, a filter) or
   * why. Arguments rather than an object, so that telling allocates nothing.
   */
  onEvent?(kind: BrokerEventKind, clientId: string, conn: ConnInfo, reasonCode: number, detail: string | undefined): void;
}
