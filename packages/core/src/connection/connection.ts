import { PublishFlow } from "./publish-flow.ts";
import { type Packet } from "../codec/packet.ts";
import type { DisconnectPacket } from "../codec/packets/disconnect.ts";
import type { SubscribePacket } from "../codec/packets/subscribe.ts";
import type { UnsubscribePacket } from "../codec/packets/unsubscribe.ts";
import { ReasonCode } from "../codec/reason-codes.ts";
import type { Duplex } from "../transport/duplex.ts";
import type { ConnectionSession } from "./host.ts";

/**
 * One client connection's protocol machine. It never touches a socket or a
 * timer: bytes arrive through {@link data}, time through the broker's clock
 * and {@link tick}; it writes through the {@link Duplex} it was given.
 */
export class Connection<S extends ConnectionSession = ConnectionSession> extends PublishFlow<S> {
  protected _handle(packet: Packet): void {
    this.host.stats.packetsReceived++;
    if (this.state === "authenticating") return this._onAuthBeforeConnack(packet);
    if (this.state === "awaiting-connect") {
      if (packet.type !== "connect") {
        // The first packet must be CONNECT [MQTT-3.1.0-1]
        this._closeNow();
        return;
      }
      this._onConnect(packet);
      return;
    }
    // Acknowledgements of what the broker sent go at the broker's pace, so they are not counted.
    if (this.host.limits.maximumPacketsPerSecond > 0) {
      const type = packet.type;
      if (type !== "puback" && type !== "pubrec" && type !== "pubcomp" && !this._withinRate(this.lastActivity, 1, 0)) return;
    }
    switch (packet.type) {
      case "publish": return this._onPublish(packet);
      case "puback": return this._onPuback(packet);
      case "pubrec": return this._onPubrec(packet);
      case "pubrel": return this._onPubrel(packet);
      case "pubcomp": return this._onPubcomp(packet);
      case "subscribe": return this._onSubscribe(packet);
      case "unsubscribe": return this._onUnsubscribe(packet);
      case "pingreq": this._send({ type: "pingresp" }); return; // [MQTT-3.12.4-1]
      case "disconnect": return this._onDisconnect(packet);
      case "connect":
        // A second CONNECT is a Protocol Error [MQTT-3.1.0-2]
        return this.disconnect(ReasonCode.ProtocolError, "a second CONNECT on one connection");
      case "auth": return this._onReauthenticate(packet);
      default:
        // CONNACK, SUBACK, UNSUBACK, PINGRESP only travel server → client.
        return this.disconnect(ReasonCode.ProtocolError, `a client may not send ${packet.type.toUpperCase()}`);
    }
  }

  protected _onSubscribe(p: SubscribePacket): void {
    const result = this.host.subscribe(this, p);
    if (result === "disconnected") return;
    // A lasting session's subscriptions are committed before SUBACK.
    this._afterCommit(result.committed, () => {
      this._send({ type: "suback", packetId: p.packetId, reasonCodes: this.version === 5 ? result.reasonCodes : result.reasonCodes.map((c) => (c >= 0x80 ? 0x80 : c)) }); // [MQTT-3.8.4-1]
      // Retained messages follow the SUBACK [MQTT-3.3.1-9]
      result.afterAck();
    });
  }

  protected _onUnsubscribe(p: UnsubscribePacket): void {
    const { reasonCodes, committed } = this.host.unsubscribe(this, p.topicFilters);
    const unsuback: Packet = { type: "unsuback", packetId: p.packetId, reasonCodes }; // [MQTT-3.10.4-4]
    this._afterCommit(committed, () => this._send(unsuback));
  }

  protected _onDisconnect(p: DisconnectPacket): void {
    const session = this.session!;
    const requested = p.properties?.sessionExpiryInterval;
    if (requested !== undefined) {
      if (session.expiryInterval === 0 && requested !== 0) {
        // Zero at CONNECT cannot become non-zero at DISCONNECT [MQTT-3.14.2-2]
        return this.disconnect(ReasonCode.ProtocolError, "session expiry interval set at DISCONNECT after 0 at CONNECT");
      }
      session.expiryInterval = Math.min(requested, this.host.limits.maximumSessionExpiryInterval);
    }
    // Reason 0x04 asks for the will; any other normal DISCONNECT discards it [MQTT-3.1.2-10]
    this._normalDisconnect = p.reasonCode !== ReasonCode.DisconnectWithWillMessage;
    this._disconnectReason = p.reasonCode;
    this._closeNow();
  }
}
