import { ConnectHandshake } from "./connect-handshake.ts";
import type { QoS } from "../codec/constants.ts";
import { type Packet } from "../codec/packet.ts";
import type { AnyAckPacket } from "../codec/packets/ack.ts";
import type { PublishPacket } from "../codec/packets/publish.ts";
import { ReasonCode } from "../codec/reason-codes.ts";
import { forwardableProperties, type Message } from "../model/message.ts";
import { checkTopicLimits } from "../policy/limits.ts";
import type { HookEntry } from "../policy/publish-hook.ts";
import type { ConnectionSession } from "./host.ts";

/** PUBLISH in both directions: inbound checks, acknowledgement order, the on-publish hook's queue, and the acknowledgements of outgoing messages. */
export abstract class PublishFlow<S extends ConnectionSession = ConnectionSession> extends ConnectHandshake<S> {

  protected _onPublish(p: PublishPacket): void {
    const host = this.host;
    const props = p.properties;
    let topic = p.topic;
    if (this.version === 5 && props !== undefined) {
      if (props.subscriptionIdentifiers !== undefined) {
        // A client must not send a Subscription Identifier [MQTT-3.3.4-6]
        return this.disconnect(ReasonCode.ProtocolError, "PUBLISH from a client may not carry a subscription identifier");
      }
      const alias = props.topicAlias;
      if (alias !== undefined) {
        if (alias > host.limits.topicAliasMaximum) {
          return this.disconnect(ReasonCode.TopicAliasInvalid, `topic alias ${alias} is above the maximum ${host.limits.topicAliasMaximum}`); // [MQTT-3.3.2-12]
        }
        if (topic.length > 0) {
          (this._inboundAliases ??= new Map()).set(alias, topic);
        } else {
          const known = this._inboundAliases?.get(alias);
          if (known === undefined) return this.disconnect(ReasonCode.ProtocolError, `topic alias ${alias} has no topic yet`);
          topic = known;
        }
      }
    }
    if (p.qos > host.features.maximumQoS) {
      return this.disconnect(ReasonCode.QoSNotSupported, `QoS ${p.qos} is above the maximum QoS ${host.features.maximumQoS}`); // [MQTT-3.2.2-11]
    }
    if (p.retain && !host.features.retainAvailable) {
      return this.disconnect(ReasonCode.RetainNotSupported, "retained messages are not available"); // [MQTT-3.2.2-14]
    }
    const limitError = checkTopicLimits(topic, host.limits);
    if (limitError !== undefined) return this.disconnect(ReasonCode.TopicNameInvalid, limitError);

    if (p.qos > 0) {
      // A resend of a QoS 2 message that waits for the hook is answered by that verdict [MQTT-4.3.3-10]
      if (p.qos === 2 && this._hookedQos2?.has(p.packetId!)) return;
      if (p.qos === 2 && this.session!.inboundQos2.has(p.packetId!)) {
        // A resent QoS 2 message is acknowledged again, not delivered again, and
        // is not a new message towards the Receive Maximum [MQTT-4.3.3-10]; not
        // before the first copy is committed, though.
        const pubrec: Packet = { type: "pubrec", packetId: p.packetId!, reasonCode: 0 };
        return this._afterCommit(this._inboundCommit, () => this._send(pubrec));
      }
      // The client may not have more unacknowledged QoS > 0 PUBLISH than our Receive Maximum.
      if (this._inboundUnacked + this.session!.inboundQos2.size >= host.limits.receiveMaximum) {
        return this.disconnect(ReasonCode.ReceiveMaximumExceeded, `more than ${host.limits.receiveMaximum} unacknowledged QoS 1 and 2 messages`); // [MQTT-3.3.4-7]
      }
    }

    const now = host.now();
    const message: Message = {
      topic,
      payload: p.payload,
      qos: p.qos,
      retain: p.retain,
      properties: forwardableProperties(props, host.features.forwardUserProperties),
      expiresAt: props?.messageExpiryInterval !== undefined ? now + props.messageExpiryInterval * 1000 : undefined,
      senderId: this.client.clientId,
      receivedAt: now,
    };
    // With an on-publish hook, or while earlier messages wait for one, the message waits its turn.
    if (host.publishHook !== undefined || (this._hooked !== undefined && this._hooked.length > 0)) return this._publishThroughHook(message, p.qos, p.packetId ?? 0);
    const refused = host.admitPublish(this, message);
    if (p.qos === 0) {
      if (refused === 0) host.acceptPublish(this, message, undefined, (this._outcome ??= { reasonCode: 0, committed: undefined }));
      return;
    }
    const outcome = (this._outcome ??= { reasonCode: 0, committed: undefined });
    if (refused === 0) host.acceptPublish(this, message, p.qos === 2 ? p.packetId : undefined, outcome);
    else {
      outcome.reasonCode = refused;
      outcome.committed = undefined;
    }
    this._acknowledgeAfterCommit(p.qos, p.packetId!, outcome.reasonCode, outcome.committed);
  }

