import type { HeldState, OutgoingRecord } from "@edgemq/core";
import type { KV } from "@nats-io/kv";
import { decodeOutgoing } from "./handover-codec.ts";
import { Qos2Marks } from "./qos2-marks.ts";
import { sessionKey } from "./owner-record.ts";

//
// The QoS 2 state of lasting sessions, kept where another node finds it
// should the node that holds them die: each outgoing QoS 2 message once it
// has a packet id (its PUBLISH may have reached the client, or its PUBREL),
// and each inbound QoS 2 packet id that waits for PUBREL. One key each in a
// KV bucket, under the session's key and the run (incarnation) that holds
// it, deleted when the exchange ends. Without it a node that resumed such a
// session would send the message again under a new packet id, or route a
// resent PUBLISH again: a QoS 2 message twice. And per session, `sent`: how
// far it was sent each origin run's QoS 2 messages (see Qos2Marks), which a
// backlog read must not send again.
//

/** The held QoS 2 bucket of the cluster under `root`: `EDGEMQ_QOS2` for `edgemq`. */
export function heldQos2BucketName(root: string): string {
  return `${root.replace(/[^A-Za-z0-9_-]/g, "_").toUpperCase()}_QOS2`;
}

/** The keys of what run `incarnation` holds for one client id of one broker: `<session key>.R<incarnation>`, then `.o<id>` or `.i<id>`. */
export function heldPrefix(broker: string, clientId: string, incarnation: number): string {
  return `${sessionKey(broker, clientId)}.R${incarnation}`;
}

/** The key of an outgoing QoS 2 record (`o`) or an inbound QoS 2 id (`i`). */
export function heldKey(prefix: string, kind: "o" | "i", packetId: number): string {
  return `${prefix}.${kind}${packetId}`;
}

/** The key of a session's QoS 2 marks (see Qos2Marks). */
export function sentKey(prefix: string): string {
  return `${prefix}.sent`;
}

/** What a gone run held for a session, read back, with the keys it was read from (to delete once taken). */
export interface ReadHeld extends HeldState {
  /** How far it was sent each origin run's messages at QoS 2: with the outgoing records' origins (resent as they are). */
  sent: Qos2Marks;
  keys: string[];
}

/**
 * Reads what run `incarnation` held for `clientId` of `broker`: its
 * outgoing QoS 2 records in the order first saved, and its inbound ids.
 * One listing of the session's keys and one read per key, only when a
 * session is resumed from a gone node.
 */
export async function readHeld(kv: KV, broker: string, clientId: string, incarnation: number, now: number): Promise<ReadHeld> {
  const prefix = heldPrefix(broker, clientId, incarnation);
  const keys: string[] = [];
  for await (const key of await kv.keys(`${prefix}.>`)) keys.push(key);
  const outgoing: { record: OutgoingRecord; order: number }[] = [];
  const inboundQos2: number[] = [];
  let sent = new Qos2Marks();
  for (const key of keys) {
    if (key === sentKey(prefix)) {
      const entry = await kv.get(key);
      if (entry !== null && entry.operation === "PUT") sent = Qos2Marks.from(safeJson(entry.string()));
      continue;
    }
    const kind = key.charAt(prefix.length + 1);
    const packetId = Number(key.slice(prefix.length + 2));
    if (!(packetId >= 1 && packetId <= 0xffff)) continue;
    if (kind === "i") {
      inboundQos2.push(packetId);
      continue;
    }
    const entry = await kv.get(key);
    if (kind !== "o" || entry === null || entry.operation !== "PUT") continue;
    try {
      outgoing.push(decodeOutgoing(entry.value, now));
    } catch {
      // Not a record this version writes: the message goes as the backlog has it.
    }
  }
  outgoing.sort((a, b) => a.order - b.order);
  const records = outgoing.map((o) => o.record);
  for (const r of records) if (r.message.origin !== undefined) sent.note(r.message.origin);
  return { outgoing: records, inboundQos2, sent, keys };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Deletes keys of a gone run, once their session is taken (a key that fails to go is only litter). */
export function dropHeld(kv: KV, keys: readonly string[]): void {
  for (const key of keys) void kv.delete(key).catch(() => {});
}
