import type { QoS } from "../codec/constants.ts";
import { MqttError } from "../codec/errors.ts";
import type { Packet } from "../codec/packet.ts";
import { CONNACK_REASON_CODES, DISCONNECT_REASON_CODES, ReasonCode } from "../codec/reason-codes.ts";
import { PARTIAL_PACKET_FLOOR } from "../policy/memory-budget.ts";
import type { DuplexSink } from "../transport/duplex.ts";
import { RateBuckets } from "./rate-buckets.ts";
import { ConnectionOutput } from "./connection-output.ts";
import type { ConnectionSession } from "./host.ts";

/**
 * What arrives on one client connection and the connection's life:
 * decoding, rate limits, the memory budget for partial packets, protocol
 * failures, keep alive and the socket's end. It never touches a socket or
 * a timer: bytes arrive through {@link data}, time through the broker's
 * clock and {@link tick}; it writes through {@link ConnectionOutput} and the
 * {@link Duplex} it was given. The layers above it add the CONNECT handshake
 * ({@link ConnectHandshake}), PUBLISH flow ({@link PublishFlow}) and the packet
 * dispatch ({@link Connection}).
 */
export abstract class ConnectionBase<S extends ConnectionSession = ConnectionSession> extends ConnectionOutput<S> implements DuplexSink {
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
