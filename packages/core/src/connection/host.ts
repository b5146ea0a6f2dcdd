import type { ConnectPacket, Will } from "../codec/packets/connect.ts";
import type { SubscribePacket } from "../codec/packets/subscribe.ts";
import type { Message } from "../model/message.ts";
import type { LazyMap, LazySet } from "../model/lazy-collections.ts";
import type { OutgoingRecord } from "../model/outgoing-record.ts";
import type { BrokerEventKind, BrokerStats } from "../model/stats.ts";
import type { ConnInfo } from "../transport/duplex.ts";
import type { FeaturePolicy } from "../policy/features.ts";
import type { AuthResult, ReauthContext } from "../policy/hook.ts";
import type { Limits } from "../policy/limits.ts";
import type { MemoryBudget } from "../policy/memory-budget.ts";
import type { PublishHookPipeline } from "../policy/publish-hook.ts";
import type { Store } from "../store/store.ts";

//
// The connection machine's side of the seam between one connection and the
// broker. The machine owns the protocol (decoding, ordering of
// acknowledgements, keep alive, rate limits, topic aliases, the on-publish
// hook's queue); the host owns everything shared between connections
// (sessions, routing, the outbound queue and its flow control, persistence).
// A broker implements ConnectionHost; the machine never imports one.
//

/** What the machine needs of its session: the state the protocol reads and the acknowledgements change. */
export interface ConnectionSession {
  readonly clientId: string;
  /** Seconds the session outlives the connection; above 0 its state is stored. */
  expiryInterval: number;
  /** QoS 1 and 2 messages sent to the client and not yet fully acknowledged, by packet id. */
  readonly inflight: LazyMap<number, OutgoingRecord>;
  /** Inbound QoS 2 packet ids acknowledged with PUBREC and awaiting PUBREL. */
  readonly inboundQos2: LazySet<number>;
}

/**
 * The answer to a client's PUBLISH, filled in by {@link ConnectionHost.acceptPublish}:
 * the reason code of its acknowledgement and the store commit the acknowledgement
 * must wait for. The caller owns it and reuses it, so answering allocates nothing.
 */
export interface PublishOutcome {
  reasonCode: number;
  committed: Promise<unknown> | undefined;
}

/** Why a CONNECT is refused after authentication: its CONNACK reason code and a reason string. */
export interface ConnectRefusal {
  reasonCode: number;
  reason: string;
}

/** What attaching a connection to its session produced. */
export interface AttachOutcome<S extends ConnectionSession> {
  session: S;
  /** Whether CONNACK says Session Present; read once `committed` resolves (a session handed over by another node turns it on). */
  sessionPresent: boolean;
  /** The store commit CONNACK waits for. */
  committed: Promise<unknown> | undefined;
}

/** What SUBSCRIBE produced: the SUBACK codes, the commit to wait for, and the retained messages to send after. */
export interface SubscribeOutcome {
  reasonCodes: number[];
  committed: Promise<unknown> | undefined;
  /** Sends the retained messages the new subscriptions receive, after SUBACK [MQTT-3.3.1-9]. */
  afterAck: () => void;
}

/** A connection as its host sees it, passed back on every call. */
export interface HostedConnection<S extends ConnectionSession> {
  readonly session: S | undefined;
}

/** What a connection machine needs from the broker it serves. */
export interface ConnectionHost<S extends ConnectionSession, C extends HostedConnection<S> = HostedConnection<S>> {
  readonly limits: Limits;
  readonly features: FeaturePolicy;
  readonly stats: BrokerStats;
  /** The process-wide budget a partial packet's bytes are drawn from. */
  readonly memoryBudget: MemoryBudget;
  /** Where acknowledged state is kept (the machine commits PUBREL and PUBREC state through it). */
  readonly store: Store;
  /** The on-publish hook in use, if any: PUBLISHes wait for its verdict. */
  readonly publishHook: PublishHookPipeline | undefined;
  /** The broker's clock (ms since the epoch). */
  now(): number;
  /** Tells the broker's hooks of a refusal, a protocol error or a rate limit (rare paths only). */
  event(kind: BrokerEventKind, clientId: string, conn: ConnInfo, reasonCode: number, detail?: string): void;

  /** Whether an enhanced authentication method (CONNECT's Authentication Method) is offered; else CONNACK 0x8C. */
  offersAuthenticationMethod(method: string): boolean;
  /**
   * Runs authentication for a CONNECT. A result with `continue` starts a
   * multi-step exchange (AUTH packets before CONNACK, MQTT 5 enhanced authentication).
   */
  authenticate(conn: C, packet: ConnectPacket): AuthResult | Promise<AuthResult>;
  /** Runs re-authentication (AUTH 0x19) for a connected client. */
  reauthenticate(conn: C, ctx: ReauthContext): AuthResult | Promise<AuthResult>;
  /**
   * Whether an authenticated client, its client id settled, may attach to that
   * id's session: undefined, or the CONNACK reason code that refuses it (a
   * quota, a session that belongs to another identity) and why.
   */
  admitConnect(conn: C, clientId: string): ConnectRefusal | undefined;
  /** Binds the connection to its client id's session (takeover, Clean Start, resume). */
  attach(conn: C, clientId: string, cleanStart: boolean, expiryInterval: number): AttachOutcome<S>;
  /** CONNACK is out: resend what was in flight and send what waits. */
  connected(conn: C): void;
  /** The socket ended; `will` is set when it must be published. */
  detach(conn: C, wasConnected: boolean, will: Will | undefined, reasonCode: number): void;

  /** The checks a PUBLISH passes before anything else sees it: 0, or the reason code refusing it. */
  admitPublish(conn: C, message: Message): number;
  /**
   * Routes an admitted PUBLISH (after the on-publish hook's verdict, when there
   * is one) and fills in `outcome`. For QoS 2, `qos2PacketId` is held until PUBREL.
   */
  acceptPublish(conn: C, message: Message, qos2PacketId: number | undefined, outcome: PublishOutcome): void;

  /** Handles SUBSCRIBE; "disconnected" if it ended the connection (a disabled feature). */
  subscribe(conn: C, packet: SubscribePacket): SubscribeOutcome | "disconnected";
  /** Handles UNSUBSCRIBE: one reason code per filter, and the commit UNSUBACK waits for. */
  unsubscribe(conn: C, filters: string[]): { reasonCodes: number[]; committed: Promise<unknown> | undefined };

  /** An outgoing message is fully acknowledged; returns whether waiting messages may now be sent. */
  completeOutgoing(conn: C, record: OutgoingRecord): boolean;
  /** Sends what waits while the client's window and socket have room. */
  pump(conn: C): void;
}
