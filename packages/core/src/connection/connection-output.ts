import type { QoS } from "../codec/constants.ts";
import { MqttError } from "../codec/errors.ts";
import { encodePacket, type Packet } from "../codec/packet.ts";
import { allocate } from "../codec/writer.ts";
import { ReasonCode } from "../codec/reason-codes.ts";
import type { OutgoingRecord } from "../model/outgoing-record.ts";
import { encodeOutgoingPublish } from "./outgoing-publish.ts";
import { toV3ReturnCode } from "./connack.ts";
import { ConnectionFields } from "./connection-fields.ts";
import type { ConnectionSession } from "./host.ts";

// DISCONNECT reason codes that mean the client broke the protocol: such closes are counted as protocol errors and told to the hooks.
const PROTOCOL_VIOLATIONS: ReadonlySet<number> = new Set([
  ReasonCode.MalformedPacket, ReasonCode.ProtocolError, ReasonCode.TopicNameInvalid, ReasonCode.ReceiveMaximumExceeded,
  ReasonCode.TopicAliasInvalid, ReasonCode.PacketTooLarge, ReasonCode.PayloadFormatInvalid, ReasonCode.RetainNotSupported,
  ReasonCode.QoSNotSupported, ReasonCode.SharedSubscriptionsNotSupported, ReasonCode.SubscriptionIdentifiersNotSupported,
  ReasonCode.WildcardSubscriptionsNotSupported,
]);

/**
 * What the server writes to one client: packets, routed PUBLISHes,
 * acknowledgements (after the store commits them), and the CONNACK or
 * DISCONNECT that ends a connection. A layer of its own so that
 * {@link ConnectionBase} holds only what arrives and the connection's life.
 */
export abstract class ConnectionOutput<S extends ConnectionSession = ConnectionSession> extends ConnectionFields<S> {
  // Every packet but a routed PUBLISH and a Success PUBACK or PUBREC is encoded here, at the client's limits.
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

  // Answers an inbound QoS 1 or 2 PUBLISH once the caller's commit allows: PUBACK or PUBREC.
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

  // Made once and kept in {@link _onStoreFailure}: no closure per commit.
  protected _storeFailed(): () => void {
    return (this._onStoreFailure ??= () => this.disconnect(ReasonCode.UnspecifiedError, "the message could not be made durable (the store failed to commit, or the cluster did not confirm it); send it again"));
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

  // Closed is set first so nothing more is handled; the socket closes once its queued bytes are sent, and end() follows.
  protected _closeNow(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.duplex.close();
  }
}
