import type { QoS } from "../codec/constants.ts";

/**
 * Which MQTT features a broker offers. The broker advertises them in CONNACK
 * and answers a client that uses a disabled one as the spec says.
 */
export interface FeaturePolicy {
  maximumQoS: QoS;
  retainAvailable: boolean;
  wildcardSubscriptionAvailable: boolean;
  sharedSubscriptionAvailable: boolean;
  subscriptionIdentifiersAvailable: boolean;
  /** Whether user properties of PUBLISH are forwarded to subscribers. */
  forwardUserProperties: boolean;
  /** Whether will messages are honoured (false: accepted and ignored). */
  willMessages: boolean;
  /** Which protocol levels may connect. */
  protocolVersions: (3 | 4 | 5)[];
  /**
   * How a disabled feature is refused. `spec` follows MQTT 5.0 (DISCONNECT 0xA2
   * for wildcards, 0x9E for shared subscriptions, §3.2.2.3.11–13); `cloudflare`
   * disconnects as Cloudflare Pub/Sub did (0x90 for wildcards, 0x9E for `$share/`).
   */
  refusal: "spec" | "cloudflare";
  /**
   * Who may connect with a client id whose session exists. `same-identity`:
   * only the identity that holds it (its user name, or the identity its
   * authentication attached; a session of an anonymous client is anyone's);
   * another gets CONNACK 0x87. `any`: anyone, as Mosquitto allows.
   */
  sessionTakeover: "same-identity" | "any";
}

/** Everything on: full MQTT 5.0 and 3.1.1. */
export const FULL_FEATURES: FeaturePolicy = {
  maximumQoS: 2,
  retainAvailable: true,
  wildcardSubscriptionAvailable: true,
  sharedSubscriptionAvailable: true,
  subscriptionIdentifiersAvailable: true,
  forwardUserProperties: true,
  willMessages: true,
  protocolVersions: [3, 4, 5],
  refusal: "spec",
  sessionTakeover: "same-identity",
};

/** Cloudflare Pub/Sub's compatibility table: MQTT 5.0, QoS 0, no retain, wildcards, shares, ids or wills. */
export const CLOUDFLARE_FEATURES: FeaturePolicy = {
  maximumQoS: 0,
  retainAvailable: false,
  wildcardSubscriptionAvailable: false,
  sharedSubscriptionAvailable: false,
  subscriptionIdentifiersAvailable: false,
  forwardUserProperties: false,
  willMessages: false,
  protocolVersions: [5],
  refusal: "cloudflare",
  sessionTakeover: "same-identity",
};
