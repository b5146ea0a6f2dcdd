// An HTTP publish (`POST …/publish`) as a message from the server itself.
import type { z } from "@hono/zod-openapi";
import { type Broker, type Message } from "@edgemq/core";
import { isWellFormedUtf8, type PublishProperties, type UserProperty } from "@edgemq/core/codec";
import { checkTopicName, mqttString } from "./broker-data.ts";
import { ApiError, ErrorCode, invalid } from "./envelope.ts";
import { Problems } from "./issues.ts";
import type { PublishRequestSchema } from "./schemas/live-state.ts";
import { fromBase64 } from "./validate.ts";

/** A `POST .../publish` body, its shape already checked by {@link PublishRequestSchema}. */
export type PublishRequest = z.output<typeof PublishRequestSchema>;

/**
 * Turns a `POST .../publish` body, whose fields the schema has checked, into a
 * message from the server itself (no client), checking what depends on the
 * broker and on MQTT (topic rules and limits, sizes, QoS, base64, UTF-8).
 * Every refusal is collected: one 400 lists them all, each naming its field.
 */
export function parsePublish(broker: Broker, body: PublishRequest, now: number): Message {
  const problems = new Problems();
  const { topic, encoding, qos, retain } = body;
  const topicOk = problems.check(() => {
    checkTopicName(broker, topic, "topic");
    if (topic.startsWith("$")) throw invalid(`topic ${JSON.stringify(topic)} starts with "$": such topics ($SYS) belong to the server and cannot be published to`);
    return true;
  });
  const payload = problems.check(() => (encoding === "base64" ? fromBase64(body.payload, "payload") : new TextEncoder().encode(body.payload)));
  const max = broker.limits.maximumPacketSize;
  problems.check(() => {
    if (payload !== undefined && payload.byteLength > max) throw invalid(`payload is ${payload.byteLength} bytes; this broker takes messages of at most ${max} bytes`);
  });
  problems.check(() => {
    if (qos > broker.features.maximumQoS) {
      throw new ApiError(400, ErrorCode.Unsupported, `qos ${qos} is above this broker's maximum QoS ${broker.features.maximumQoS}; publish with qos ${broker.features.maximumQoS} or less`);
    }
  });
  problems.check(() => {
    if (retain && !broker.features.retainAvailable) throw new ApiError(400, ErrorCode.Unsupported, "this broker does not keep retained messages; publish with retain false");
    if (retain && topicOk && payload !== undefined && payload.byteLength > 0 && !broker.retainedFits({ topic, payload })) {
      throw new ApiError(400, ErrorCode.Limit, `this broker holds as many retained messages as its limits allow (max_retained_messages ${broker.limits.maximumRetainedMessages}, max_retained_bytes ${broker.limits.maximumRetainedBytes}); clear some, or raise the limits`);
    }
  });
  const properties = publishProperties(broker, body.properties ?? {}, payload, problems);
  problems.done();
  const expiry = body.properties?.messageExpiryInterval;
  return {
    topic, payload: payload!, qos, retain,
    properties: broker.forwardableProperties(properties),
    expiresAt: expiry !== undefined ? now + expiry * 1000 : undefined,
    senderId: "", // the server itself
    receivedAt: now,
  };
}

// The MQTT properties of an HTTP publish, each checked on its own; undefined for none.
function publishProperties(broker: Broker, p: NonNullable<PublishRequest["properties"]>, payload: Uint8Array | undefined, problems: Problems): PublishProperties | undefined {
  const out: PublishProperties = {};
  problems.check(() => {
    if (p.contentType === undefined) return;
    mqttString(p.contentType, "properties.contentType");
    out.contentType = p.contentType;
  });
  problems.check(() => {
    if (p.payloadFormatIndicator === undefined) return;
    if (p.payloadFormatIndicator === 1 && payload !== undefined && !isWellFormedUtf8(payload)) {
      throw invalid("properties.payloadFormatIndicator is 1 (UTF-8 text) but the payload is not well-formed UTF-8; send 0 for bytes");
    }
    out.payloadFormatIndicator = p.payloadFormatIndicator;
  });
  problems.check(() => {
    if (p.responseTopic === undefined) return;
    checkTopicName(broker, p.responseTopic, "properties.responseTopic");
    out.responseTopic = p.responseTopic;
  });
  problems.check(() => {
    if (p.correlationData !== undefined) out.correlationData = fromBase64(p.correlationData, "properties.correlationData");
  });
  problems.check(() => {
    if (p.userProperties === undefined) return;
    out.userProperties = p.userProperties.map(([k, v], i) => {
      mqttString(k, `properties.userProperties[${i}]`);
      mqttString(v, `properties.userProperties[${i}]`);
      return [k, v] as UserProperty;
    });
  });
  return Object.keys(out).length > 0 ? out : undefined;
}
