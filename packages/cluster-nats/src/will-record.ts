import type { ClientInfo, Will, WillProperties } from "@edgemq/core";

//
// A client's will as the wills bucket keeps it, so that another node can
// publish it: JSON, with the payload and the correlation data in base64 (the
// only binary parts). The client's identity travels with it, since the will
// is published as that client's PUBLISH and is authorized as one.
//

/** One will in force, recorded by the node its client is connected to. */
export interface WillRecord {
  /** The node that holds the client, and its run. */
  node: string;
  incarnation: number;
  /** `default`, or a tenant's `<broker>.<namespace>`. */
  broker: string;
  will: Will;
  client: ClientInfo;
  /** How long it waits once the connection is lost (its delay, or the session's expiry if sooner). */
  delayMs: number;
  /** When it is due, once its connection was lost (milliseconds since the epoch, the holder's clock). */
  publishAt?: number;
  /** The surviving node that took it over to publish it, its holder being gone. */
  reaper?: string;
}

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

/** The bytes of a record in the wills bucket. */
export function encodeWillRecord(r: WillRecord): Uint8Array {
  const { correlationData, ...props } = r.will.properties ?? {};
  return new TextEncoder().encode(JSON.stringify({
    ...r,
    will: { ...r.will, payload: b64(r.will.payload), properties: r.will.properties === undefined ? undefined : { ...props, correlationData: correlationData && b64(correlationData) } },
  }));
}

/** A record read back, or undefined when the bytes are not one (written by another version, say). */
export function decodeWillRecord(bytes: Uint8Array): WillRecord | undefined {
  try {
    const r = JSON.parse(new TextDecoder().decode(bytes)) as WillRecord & { will: { payload: string; properties?: WillProperties & { correlationData?: string } } };
    if (typeof r.node !== "string" || typeof r.broker !== "string" || typeof r.will?.topic !== "string" || typeof r.will.payload !== "string" || typeof r.client?.clientId !== "string") return undefined;
    const { correlationData, ...props } = r.will.properties ?? {};
    const properties: WillProperties | undefined = r.will.properties === undefined ? undefined : { ...props, ...(correlationData === undefined ? {} : { correlationData: unb64(correlationData) }) };
    return { ...r, will: { ...r.will, payload: unb64(r.will.payload), properties } };
  } catch {
    return undefined;
  }
}
