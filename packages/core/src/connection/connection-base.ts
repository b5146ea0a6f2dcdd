import type { ProtocolVersion, QoS } from "../codec/constants.ts";
import { MqttError } from "../codec/errors.ts";
import { FrameDecoder } from "../codec/frame.ts";
import { encodePacket, type Packet } from "../codec/packet.ts";
import { allocate } from "../codec/writer.ts";
import type { ConnectPacket } from "../codec/packets/connect.ts";
import { CONNACK_REASON_CODES, DISCONNECT_REASON_CODES, ReasonCode } from "../codec/reason-codes.ts";
import type { ClientInfo } from "../model/client.ts";
import type { OutgoingRecord } from "../model/outgoing-record.ts";
import { PARTIAL_PACKET_FLOOR } from "../policy/memory-budget.ts";
import type { HookEntry } from "../policy/publish-hook.ts";
import type { Duplex, DuplexSink } from "../transport/duplex.ts";
import { encodeOutgoingPublish } from "./outgoing-publish.ts";
import { AuthExchange } from "./auth-exchange.ts";
import { RateBuckets } from "./rate-buckets.ts";
import { toV3ReturnCode } from "./connack.ts";
import type { ConnectionHost, ConnectionSession, PublishOutcome } from "./host.ts";

// Every client's attributes until a hook gives some: one frozen object, not one each (issue 14).
const NO_ATTRIBUTES: Record<string, unknown> = Object.freeze({});

// DISCONNECT reason codes that mean the client broke the protocol: such closes are counted as protocol errors and told to the hooks.
const PROTOCOL_VIOLATIONS: ReadonlySet<number> = new Set([
  ReasonCode.MalformedPacket, ReasonCode.ProtocolError, ReasonCode.TopicNameInvalid, ReasonCode.ReceiveMaximumExceeded,
  ReasonCode.TopicAliasInvalid, ReasonCode.PacketTooLarge, ReasonCode.PayloadFormatInvalid, ReasonCode.RetainNotSupported,
  ReasonCode.QoSNotSupported, ReasonCode.SharedSubscriptionsNotSupported, ReasonCode.SubscriptionIdentifiersNotSupported,
  ReasonCode.WildcardSubscriptionsNotSupported,
]);

/** Where a connection is in its life. */
export type ConnectionState = "awaiting-connect" | "authenticating" | "connected" | "closed";

/**
 * The state and I/O of one client connection's protocol machine: fields,
 * decoding, output, disconnection, keep alive. It never touches a socket or
 * a timer: bytes arrive through {@link data}, time through the broker's
 * clock and {@link tick}; it writes through the {@link Duplex} it was given.
 * The layers above it add the CONNECT handshake ({@link ConnectHandshake}),
 * PUBLISH flow ({@link PublishFlow}) and the packet dispatch ({@link Connection}).
 */
export abstract class ConnectionBase<S extends ConnectionSession = ConnectionSession> implements DuplexSink {
  /** The broker this connection serves, as the interface the machine declares. */
  readonly host: ConnectionHost<S, ConnectionBase<S>>;

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

  constructor(host: ConnectionHost<S, ConnectionBase<S>>, duplex: Duplex, now: number) {
    this.host = host;
    this.duplex = duplex;
    this.openedAt = now;
    this.lastActivity = now;
    // Until CONNECT is accepted, a smaller limit keeps an unauthenticated peer cheap.
    this._decoder = new FrameDecoder({ maximumPacketSize: host.limits.maximumConnectPacketSize });
    this.client = { clientId: "", username: undefined, protocolVersion: 5, conn: duplex.info, attributes: NO_ATTRIBUTES };
  }

  /** Bytes from the socket. */
  data(bytes: Uint8Array): void {
    if (this.state === "closed") return;
    const now = this.lastActivity = this.host.now();
    this.host.stats.bytesReceived += bytes.byteLength;
    if (this.host.limits.maximumBytesPerSecond > 0 && this.state === "connected" && !this._withinRate(now, 0, bytes.byteLength)) return;
    if (this.state === "authenticating" && this._auth?.step === undefined) {
      // Packets after CONNECT wait until authentication answers (an AUTH step it asked for is read).
      (this._pendingWhileAuthenticating ??= []).push(bytes);
      return;
    }
    if (this.state === "awaiting-connect") {
      const head = (this._head ??= []);
      for (let i = 0; i < bytes.byteLength && head.length < 16; i++) head.push(bytes[i]!);
    }
    this._decoder.push(bytes);
    this._drainDecoder();
    // Usually 0 before and after: one comparison on the message path.
    if (this._decoder.buffered !== this._heldPartial) this._holdPartial(this._decoder.buffered);
    // What this chunk gave the on-publish hook leaves as one batch.
    if (this._hooked !== undefined && this._hooked.length > 0) this.host.publishHook?.flush();
    if (this._pumpPending) {
      this._pumpPending = false;
      this.host.pump(this);
    }
  }