  // Acknowledges a routed (or refused) QoS 1 or 2 PUBLISH once what it changed is committed.
  protected _acknowledgeAfterCommit(qos: QoS, packetId: number, reasonCode: number, committed: Promise<unknown> | undefined): void {
    // An accepted QoS 2 id is known from now on (the broker holds it in inboundQos2), so a
    // resend before PUBREL is not routed twice [MQTT-4.3.3-8]; it counts towards the Receive
    // Maximum through inboundQos2 until PUBREL.
    const held = qos === 2 && reasonCode < 0x80;
    // The acknowledgement waits for the store to commit what the message changed: PUBACK
    // [MQTT-4.3.2-4] and PUBREC [MQTT-4.3.3-8] only once the message is durable.
    if (held) this._inboundCommit = committed;
    // Acknowledgements leave in the order the PUBLISHes came [MQTT-4.6.0-2] [MQTT-4.6.0-3], so one
    // with nothing to commit still waits behind an earlier one that waits for its commit.
    const earlier = this._pendingAck;
    if (committed === undefined && earlier === undefined) return this._acknowledge(qos, packetId, reasonCode);
    if (!held) this._inboundUnacked++;
    // Callbacks on one promise run in the order registered, so messages of one group commit
    // wait on the commit itself; only a different (or no) commit is chained behind the last.
    const wait = earlier === undefined || committed === this._pendingAckWait ? committed! : committed === undefined ? earlier : earlier.then(() => committed);
    this._pendingAckWait = wait;
    const sent = wait.then(
      () => {
        if (!held) this._inboundUnacked--;
        if (this._pendingAck === sent) this._pendingAck = this._pendingAckWait = undefined;
        this._acknowledge(qos, packetId, reasonCode);
      },
      held ? () => this._qos2Failed(packetId) : this._storeFailed(),
    );
    this._pendingAck = sent;
  }

  // A QoS 2 message that could not be made durable was not acknowledged: its id is forgotten, so that the
  // client's resend is routed again rather than taken for a copy of one that is kept (which would lose it).
  protected _qos2Failed(packetId: number): void {
    const session = this.session!;
    if (session.inboundQos2.delete(packetId) && session.expiryInterval > 0) void Promise.resolve(this.host.store.deleteInboundQos2(session.clientId, packetId)).catch(() => {});
    this._storeFailed()();
  }

  /** Whether the connection has ended (the hook pipeline skips its messages). */
  get closed(): boolean {
    return this.state === "closed";
  }

  // Queues a PUBLISH behind the ones already waiting; it goes to the hook unless refused first.
  protected _publishThroughHook(message: Message, qos: QoS, packetId: number): void {
    const host = this.host;
    const hook = host.publishHook;
    const entry: HookEntry = { message, client: this.client, owner: this, outcome: undefined };
    const hooked = (this._hooked ??= []);
    hooked.push({ entry, qos, packetId });
    // Until its verdict it counts towards our Receive Maximum [MQTT-3.3.4-7]
    if (qos > 0) this._inboundUnacked++;
    if (qos === 2) (this._hookedQos2 ??= new Set()).add(packetId);
    const refused = host.admitPublish(this, message);
    if (refused !== 0) entry.outcome = { refuse: refused };
    else if (hook === undefined) entry.outcome = { deliver: message }; // the hook was removed meanwhile
    else {
      hook.submit(entry);
      // Bounded: past either limit this client is not read until verdicts come back.
      if (hooked.length >= hook.options.maxPendingPerConnection) this._pause();
      else if (hook.full) {
        this._pause();
        hook.pausedForBroker(this);
      }
      return;
    }
    this.hookSettled();
  }

