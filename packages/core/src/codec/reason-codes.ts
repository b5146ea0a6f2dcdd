/**
 * MQTT 5.0 reason codes (spec §2.4), named in the spec's own words.
 * MQTT 3.1.1 CONNACK return codes and SUBACK codes are listed separately below.
 */
export const ReasonCode = {
  Success: 0x00,
  NormalDisconnection: 0x00,
  GrantedQoS0: 0x00,
  GrantedQoS1: 0x01,
  GrantedQoS2: 0x02,
  DisconnectWithWillMessage: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  ContinueAuthentication: 0x18,
  ReAuthenticate: 0x19,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  Banned: 0x8a,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QoSNotSupported: 0x9b,
  UseAnotherServer: 0x9c,
  ServerMoved: 0x9d,
  SharedSubscriptionsNotSupported: 0x9e,
  ConnectionRateExceeded: 0x9f,
  MaximumConnectTime: 0xa0,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;

/** A reason code value as it appears on the wire. */
export type ReasonCode = number;

/** MQTT 3.1 / 3.1.1 CONNACK return codes (3.1.1 §3.2.2.3). */
export const ConnectReturnCode = {
  Accepted: 0x00,
  UnacceptableProtocolVersion: 0x01,
  IdentifierRejected: 0x02,
  ServerUnavailable: 0x03,
  BadUserNameOrPassword: 0x04,
  NotAuthorized: 0x05,
} as const;

// Which reason codes each packet may carry (spec §3.x.2.1 tables). A code outside
// its packet's table cannot be parsed as that packet, so it is a Malformed Packet.
const list = (...codes: number[]): Uint8Array => {
  const table = new Uint8Array(256);
  for (const c of codes) table[c] = 1;
  return table;
};

/** CONNACK reason codes allowed in MQTT 5.0 (§3.2.2.2). */
export const CONNACK_REASON_CODES: Uint8Array = list(
  0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c,
  0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f,
);
/** CONNACK return codes allowed in MQTT 3.1 / 3.1.1. */
export const CONNACK_RETURN_CODES_V3: Uint8Array = list(0, 1, 2, 3, 4, 5);
/** PUBACK and PUBREC reason codes (§3.4.2.1, §3.5.2.1). */
export const PUBACK_REASON_CODES: Uint8Array = list(0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99);
/** PUBREL and PUBCOMP reason codes (§3.6.2.1, §3.7.2.1). */
export const PUBREL_REASON_CODES: Uint8Array = list(0x00, 0x92);
/** SUBACK reason codes in MQTT 5.0 (§3.9.3). */
export const SUBACK_REASON_CODES: Uint8Array = list(
  0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2,
);
/** SUBACK return codes in MQTT 3.1.1 (§3.9.3): granted QoS or 0x80 failure. */
export const SUBACK_RETURN_CODES_V3: Uint8Array = list(0x00, 0x01, 0x02, 0x80);
/** UNSUBACK reason codes (§3.11.3). */
export const UNSUBACK_REASON_CODES: Uint8Array = list(0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91);
/** DISCONNECT reason codes (§3.14.2.1). */
export const DISCONNECT_REASON_CODES: Uint8Array = list(
  0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90,
  0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
  0xa0, 0xa1, 0xa2,
);
/** AUTH reason codes (§3.15.2.1). */
export const AUTH_REASON_CODES: Uint8Array = list(0x00, 0x18, 0x19);