  protected _drainDecoder(): void {
    try {
      for (;;) {
        // Paused: what is left stays in the decoder until the hook catches up.
        if (this.state === "closed" || (this.state === "authenticating" && this._auth?.step === undefined) || this._paused) return;
        const packet = this._decoder.next();
        if (packet === undefined) return;
        this._handle(packet);
      }
    } catch (e) {
      if (e instanceof MqttError) this._protocolFailure(e);
      else throw e;
    }
  }

  /**
   * Takes `packets` and `bytes` from the rate buckets ({@link RateBuckets}),
   * and ends the connection with 0x96 Message rate too high if either ran
   * dry (§3.14.2.1).
   */
  protected _withinRate(now: number, packets: number, bytes: number): boolean {
    const limits = this.host.limits;
    if (limits.maximumPacketsPerSecond === 0 && limits.maximumBytesPerSecond === 0) return true;
    const over = (this._rate ??= new RateBuckets()).take(now, packets, bytes, limits);
    if (over === undefined) return true;
    const reason = over === "packets" ? `more than ${limits.maximumPacketsPerSecond} packets per second` : `more than ${limits.maximumBytesPerSecond} bytes per second`;
    this.host.stats.rateLimited++;
    this.host.event("rate_limited", this.client.clientId, this.client.conn, ReasonCode.MessageRateTooHigh, reason);
    this.disconnect(ReasonCode.MessageRateTooHigh, reason);
    return false;
  }

  /**
   * Draws the bytes of a packet not yet whole from the process's memory
   * budget; when it is spent, a connection holding more than the floor is
   * refused with 0x97 Quota exceeded rather than grow memory for everyone.
   */
  protected _holdPartial(held: number): void {
    if (this._detached) return; // closed while decoding: end() already gave everything back
    const budget = this.host.memoryBudget;
    const more = held - this._heldPartial;
    if (more <= 0 || budget.take("partialPackets", more, held <= PARTIAL_PACKET_FLOOR)) {
      if (more < 0) budget.give("partialPackets", -more);
      this._heldPartial = held;
      return;
    }
    this.host.stats.quotaExceeded++;
    const reason = "the server's memory budget for partial packets is spent";
    this.host.event("memory_budget", this.client.clientId || this._requestedClientId, this.client.conn, ReasonCode.QuotaExceeded, reason);
    if (this.state === "awaiting-connect") this._refuse(ReasonCode.QuotaExceeded, reason);
    else this.disconnect(ReasonCode.QuotaExceeded, reason);
    // Its bytes go back now, not when the socket's close is reported (up to 2 s later).
    this._releasePartial();
  }

  protected _releasePartial(): void {
    this._decoder.discard();
    if (this._heldPartial === 0) return;
    this.host.memoryBudget.give("partialPackets", this._heldPartial);
    this._heldPartial = 0;
  }

  /** The socket can take more. */
  drain(): void {
    this.backpressured = false;
    if (this.state === "connected") this.host.pump(this);
  }

  /** The socket closed (the adapter calls this once; later calls do nothing). */
  end(_error?: unknown): void {
    if (this._detached) return;
    this._detached = true;
    this.state = "closed";
    this._releasePartial();
    // The will goes unless a DISCONNECT with reason 0x00 discarded it [MQTT-3.1.2-10]
    this.host.detach(this, this._everConnected, this._normalDisconnect ? undefined : this._will, this._disconnectReason);
    this._inboundAliases = undefined;
    this._outboundAliases = undefined;
    this._pendingWhileAuthenticating = undefined;
    // Messages still waiting for the hook are neither routed nor acknowledged: QoS 1 and 2 are resent by the client.
    this._hooked = undefined;
  }