  /**
   * Routes and acknowledges, in arrival order, the messages at the head of the queue whose verdict is in:
   * PUBACKs [MQTT-4.6.0-2] and PUBRECs [MQTT-4.6.0-3] leave in the order the PUBLISHes came.
   */
  hookSettled(): void {
    const queue = this._hooked;
    if (queue === undefined) return;
    while (queue.length > 0 && queue[0]!.entry.outcome !== undefined && this.state === "connected") {
      const { entry, qos, packetId } = queue.shift()!;
      const outcome = entry.outcome!;
      if (qos > 0) this._inboundUnacked--;
      if (qos === 2) this._hookedQos2!.delete(packetId);
      const answer = (this._outcome ??= { reasonCode: 0, committed: undefined });
      if ("deliver" in outcome) this.host.acceptPublish(this, outcome.deliver, qos === 2 ? packetId : undefined, answer);
      else {
        // A refused message changes nothing in the store. 0x87 (the hook's drop) and 0x80 (its failure)
        // are PUBACK and PUBREC reason codes [MQTT-3.4.2-1]; 3.1.1 has none, so #acknowledge sends it plain.
        answer.reasonCode = outcome.refuse;
        answer.committed = undefined;
      }
      if (qos > 0) this._acknowledgeAfterCommit(qos, packetId, answer.reasonCode, answer.committed);
    }
    const hook = this.host.publishHook;
    if (this._paused && queue.length <= (hook?.options.maxPendingPerConnection ?? 0) / 2) {
      // Below its own bound: read again, unless the broker-wide bound still holds it (which resumes it later).
      if (hook?.full) hook.pausedForBroker(this);
      else this.resumeFromHook();
    }
    if (this._pumpPending) {
      this._pumpPending = false;
      this.host.pump(this);
    }
  }

  /** Reads again after a pause for the hook: the decoder's leftovers first. */
  resumeFromHook(): void {
    if (!this._paused || this.state === "closed") return;
    this._paused = false;
    this.duplex.resume?.();
    this._drainDecoder();
    if (this._hooked !== undefined && this._hooked.length > 0) this.host.publishHook?.flush();
  }

  protected _pause(): void {
    if (this._paused) return;
    this._paused = true;
    this.duplex.pause?.();
  }

  protected _onPubrel(p: AnyAckPacket): void {
    const session = this.session!;
    const known = session.inboundQos2.delete(p.packetId);
    // After PUBCOMP the client may reuse the id for a new message [MQTT-4.3.3-12], so the id
    // must be gone from the store first: else a restart would take that message for a resend.
    const committed = known && session.expiryInterval > 0 ? this.host.store.deleteInboundQos2(session.clientId, p.packetId) : undefined;
    // [MQTT-4.3.3-11] PUBCOMP with the same packet id; 0x92 if we never saw it.
    const pubcomp: Packet = { type: "pubcomp", packetId: p.packetId, reasonCode: known || this.version < 5 ? 0 : ReasonCode.PacketIdentifierNotFound };
    this._afterCommit(committed, () => this._send(pubcomp));
  }

  protected _onPuback(p: AnyAckPacket): void {
    const record = this.session!.inflight.get(p.packetId);
    if (record === undefined || record.qos !== 1) return; // an unknown id is ignored
    if (this.host.completeOutgoing(this, record)) this._pumpPending = true;
  }

  protected _onPubrec(p: AnyAckPacket): void {
    const session = this.session!;
    const record = session.inflight.get(p.packetId);
    if (record === undefined || record.qos !== 2) {
      if (this.version === 5) this._send({ type: "pubrel", packetId: p.packetId, reasonCode: ReasonCode.PacketIdentifierNotFound });
      else this._send({ type: "pubrel", packetId: p.packetId, reasonCode: 0 });
      return;
    }
    if (p.reasonCode >= 0x80) {
      // A failed PUBREC ends the exchange: no PUBREL follows (§4.3.3).
      if (this.host.completeOutgoing(this, record)) this._pumpPending = true;
      return;
    }
    record.state = "pubrel"; // [MQTT-4.3.3-4] the message is now known to the client
    // Once PUBREL is out the PUBLISH must never be sent again [MQTT-4.3.3-6], so the
    // PUBREL state is committed first (for a lasting session; others end with a crash).
    const committed = session.expiryInterval > 0 ? this.host.store.saveOutgoing(session.clientId, [record]) : undefined;
    const packetId = p.packetId;
    this._afterCommit(committed, () => {
      if (session.inflight.get(packetId) === record) this._send({ type: "pubrel", packetId, reasonCode: 0 }); // [MQTT-4.3.3-4]
    });
  }

  protected _onPubcomp(p: AnyAckPacket): void {
    const record = this.session!.inflight.get(p.packetId);
    if (record === undefined || record.state !== "pubrel") return;
    if (this.host.completeOutgoing(this, record)) this._pumpPending = true;
  }
}
