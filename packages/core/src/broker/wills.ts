import type { Will } from "../codec/packets/connect.ts";
import type { PublishProperties } from "../codec/packets/publish.ts";
import type { ClientInfo } from "../model/client.ts";
import { forwardableProperties, type Message } from "../model/message.ts";
import type { BrokerContext } from "./context.ts";
import type { Publisher } from "./publisher.ts";

/**
 * Publishes a will as a PUBLISH by its client: it passes the same
 * authorization and transforms, without its Will Delay Interval.
 */
export function publishWill(ctx: BrokerContext, publisher: Publisher, will: Will, client: ClientInfo): void {
  const now = ctx.now();
  const props = will.properties;
  let properties: PublishProperties | undefined;
  if (props !== undefined) {
    const { willDelayInterval: _delay, ...rest } = props;
    properties = forwardableProperties(rest, ctx.features.forwardUserProperties);
  }
  const message: Message = {
    topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, properties,
    expiresAt: props?.messageExpiryInterval !== undefined ? now + props.messageExpiryInterval * 1000 : undefined,
    senderId: client.clientId, receivedAt: now,
  };
  if (message.topic.startsWith("$SYS") || !ctx.hooks.authorizePublish(client, message).allowed) {
    ctx.stats.denied++;
    return;
  }
  const transformed = ctx.hooks.transformPublish(client, message);
  if (transformed === null) return;
  publisher.publish(transformed, undefined, { committed: undefined });
  ctx.hooks.published(client, transformed);
}
