import { ReasonCode } from "../codec/reason-codes.ts";
import { isWellFormedUtf8 } from "../codec/utf8.ts";
import type { PublishOutcome } from "../connection/host.ts";
import type { Message } from "../model/message.ts";
import { type BrokerContext, retainedFits } from "./context.ts";
import type { Publisher } from "./publisher.ts";
import type { BrokerConnection } from "./session.ts";

/**
 * The inbound pipeline of a client's PUBLISH: admission ($SYS,
 * authorization, payload format), then, after the on-publish hook's verdict
 * when there is one, acceptance (retained quotas, the QoS 2 id held,
 * transforms) and routing.
 */
export class Inbound {
  readonly #ctx: BrokerContext;
  readonly #publisher: Publisher;

  constructor(ctx: BrokerContext, publisher: Publisher) {
    this.#ctx = ctx;
    this.#publisher = publisher;
  }

  /** The checks a client's PUBLISH passes before anything else sees it: 0 if it passes, else the reason code. */
  admit(conn: BrokerConnection, message: Message): number {
    const ctx = this.#ctx;
    ctx.stats.messagesReceived++;
    // Clients may not publish to $SYS; only the broker does.
    if (message.topic.startsWith("$SYS")) {
      ctx.stats.denied++;
      ctx.hooks.event("publish_denied", conn.client.clientId, conn.client.conn, ReasonCode.NotAuthorized, message.topic);
      return ReasonCode.NotAuthorized;
    }
    const verdict = ctx.hooks.authorizePublish(conn.client, message);
    if (!verdict.allowed) {
      ctx.stats.denied++;
      ctx.hooks.event("publish_denied", conn.client.clientId, conn.client.conn, verdict.reasonCode, message.topic);
      return verdict.reasonCode;
    }
    if (message.properties?.payloadFormatIndicator === 1 && !isWellFormedUtf8(message.payload)) {
      return ReasonCode.PayloadFormatInvalid; // §3.3.2.3.2
    }
    return 0;
  }

  /**
   * Accepts an admitted PUBLISH and routes it; fills in `outcome` with the
   * reason code of its acknowledgement and the commit that waits for. A QoS 2
   * `qos2PacketId` is held (and stored, for a lasting session) until PUBREL,
   * in the same commit as the copies routed to subscribers, so a resend after
   * a crash is recognised.
   */
  accept(conn: BrokerConnection, message: Message, qos2PacketId: number | undefined, outcome: PublishOutcome): void {
    const ctx = this.#ctx;
    outcome.committed = undefined;
    // What cannot be made durable now (a cluster node cut off from NATS) is refused, not acknowledged:
    // the connection turns 0x89 into what each protocol level can say (ConnectionBase._refuseUndurable).
    if (message.qos > 0 && !this.#publisher.acceptsDurable) {
      ctx.stats.unavailable++;
      outcome.reasonCode = ReasonCode.ServerBusy;
      return;
    }
    // Checked here, after the hook, which may have changed the payload's size.
    if (message.retain && message.payload.byteLength > 0 && !retainedFits(ctx, this.#publisher.sys, message)) {
      ctx.stats.quotaExceeded++;
      outcome.reasonCode = ReasonCode.QuotaExceeded; // §3.4.2.1: 0x97, an administrative limit
      return;
    }
    // Accepted from here on: a QoS 2 id is known until PUBREL, so a resend is not routed twice [MQTT-4.3.3-8]
    let inbound: Promise<unknown> | void = undefined;
    if (qos2PacketId !== undefined) {
      const session = conn.session!;
      session.inboundQos2.add(qos2PacketId);
      if (session.expiryInterval > 0) inbound = ctx.store.saveInboundQos2(session.clientId, qos2PacketId);
    }
    const client = conn.client;
    const transformed = ctx.hooks.transformPublish(client, message);
    if (transformed === null) {
      outcome.committed = inbound || undefined;
      outcome.reasonCode = ReasonCode.Success;
      return;
    }
    const matched = this.#publisher.publish(transformed, inbound, outcome);
    ctx.hooks.published(client, transformed);
    outcome.reasonCode = matched === 0 ? ReasonCode.NoMatchingSubscribers : ReasonCode.Success;
  }
}
