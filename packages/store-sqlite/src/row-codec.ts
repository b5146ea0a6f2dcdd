// How the parts of a record that are not plain columns are kept: properties
// in MQTT's own binary property encoding (compact, and binary values such as
// correlationData round-trip byte for byte), subscriptions and subscription
// identifiers as small JSON arrays (no payload bytes ever go through JSON).
import {
  type Properties, propertiesLength, type PublishProperties, type QoS, Reader, readProperties, varintLength, WILL,
  type WillProperties, writeProperties, Writer,
} from "@edgemq/core/codec";
import type { SubscriptionEntry } from "@edgemq/core";

/** The property-table bit of PUBLISH (packet type 3). */
const PUBLISH_BIT = 3;
/** The property-table bit of will properties. */
const WILL_BIT = Math.log2(WILL);

/** A stored value that does not decode: the row is damaged. */
export class RowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RowError";
  }
}

function encode(props: Properties | undefined, bit: number): Uint8Array | null {
  if (props === undefined) return null;
  const length = propertiesLength(props, bit);
  const w = new Writer(varintLength(length) + length);
  writeProperties(w, props, bit, length);
  return w.buf;
}

function decode(blob: Uint8Array | null, bit: number, what: string): Properties | undefined {
  if (blob === null) return undefined;
  // An empty block stands for `{}`: the record had properties, none of them set.
  if (blob.length === 1 && blob[0] === 0) return {};
  try {
    const r = new Reader(blob, 0, blob.length);
    const props = readProperties(r, bit);
    if (r.pos !== blob.length) throw new Error("bytes after the property block");
    return props ?? {};
  } catch (e) {
    throw new RowError(`${what} do not decode: ${(e as Error).message}`);
  }
}

/** Encodes a message's PUBLISH properties, or null for none. */
export function encodePublishProperties(props: PublishProperties | undefined): Uint8Array | null {
  return encode(props, PUBLISH_BIT);
}

/** Decodes what {@link encodePublishProperties} made. */
export function decodePublishProperties(blob: Uint8Array | null): PublishProperties | undefined {
  return decode(blob, PUBLISH_BIT, "message properties") as PublishProperties | undefined;
}

/** Encodes a will's properties (Will Delay Interval included), or null for none. */
export function encodeWillProperties(props: WillProperties | undefined): Uint8Array | null {
  return encode(props, WILL_BIT);
}

/** Decodes what {@link encodeWillProperties} made. */
export function decodeWillProperties(blob: Uint8Array | null): WillProperties | undefined {
  return decode(blob, WILL_BIT, "will properties") as WillProperties | undefined;
}

type StoredSubscription = [topicFilter: string, filter: string, shareGroup: string | null, qos: number, noLocal: 0 | 1, retainAsPublished: 0 | 1, retainHandling: number, subscriptionIdentifier: number | null];

/** Encodes a session's subscriptions as a compact JSON array of arrays. */
export function encodeSubscriptions(subs: SubscriptionEntry[]): string {
  const rows: StoredSubscription[] = subs.map((s) => [
    s.topicFilter, s.filter, s.shareGroup ?? null, s.qos, s.noLocal ? 1 : 0, s.retainAsPublished ? 1 : 0, s.retainHandling, s.subscriptionIdentifier ?? null,
  ]);
  return JSON.stringify(rows);
}

/** Decodes what {@link encodeSubscriptions} made, for the session's client. */
export function decodeSubscriptions(text: string, clientId: string): SubscriptionEntry[] {
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch {
    throw new RowError("the subscriptions are not valid JSON");
  }
  if (!Array.isArray(rows)) throw new RowError("the subscriptions are not a list");
  return rows.map((row: unknown): SubscriptionEntry => {
    if (!Array.isArray(row) || row.length !== 8) throw new RowError("a subscription has the wrong shape");
    const [topicFilter, filter, shareGroup, qos, noLocal, rap, rh, id] = row as unknown[];
    if (typeof topicFilter !== "string" || typeof filter !== "string" || (shareGroup !== null && typeof shareGroup !== "string") ||
      !isQos(qos) || (noLocal !== 0 && noLocal !== 1) || (rap !== 0 && rap !== 1) || (rh !== 0 && rh !== 1 && rh !== 2) ||
      (id !== null && (typeof id !== "number" || !Number.isInteger(id) || id < 1))) {
      throw new RowError(`the subscription to ${String(topicFilter)} has an invalid field`);
    }
    return {
      clientId, topicFilter, filter, shareGroup: shareGroup ?? undefined, qos, noLocal: noLocal === 1,
      retainAsPublished: rap === 1, retainHandling: rh, subscriptionIdentifier: id ?? undefined,
    };
  });
}

/** Encodes an outgoing record's subscription identifiers, or null for none. */
export function encodeIds(ids: number[] | undefined): string | null {
  return ids === undefined ? null : JSON.stringify(ids);
}

/** Decodes what {@link encodeIds} made. */
export function decodeIds(text: string | null): number[] | undefined {
  if (text === null) return undefined;
  let ids: unknown;
  try {
    ids = JSON.parse(text);
  } catch {
    throw new RowError("the subscription identifiers are not valid JSON");
  }
  if (!Array.isArray(ids) || !ids.every((n) => typeof n === "number" && Number.isInteger(n))) throw new RowError("the subscription identifiers are not a list of integers");
  return ids as number[];
}

/** Whether a stored value is a QoS. */
export function isQos(v: unknown): v is QoS {
  return v === 0 || v === 1 || v === 2;
}
