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
   * Encoded PUBLISH forms shared by every subscriber that takes the same one
   * (by protocol family, QoS and retain flag); filled in on first use.
   */
  forms?: (Uint8Array | undefined)[];
}
