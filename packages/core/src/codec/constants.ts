/** MQTT control packet type numbers (spec §2.1.2), by the spec's names. */
export const PacketType = {
  Connect: 1,
  Connack: 2,
  Publish: 3,
  Puback: 4,
  Pubrec: 5,
  Pubrel: 6,
  Pubcomp: 7,
  Subscribe: 8,
  Suback: 9,
  Unsubscribe: 10,
  Unsuback: 11,
  Pingreq: 12,
  Pingresp: 13,
  Disconnect: 14,
  Auth: 15,
} as const;

/** Protocol levels: 3 is MQTT 3.1 (`MQIsdp`), 4 is 3.1.1, 5 is 5.0. */
export type ProtocolVersion = 3 | 4 | 5;

/** A Session Expiry Interval that never ends (§3.1.2.11.2). */
export const NEVER_EXPIRES = 0xffffffff;

/** Quality of service levels. */
export type QoS = 0 | 1 | 2;

/** The largest remaining length a 4-byte variable byte integer can hold (268,435,455). */
export const MAX_REMAINING_LENGTH = 268_435_455;

/** The largest packet the spec allows: 1 byte type, 4 bytes length, 268,435,455 body. */
export const MAX_PACKET_SIZE = 268_435_460;
