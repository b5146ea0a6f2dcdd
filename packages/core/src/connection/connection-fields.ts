import type { ProtocolVersion, QoS } from "../codec/constants.ts";
import { FrameDecoder } from "../codec/frame.ts";
import type { ConnectPacket } from "../codec/packets/connect.ts";
import { ReasonCode } from "../codec/reason-codes.ts";
import type { ClientInfo } from "../model/client.ts";
import type { HookEntry } from "../policy/publish-hook.ts";
import type { Duplex } from "../transport/duplex.ts";
import type { AuthExchange } from "./auth-exchange.ts";
import type { RateBuckets } from "./rate-buckets.ts";
import type { ConnectionHost, ConnectionSession, PublishOutcome } from "./host.ts";

// Every client's attributes until a hook gives some: one frozen object, not one each (issue 14).
const NO_ATTRIBUTES: Record<string, unknown> = Object.freeze({});

/** Where a connection is in its life. */
export type ConnectionState = "awaiting-connect" | "authenticating" | "connected" | "closed";

/**
 * The state one client connection keeps, and nothing else: every field of
 * the protocol machine, declared in one place so that every connection has
 * the same shape from its first byte (the per-message code stays monomorphic).
 * {@link ConnectionOutput} adds what the server writes, {@link ConnectionBase}
 * what it reads and the connection's life.
 */
export abstract class ConnectionFields<S extends ConnectionSession = ConnectionSession> {
  /** The broker this connection serves, as the interface the machine declares. */
  readonly host: ConnectionHost<S, ConnectionFields<S>>;

  readonly duplex: Duplex;

  state: ConnectionState = "awaiting-connect";

  /** The protocol level of the CONNECT (5 until one arrives). */
  version: ProtocolVersion = 5;

  /** Set once connected. */
  session: S | undefined;

  client: ClientInfo;

  /** When the socket was accepted (ms). */
  readonly openedAt: number;

  /** When a packet last arrived (ms), for keep alive. */
  lastActivity: number;

  /** The keep alive the server enforces, in seconds; 0 for none. */
  keepAlive = 0;

  /** The client's Receive Maximum: how many QoS > 0 PUBLISH it takes unacknowledged. */
  sendWindow = 65535;

  /** The client's Maximum Packet Size. */
  clientMaximumPacketSize = 0xffffffff;

  /** The client's Topic Alias Maximum (server → client aliases). */
  clientTopicAliasMaximum = 0;

  /** Whether the client asked for Reason Strings and User Properties on errors. */
  requestProblemInformation = true;

  /** Whether the socket is backed up. */
  backpressured = false;

  /** When the client's credential expires (ms); the connection ends then with 0xA0. */
  credentialExpiresAt: number | undefined;

  protected _decoder: FrameDecoder;

  // Enhanced authentication, only for a CONNECT that names a method.
  protected _auth: AuthExchange | undefined;

  protected _will: ConnectPacket["will"];

  /** The will of this connection's CONNECT (when wills are available), published if it ends without a normal DISCONNECT. */
  get will(): ConnectPacket["will"] {
    return this._will;
  }
  // Topic aliases, made only for clients that use them (most do not).
  protected _inboundAliases: Map<number, string> | undefined;
  protected _outboundAliases: Map<string, number> | undefined;
  // Set when acknowledgements freed window room; the host pumps once the chunk is handled.
  protected _pumpPending = false;
  // The answer to the PUBLISH being handled, reused (made at the first QoS 1/2 PUBLISH).
  protected _outcome: PublishOutcome | undefined;
  protected _inboundUnacked = 0;
  // Rate limits' buckets, made at the first packet a limit counts.
  protected _rate: RateBuckets | undefined;
  // Made only when packets arrive while authenticating: an idle connection keeps none (issue 14).
  protected _pendingWhileAuthenticating: Uint8Array[] | undefined;
  // The stream's first bytes, kept until CONNECT is answered, to tell what a bad first packet was.
  protected _head: number[] | undefined;
  protected _normalDisconnect = false;
  protected _disconnectReason: number = ReasonCode.UnspecifiedError;
  protected _everConnected = false;
  protected _detached = false;
  /** The client id a CONNECT asked for, named in events before one is accepted. */
  protected _requestedClientId = "";
  // The commit of the last accepted QoS 2 PUBLISH: a resend of it is acknowledged only after.
  protected _inboundCommit: Promise<unknown> | undefined;
  // The last QoS 1/2 acknowledgement still waiting for a commit; later ones go after it.
  protected _pendingAck: Promise<unknown> | undefined;
  protected _pendingAckWait: Promise<unknown> | undefined;
  // PUBLISHes waiting for the on-publish hook's verdict, in the order they arrived: each is
  // routed and acknowledged only once it and every one before it have their verdict.
  // Made at the first such PUBLISH: most connections never have one.
  protected _hooked: { entry: HookEntry; qos: QoS; packetId: number }[] | undefined;
  // QoS 2 ids waiting for the hook: a resend meanwhile is answered with the verdict.
  protected _hookedQos2: Set<number> | undefined;
  // Reading is paused because too many of this client's messages wait for the hook.
  protected _paused = false;
  // Bytes of a packet not yet whole, drawn from the process's memory budget.
  protected _heldPartial = 0;
  // The one handler of a failed commit, made at the first commit: connections without a lasting session keep none.
  protected _onStoreFailure: (() => void) | undefined;

  constructor(host: ConnectionHost<S, ConnectionFields<S>>, duplex: Duplex, now: number) {
    this.host = host;
    this.duplex = duplex;
    this.openedAt = now;
    this.lastActivity = now;
    // Until CONNECT is accepted, a smaller limit keeps an unauthenticated peer cheap.
    this._decoder = new FrameDecoder({ maximumPacketSize: host.limits.maximumConnectPacketSize });
    this.client = { clientId: "", username: undefined, protocolVersion: 5, conn: duplex.info, attributes: NO_ATTRIBUTES };
  }
}
