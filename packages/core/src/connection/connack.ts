import type { ConnackProperties } from "../codec/packets/connack.ts";
import { ConnectReturnCode, ReasonCode } from "../codec/reason-codes.ts";
import type { FeaturePolicy } from "../policy/features.ts";
import type { Limits } from "../policy/limits.ts";

/**
 * The CONNACK properties that tell a 5.0 client what this broker supports;
 * a property whose value is the spec's default is left out.
 */
export function connackProperties(
  f: FeaturePolicy,
  l: Limits,
  extra: { assignedClientIdentifier?: string; serverKeepAlive?: number; sessionExpiryInterval?: number; authenticationMethod?: string; authenticationData?: Uint8Array },
): ConnackProperties {
  const props: ConnackProperties = {
    receiveMaximum: l.receiveMaximum, // [MQTT-3.2.2-9] absent would mean 65,535
    maximumPacketSize: l.maximumPacketSize,
    topicAliasMaximum: l.topicAliasMaximum,
  };
  if (f.maximumQoS < 2) props.maximumQoS = f.maximumQoS; // [MQTT-3.2.2-9]
  if (!f.retainAvailable) props.retainAvailable = false;
  if (!f.wildcardSubscriptionAvailable) props.wildcardSubscriptionAvailable = false;
  if (!f.subscriptionIdentifiersAvailable) props.subscriptionIdentifiersAvailable = false;
  if (!f.sharedSubscriptionAvailable) props.sharedSubscriptionAvailable = false;
  if (extra.assignedClientIdentifier !== undefined) props.assignedClientIdentifier = extra.assignedClientIdentifier; // [MQTT-3.2.2-16]
  if (extra.serverKeepAlive !== undefined) props.serverKeepAlive = extra.serverKeepAlive;
  if (extra.sessionExpiryInterval !== undefined) props.sessionExpiryInterval = extra.sessionExpiryInterval;
  if (extra.authenticationMethod !== undefined) props.authenticationMethod = extra.authenticationMethod;
  if (extra.authenticationData !== undefined) props.authenticationData = extra.authenticationData;
  return props;
}

/** Maps a 5.0 CONNACK reason code to the nearest 3.1.1 return code. */
export function toV3ReturnCode(reasonCode: number): number {
  switch (reasonCode) {
    case ReasonCode.Success: return ConnectReturnCode.Accepted;
    case ReasonCode.UnsupportedProtocolVersion: return ConnectReturnCode.UnacceptableProtocolVersion;
    case ReasonCode.ClientIdentifierNotValid: return ConnectReturnCode.IdentifierRejected;
    case ReasonCode.BadUserNameOrPassword: return ConnectReturnCode.BadUserNameOrPassword;
    case ReasonCode.ServerUnavailable:
    case ReasonCode.ServerBusy:
    case ReasonCode.QuotaExceeded:
    case ReasonCode.ServerShuttingDown:
      return ConnectReturnCode.ServerUnavailable;
    default: return ConnectReturnCode.NotAuthorized;
  }
}
