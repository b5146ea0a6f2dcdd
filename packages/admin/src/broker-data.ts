import {
  type Broker, type ClientSnapshot, NEVER_EXPIRES, type RetainedSnapshot, type SessionSnapshot, type SubscriptionEntry,
} from "@edgemq/core";
import { MqttError, type UserProperty, utf8Length, validateTopicFilter, validateTopicName } from "@edgemq/core/codec";
import { JTI_ATTRIBUTE } from "@edgemq/credentials";
import { timestamp } from "@edgemq/tenancy";
import { invalid } from "./envelope.ts";
import { toBase64 } from "./validate.ts";

/** The protocol names the API shows for MQTT protocol levels 3, 4 and 5. */
export const PROTOCOL_NAMES = { 3: "3.1", 4: "3.1.1", 5: "5.0" } as const;

/** Longest topic name (UTF-8 bytes), as an MQTT string can hold. */
export const MAX_TOPIC_BYTES = 65535;

const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A connected client as `GET .../clients` lists it. */
export function clientJson(c: ClientSnapshot) {
  const jti = c.attributes[JTI_ATTRIBUTE];
  return {
    client_id: c.clientId,
    username: c.username ?? null,
    protocol_version: PROTOCOL_NAMES[c.protocolVersion],
    transport: c.conn.transport,
    remote_address: c.conn.remoteAddress,
    remote_port: c.conn.remotePort,
    server_name: c.conn.serverName ?? null,
    connected_at: timestamp(c.connectedAt),
    keep_alive: c.keepAlive,
    clean_start: c.cleanStart,
    session_expiry_interval: c.sessionExpiryInterval,
    jti: typeof jti === "string" ? jti : null,
    credential_expires_at: c.credentialExpiresAt !== undefined ? timestamp(c.credentialExpiresAt) : null,
    subscriptions: c.subscriptions,
    inflight: c.inflight,
    queued: c.queued,
    queued_bytes: c.queuedBytes,
  };
}

/** A session as `GET .../sessions` lists it. */
export function sessionJson(s: SessionSnapshot, topicFilters: string[]) {
  return {
    client_id: s.clientId,
    connected: s.connected,
    expiry_interval: s.expiryInterval,
    never_expires: s.expiryInterval === NEVER_EXPIRES,
    expires_at: s.expiresAt !== undefined ? timestamp(s.expiresAt) : null,
    subscriptions: s.subscriptions,
    topic_filters: topicFilters,
    inflight: s.inflight,
    queued: s.queued,
    queued_bytes: s.queuedBytes,
    will_pending: s.willPending,
  };
}

/** A subscription as `GET .../subscriptions` lists it. */
export function subscriptionJson(e: SubscriptionEntry) {
  return {
    client_id: e.clientId,
    topic_filter: e.topicFilter,
    filter: e.filter,
    share_group: e.shareGroup ?? null,
    qos: e.qos,
    no_local: e.noLocal,
    retain_as_published: e.retainAsPublished,
    retain_handling: e.retainHandling,
    subscription_identifier: e.subscriptionIdentifier ?? null,
  };
}

/** MQTT properties of a message, as the API shows and takes them (binary as base64). */
export interface PropertiesJson {
  contentType?: string;
  payloadFormatIndicator?: number;
  messageExpiryInterval?: number;
  responseTopic?: string;
  correlationData?: string;
  userProperties?: UserProperty[];
}

/** A retained message as `GET .../retained` lists it; `messageExpiryInterval` is the time left. */
export function retainedJson(m: RetainedSnapshot, now: number) {
  let payload_utf8: string | null = null;
  try {
    payload_utf8 = textDecoder.decode(m.payload);
  } catch {
    // not UTF-8 text: base64 only
  }
  const p = m.properties ?? {};
  const properties: PropertiesJson = {};
  if (p.contentType !== undefined) properties.contentType = p.contentType;
  if (p.payloadFormatIndicator !== undefined) properties.payloadFormatIndicator = p.payloadFormatIndicator;
  if (m.expiresAt !== undefined) properties.messageExpiryInterval = Math.max(0, Math.ceil((m.expiresAt - now) / 1000));
  if (p.responseTopic !== undefined) properties.responseTopic = p.responseTopic;
  if (p.correlationData !== undefined) properties.correlationData = toBase64(p.correlationData);
  if (p.userProperties !== undefined) properties.userProperties = p.userProperties.map(([k, v]) => [k, v]);
  return {
    topic: m.topic,
    payload: toBase64(m.payload),
    payload_utf8,
    qos: m.qos,
    properties,
    stored_at: timestamp(m.storedAt),
    expires_at: m.expiresAt !== undefined ? timestamp(m.expiresAt) : null,
  };
}

// ------------------------------------------------------------ topics

/** A string's UTF-8 length; a 400 naming it if MQTT cannot carry it (U+0000, a lone surrogate). */
export function mqttString(value: string, name: string): number {
  try {
    return utf8Length(value);
  } catch (e) {
    if (e instanceof MqttError) throw invalid(`${name} cannot be sent over MQTT: it contains U+0000 or a lone surrogate`);
    throw e;
  }
}

/** Checks a topic name a message is published to: MQTT's rules, the broker's limits, and no `$` topics. */
export function checkTopicName(broker: Broker, topic: string, name: string): void {
  try {
    validateTopicName(topic);
  } catch (e) {
    if (!(e instanceof MqttError)) throw e;
    throw invalid(topic === ""
      ? `${name} must not be empty; give a topic name such as "sensors/room-1"`
      : `${name} ${JSON.stringify(topic)} contains a wildcard (+ or #); publish to a topic name, not a filter`);
  }
  const bytes = mqttString(topic, name);
  if (bytes > MAX_TOPIC_BYTES) throw invalid(`${name} is ${bytes} bytes of UTF-8; at most ${MAX_TOPIC_BYTES}`);
  const limit = broker.checkTopic(topic);
  if (limit !== undefined) throw invalid(`${name} breaks this broker's limits: ${limit}`);
}

/**
 * Checks a topic filter given in a query (`#`, `a/+/c`, or an exact topic):
 * MQTT's rules, without `$share/`, which names subscribers rather than topics.
 */
export function checkQueryFilter(filter: string, name: string): string {
  if (filter.startsWith("$share/")) throw invalid(`${name} ${JSON.stringify(filter)} is a shared subscription filter; give the topic filter without "$share/<group>/"`);
  try {
    validateTopicFilter(filter);
  } catch (e) {
    if (!(e instanceof MqttError)) throw e;
    throw invalid(`${name} ${JSON.stringify(filter)} is not a valid topic filter: ${filter === "" ? "it is empty" : "+ must fill a whole level and # must be the whole last level"} (for example "sensors/+/temperature" or "sensors/#")`);
  }
  mqttString(filter, name);
  return filter;
}

/** Checks a topic name given in a query (no wildcards). */
export function checkQueryTopic(topic: string, name: string, instead: string): string {
  if (topic === "") throw invalid(`${name} must not be empty`);
  if (topic.includes("+") || topic.includes("#")) throw invalid(`${name} ${JSON.stringify(topic)} must be a topic name without wildcards; ${instead}`);
  mqttString(topic, name);
  return topic;
}

/** Compares strings by code unit (a stable order for pagination). */
export function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
