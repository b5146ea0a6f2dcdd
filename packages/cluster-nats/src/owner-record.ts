import { createHash } from "node:crypto";
import { NEVER_EXPIRES, type SessionHandover, type SessionRecord } from "@edgemq/core";
import type { KvEntry } from "@nats-io/kv";
import type { BacklogPosition } from "./message-backlog.ts";
import { encodeKeyToken } from "./tenancy-keys.ts";

//
// The sessions bucket's records: one key per broker and client id, naming the
// node that owns the session, whose it is, and its last saved record.
//

/** The record of one client id's owner in the sessions bucket. */
export interface OwnerRecord {
  node: string;
  incarnation: number;
  /** Written by taking the id over from another node (what flap damping looks at). */
  takeover: boolean;
  /** Whose session it is: a hash of the identity that claimed it ({@link identityHash}); absent for an anonymous client's, which is anyone's. */
  owner?: string;
  /** Taken over from a gone node by a survivor, without its client (which has not come back yet). */
  adopted?: boolean;
  /** When it was taken over (the claiming node's clock, ms): flap damping counts from it. */
  takenAt?: number;
  /** The session's last saved record, when it lasts beyond its connection (its will aside): another node resumes it from this when this one is gone. */
  session?: SessionRecord;
  /** Where an offline session stands in the messages stream: another node reads what it missed from there. */
  position?: BacklogPosition;
}

/** The owner an {@link OwnerRecord} names for `identity`: a SHA-256 prefix, so the bucket holds no user names. */
export function identityHash(identity: string | undefined): string | undefined {
  return identity === undefined ? undefined : createHash("sha256").update(identity).digest("hex").slice(0, 32);
}

// An escaped client id longer than this becomes its hash: a NATS subject (the key is one) must stay short.
const MAX_ID_TOKEN = 200;

/**
 * The sessions bucket's key of one client id of one broker: both tokens
 * escaped (never a `.`, `*` or `>`); a client id whose escaped form passes
 * 200 characters is `=H` and its SHA-256 (which no escaped token can be).
 */
export function sessionKey(broker: string, clientId: string): string {
  let id = encodeKeyToken(clientId);
  if (id.length > MAX_ID_TOKEN) id = `=H${createHash("sha256").update(clientId).digest("hex")}`;
  return `${encodeKeyToken(broker)}.${id}`;
}

/** The owner a sessions bucket entry names, or undefined when it was deleted (or is not edgemq's). */
export function live(entry: KvEntry): OwnerRecord | undefined {
  if (entry.operation !== "PUT") return undefined;
  try {
    const r = entry.json<OwnerRecord>();
    if ((r as Partial<Checkpoint>).checkpoint === true) return undefined; // a node's checkpoint, no owner
    return typeof r.node === "string" && typeof r.incarnation === "number" ? r : undefined;
  } catch {
    return undefined;
  }
}

/** A session to resume from its last record, unless it expired meanwhile (counted from when its connection
closed, or, for one connected when its node went, from when the record was written). */
export function fromRecord(record: SessionRecord | undefined, writtenAt: number): SessionHandover | undefined {
  if (record === undefined || typeof record.clientId !== "string" || !Array.isArray(record.subscriptions)) return undefined;
  const since = record.disconnectedAt ?? writtenAt;
  if (record.expiryInterval !== NEVER_EXPIRES && since + record.expiryInterval * 1000 <= Date.now()) return undefined;
  return { record, outgoing: [], inboundQos2: [] };
}

/**
 * The key of a node run's checkpoint for one broker: where its connected
 * lasting sessions stand in the messages stream (`=K`, which no escaped
 * client id can start with), read when one of them resumes from its record.
 */
export function checkpointKey(broker: string, node: string, incarnation: number): string {
  return `${encodeKeyToken(broker)}.=K${encodeKeyToken(node)}-${incarnation}`;
}

/** Whether a key of the sessions bucket is a checkpoint's, not a client id's. */
export function isCheckpointKey(key: string): boolean {
  return key.includes(".=K");
}

/** A node run's checkpoint, as the sessions bucket keeps it. */
export interface Checkpoint {
  checkpoint: true;
  node: string;
  incarnation: number;
  position: BacklogPosition;
}
