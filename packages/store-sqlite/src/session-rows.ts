import type { Will } from "@edgemq/core/codec";
import type { ClientInfo, SessionRecord } from "@edgemq/core";
import type { RowChecksum } from "./checksum.ts";
import { plain } from "./message-columns.ts";
import { decodeSubscriptions, decodeWillProperties, encodeSubscriptions, encodeWillProperties, isQos, RowError } from "./row-codec.ts";

/** A `sessions` row as node:sqlite returns it (schema version 2). */
export interface SessionRow {
  client_id: string;
  expiry_interval: number;
  subscriptions: string;
  will_topic: string | null;
  will_payload: Uint8Array | null;
  will_qos: number | null;
  will_retain: number | null;
  will_properties: Uint8Array | null;
  disconnected_at: number | null;
  will_at: number | null;
  client: string | null;
  crc: number;
}

/** The columns of a session row after the scope, in the order `putSession` binds them. */
export type SessionColumns = [
  clientId: string, expiry: number, subscriptions: string, willTopic: string | null, willPayload: Uint8Array | null, willQos: number | null,
  willRetain: number | null, willProperties: Uint8Array | null, disconnectedAt: number | null, willAt: number | null, client: string | null, crc: number,
];

/** The checksum of a schema version 1 row (no disconnect time, will time or client), for the migration. */
export function sessionChecksumV1(
  ck: RowChecksum, scope: number, clientId: string, expiry: number, subs: string, willTopic: string | null,
  willPayload: Uint8Array | null, willQos: number | null, willRetain: number | null, willProps: Uint8Array | null,
): RowChecksum {
  return ck.begin().number(scope).text(clientId).number(expiry).text(subs).text(willTopic).bytes(willPayload).number(willQos).number(willRetain).bytes(willProps);
}

/** The checksum of a session row. */
export function sessionChecksum(ck: RowChecksum, scope: number, c: Omit<SessionRow, "crc">): number {
  return sessionChecksumV1(ck, scope, c.client_id, c.expiry_interval, c.subscriptions, c.will_topic, c.will_payload, c.will_qos, c.will_retain, c.will_properties)
    .number(c.disconnected_at).number(c.will_at).text(c.client).end();
}

/** A record's columns, checksum included. */
export function sessionColumns(ck: RowChecksum, scope: number, r: SessionRecord): SessionColumns {
  const w = r.will;
  const row: Omit<SessionRow, "crc"> = {
    client_id: r.clientId,
    expiry_interval: r.expiryInterval,
    subscriptions: encodeSubscriptions(r.subscriptions),
    will_topic: w?.topic ?? null,
    will_payload: w?.payload ?? null,
    will_qos: w?.qos ?? null,
    will_retain: w === undefined ? null : w.retain ? 1 : 0,
    will_properties: w === undefined ? null : encodeWillProperties(w.properties),
    disconnected_at: r.disconnectedAt ?? null,
    will_at: w === undefined ? null : r.willAt ?? null,
    client: r.client === undefined ? null : encodeClient(r.client),
  };
  return [
    row.client_id, row.expiry_interval, row.subscriptions, row.will_topic, row.will_payload, row.will_qos, row.will_retain, row.will_properties,
    row.disconnected_at, row.will_at, row.client, sessionChecksum(ck, scope, row),
  ];
}

/** Rebuilds a session record from its row, or throws a {@link RowError}. */
export function readSession(ck: RowChecksum, scope: number, row: SessionRow): SessionRecord {
  if (sessionChecksum(ck, scope, row) !== row.crc) throw new RowError(`the session of client ${JSON.stringify(row.client_id)} fails its checksum`);
  let will: Will | undefined;
  if (row.will_topic !== null) {
    if (row.will_payload === null || !isQos(row.will_qos) || (row.will_retain !== 0 && row.will_retain !== 1)) {
      throw new RowError(`the will of client ${JSON.stringify(row.client_id)} has an invalid field`);
    }
    will = { topic: row.will_topic, payload: plain(row.will_payload), qos: row.will_qos, retain: row.will_retain === 1 };
    const props = decodeWillProperties(row.will_properties);
    if (props !== undefined) will.properties = props;
  }
  return {
    clientId: row.client_id,
    expiryInterval: row.expiry_interval,
    subscriptions: decodeSubscriptions(row.subscriptions, row.client_id),
    will,
    willAt: row.will_at ?? undefined,
    disconnectedAt: row.disconnected_at ?? undefined,
    client: row.client === null ? undefined : decodeClient(row.client, row.client_id),
  };
}

// Who a session's client was: its user name, protocol level, how it connected and what
// authentication attached (a credential's jti and topicAcl rules), as JSON. Attributes
// that are not plain data do not survive a restart.
function encodeClient(c: ClientInfo): string {
  return JSON.stringify({ username: c.username ?? null, protocolVersion: c.protocolVersion, conn: c.conn, attributes: c.attributes });
}

function decodeClient(text: string, clientId: string): ClientInfo {
  let v: { username?: unknown; protocolVersion?: unknown; conn?: unknown; attributes?: unknown };
  try {
    v = JSON.parse(text);
  } catch {
    throw new RowError(`the client of session ${JSON.stringify(clientId)} is not valid JSON`);
  }
  const conn = v?.conn as ClientInfo["conn"] | undefined;
  if (typeof v !== "object" || v === null || (v.username !== null && typeof v.username !== "string") ||
    (v.protocolVersion !== 3 && v.protocolVersion !== 4 && v.protocolVersion !== 5) ||
    typeof conn !== "object" || conn === null || typeof conn.remoteAddress !== "string" || typeof conn.remotePort !== "number" || typeof conn.transport !== "string" ||
    typeof v.attributes !== "object" || v.attributes === null || Array.isArray(v.attributes)) {
    throw new RowError(`the client of session ${JSON.stringify(clientId)} has an invalid field`);
  }
  return { clientId, username: (v.username as string | null) ?? undefined, protocolVersion: v.protocolVersion, conn, attributes: v.attributes as Record<string, unknown> };
}
