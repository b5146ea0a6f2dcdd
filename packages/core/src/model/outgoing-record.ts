import type { Message } from "./message.ts";

/** An outgoing message held for a session: queued, or in flight with a packet id. */
export interface OutgoingRecord {
  message: Message;
  qos: 0 | 1 | 2;
  retain: boolean;
  subscriptionIdentifiers: number[] | undefined;
  /** 0 while queued. */
  packetId: number;
  /** `publish` until PUBREC arrives; `pubrel` after (QoS 2). */
  state: "publish" | "pubrel";
  /**
   * The shared subscription that chose this session for the message, if one
   * did: when the session ends before the client acknowledged it, another
   * member of that group is given it [MQTT-4.8.2-3] (not stored: a restart forgets it).
   */
  shareGroup?: { readonly group: string; readonly filter: string };
}