  /** Refuses a CONNECT with a reason code and closes [MQTT-3.2.2-7]; the hooks hear of it unless told already. */
  protected _refuse(reasonCode: number, reason?: string, told = false): void {
    if (!told) this.host.event("connect_refused", this.client.clientId || this._requestedClientId, this.client.conn, reasonCode, reason);
    if (this.version === 5) {
      this._send({
        type: "connack", sessionPresent: false, reasonCode, // [MQTT-3.2.2-6]
        properties: reason && this.requestProblemInformation ? { reasonString: reason } : undefined,
      });
    } else {
      this._send({ type: "connack", sessionPresent: false, reasonCode: toV3ReturnCode(reasonCode) });
    }
    this._closeNow();
  }

  protected _acknowledge(qos: QoS, packetId: number, reasonCode: number): void {
    if (this.state !== "connected") return;
    if (reasonCode === ReasonCode.ServerBusy) return this._refuseUndurable(qos, packetId);
    const code = this.version === 5 ? reasonCode : 0;
    if (code === 0) {
      // The common case, PUBACK or PUBREC with Success, is four fixed bytes.
      const bytes = allocate(4);
      bytes[0] = qos === 1 ? 0x40 : 0x50;
      bytes[1] = 2;
      bytes[2] = packetId >>> 8;
      bytes[3] = packetId & 0xff;
      this.write(bytes); // [MQTT-4.3.2-4], [MQTT-4.3.3-8]
      return;
    }
    this._send({ type: qos === 1 ? "puback" : "pubrec", packetId, reasonCode: code });
  }

  // A QoS 1 or 2 PUBLISH the broker could not make durable (a cluster node cut off from NATS, issue 12).
  // 0x89 Server busy is not a PUBACK or PUBREC reason code [MQTT-3.4.2-1] [MQTT-3.5.2-1], so a 5.0 client gets
  // 0x83 Implementation specific error, "valid but the receiver is not willing to accept it" (§3.4.2.1),
  // with a reason string, and may send it again later; its QoS 0 messages go on. 3.1.1 has no negative
  // acknowledgement and a positive one would lose the message, so the network connection is closed
  // unacknowledged [MQTT-3.3.5-2] (3.1.1): the client sends it again once reconnected [MQTT-4.4.0-1].
  protected _refuseUndurable(qos: QoS, packetId: number): void {
    const reason = "the cluster (NATS) is unreachable: QoS 1 and 2 messages cannot be made durable now; send again later";
    if (this.version < 5) return this._disconnectNow(ReasonCode.ServerBusy, reason);
    this._send({
      type: qos === 1 ? "puback" : "pubrec", packetId, reasonCode: ReasonCode.ImplementationSpecificError,
      properties: this.requestProblemInformation ? { reasonString: reason } : undefined,
    });
  }

  /**
   * Runs `then` (which sends an acknowledgement) once `committed` resolves,
   * while still connected, or now if there is nothing to wait for; a store
   * that fails to commit ends the connection instead of acknowledging.
   */
  protected _afterCommit(committed: Promise<unknown> | void | undefined, then: () => void): void {
    if (!committed) return then();
    committed.then(() => {
      if (this.state === "connected") then();
    }, this._storeFailed());
  }

  // The one handler of a failed commit, made at the first commit: connections without a lasting session keep none.
  protected _onStoreFailure: (() => void) | undefined;
  protected _storeFailed(): () => void {
    return (this._onStoreFailure ??= () => this.disconnect(ReasonCode.UnspecifiedError, "the store failed to commit"));
  }

  /**
   * Ends the connection from the server side: DISCONNECT with a reason code
   * to a 5.0 client [MQTT-3.14.0-1], then close. The will is published.
   */
  disconnect(reasonCode: number, reason?: string): void {
    if (this.state === "closed") return;
    if (PROTOCOL_VIOLATIONS.has(reasonCode)) this._reportProtocolError(reasonCode, reason);
    this._disconnectNow(reasonCode, reason);
  }

  // DISCONNECT (to a connected 5.0 client) and close, with nothing reported.
  protected _disconnectNow(reasonCode: number, reason?: string): void {
    if (this.state === "connected" && this.version === 5) {
      this._send({
        type: "disconnect",
        reasonCode,
        properties: reason && this.requestProblemInformation ? { reasonString: reason } : undefined,
      });
    }
    this._disconnectReason = reasonCode;
    this._closeNow();
  }

  // A connection closed for what the client sent: counted, and told to the hooks.
  protected _reportProtocolError(reasonCode: number, reason: string | undefined): void {
    this.host.stats.protocolErrors++;
    this.host.event(reasonCode === ReasonCode.MalformedPacket ? "malformed_packet" : "protocol_error", this.client.clientId || this._requestedClientId, this.client.conn, reasonCode, reason);
  }

