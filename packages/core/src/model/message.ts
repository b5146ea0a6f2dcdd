import type { QoS } from "../codec/constants.ts";
import type { PublishProperties } from "../codec/packets/publish.ts";

/** An application message inside the broker, independent of any connection. */
export interface Message {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  /** Properties forwarded to subscribers; never a topic alias or subscription identifiers. */
  properties: PublishProperties | undefined;
  /** When the Message Expiry Interval runs out (ms since epoch), if it has one. */
  expiresAt: number | undefined;
  /** The client id of the publisher ("" for the broker itself). */
  senderId: string;
  /** When the broker received it (ms since epoch). */
  receivedAt: number;
  /**
   * Who first routed it, where a cluster tells its messages apart (origin
   * node, run and sequence): kept with a QoS 2 message in flight, so that a
   * node that resumes the session after this one died knows it is sent already.
   */
  origin?: string;
  /**
   * Encoded PUBLISH forms shared by every subscriber that takes the same one
   * (by protocol family, QoS and retain flag); filled in on first use.
   */
  forms?: (Uint8Array | undefined)[];
}

/**
 * The properties of an incoming PUBLISH that travel with the message: never
 * its topic alias (the inbound connection's) or its Message Expiry Interval
 * (recomputed per delivery); user properties only when they are forwarded.
 */
export function forwardableProperties(props: PublishProperties | undefined, forwardUserProperties: boolean): PublishProperties | undefined {
  if (props === undefined) return undefined;
  const stripUser = props.userProperties !== undefined && !forwardUserProperties;
  if (props.topicAlias === undefined && props.messageExpiryInterval === undefined && !stripUser) return props;
  const { topicAlias: _a, messageExpiryInterval: _e, ...rest } = props;
  if (stripUser) delete rest.userProperties;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

/** A copy of a message whose payload and binary properties no longer view a socket buffer. */
export function ownCopy(m: Message): Message {
  const properties = m.properties?.correlationData ? { ...m.properties, correlationData: m.properties.correlationData.slice() } : m.properties;
  return { ...m, payload: m.payload.slice(), properties };
}