  protected _protocolFailure(e: MqttError): void {
    this._reportProtocolError(e.reasonCode, e.message);
    if (this.state === "awaiting-connect") {
      // Before CONNECT is accepted, the answer is a CONNACK [MQTT-4.13.1-1]
      if (e.reasonCode === ReasonCode.UnsupportedProtocolVersion) {
        // The client's level is unknown, so answer as 3.1.1 does (0x01): every client can read it.
        this.version = 4;
        return this._refuse(ReasonCode.UnsupportedProtocolVersion, undefined, true);
      }
      // Only a 5.0 CONNECT gets a CONNACK with a reason code; a bad 3.x CONNECT is closed
      // without one [MQTT-3.1.4-1] (3.1.1), and a first packet that is not CONNECT is not answered.
      if (this._connectLevel() === 5 && CONNACK_REASON_CODES[e.reasonCode]) return this._refuse(e.reasonCode, e.message, true);
      this._closeNow();
      return;
    }
    this._disconnectNow(DISCONNECT_REASON_CODES[e.reasonCode] ? e.reasonCode : ReasonCode.MalformedPacket, e.message);
  }

  // The protocol level of a CONNECT at the start of the stream, if its first bytes say so.
  protected _connectLevel(): number | undefined {
    const h = this._head;
    if (h === undefined || h[0] !== 0x10) return undefined;
    let i = 1;
    while (i < 5 && (h[i]! & 0x80) !== 0) i++;
    const at = i + 1 + 2 + ((h[i + 1]! << 8) | h[i + 2]!);
    return at < h.length ? h[at] : undefined;
  }

  protected _closeNow(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.duplex.close();
  }

  protected _send(packet: Packet): void {
    // Reason strings and user properties are dropped to fit the client's limit [MQTT-3.1.2-24].
    let bytes: Uint8Array;
    try {
      bytes = encodePacket(packet, this.version, this.clientMaximumPacketSize);
    } catch (e) {
      if (e instanceof MqttError) return; // cannot fit even without diagnostics: discard [MQTT-3.1.2-25]
      throw e;
    }
    this.write(bytes);
  }

  /** Writes encoded bytes, counting them and noting backpressure. */
  write(bytes: Uint8Array): void {
    this.host.stats.bytesSent += bytes.byteLength;
    this.host.stats.packetsSent++;
    if (!this.duplex.write(bytes)) this.backpressured = true;
  }

  /**
   * Sends one PUBLISH of a routed message. Returns false if it was too large
   * for the client and was discarded instead [MQTT-3.1.2-25].
   */
  sendPublish(record: OutgoingRecord, dup: boolean, now: number): boolean {
    const bytes = encodeOutgoingPublish(this, record, dup, now, this.clientTopicAliasMaximum > 0 ? (this._outboundAliases ??= new Map()) : undefined);
    if (bytes === undefined) return false;
    this.host.stats.messagesSent++;
    this.write(bytes);
    return true;
  }

  /** Checks keep alive and the connect timeout; returns false if it closed the connection. */
  tick(now: number): boolean {
    if (this.state === "closed") return false;
    if (this.state !== "connected") {
      if (now - this.openedAt > this.host.limits.connectTimeout * 1000) {
        this._closeNow();
        return false;
      }
      return true;
    }
    // One and a half keep alive periods without a packet ends the connection [MQTT-3.1.2-22]
    if (this.keepAlive > 0 && now - this.lastActivity > this.keepAlive * 1500) {
      this.disconnect(ReasonCode.KeepAliveTimeout, "no packet within 1.5 times the keep alive");
      return false;
    }
    // A re-authentication the client (or the hook) leaves unfinished ends like an unfinished CONNECT.
    if (this._auth?.reauthenticating === true && now > this._auth.reauthDeadline) {
      this.disconnect(ReasonCode.NotAuthorized, "re-authentication did not finish within the connect timeout");
      return false;
    }
    // A session lasts no longer than the credential that opened it.
    if (this.credentialExpiresAt !== undefined && now >= this.credentialExpiresAt) {
      this.disconnect(ReasonCode.MaximumConnectTime, "the credential expired");
      return false;
    }
    return true;
  }

  /** Reports the QoS a subscription was granted, capped by the broker's maximum. */
  grant(qos: QoS): QoS {
    return Math.min(qos, this.host.features.maximumQoS) as QoS;
  }

  /** Handles one decoded packet (the dispatch is the top class's). */
  protected abstract _handle(packet: Packet): void;
}
