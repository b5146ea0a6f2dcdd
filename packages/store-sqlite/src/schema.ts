import type { DatabaseSync } from "node:sqlite";
import { RowChecksum } from "./checksum.ts";
import { CorruptDatabaseError, SchemaVersionError } from "./errors.ts";
import { sessionChecksum, sessionChecksumV1, type SessionRow } from "./session-rows.ts";

//
// The schema, as a list of migrations: MIGRATIONS[i] takes a database from
// version i to i + 1, and PRAGMA user_version records where a file stands. A
// new version appends a migration and never edits an old one. Every row has a
// `crc` column (see checksum.ts) so that a damaged row is refused, not served.
//
// Keys, and why:
// - scopes: one row per broker sharing the file (`forBroker(name)`); other
//   tables carry its small integer id rather than the name.
// - outgoing.id is assigned by the store when a record is first saved, so it
//   is the order records were accepted (queue order, in-flight ones first as
//   they left the queue first). The store maps each OutgoingRecord object to
//   its id, so a second save (packet id assigned, or PUBREL state) updates the
//   row and deleteOutgoing deletes exactly it; packet ids are not unique over
//   time (queued records all have 0) and so are not the key.
// - messages are shared: one row per Message fanned out to many sessions,
//   counted by the outgoing rows that point at it and deleted with the last.
// - times (expires_at, received_at, disconnected_at, will_at) are REAL: they
//   are JavaScript numbers of milliseconds, and a REAL keeps any of them
//   exactly, fractions included.
//
// A migration is SQL, or a function for what SQL cannot do (recompute checksums).
type Migration = string | ((db: DatabaseSync, path: string) => void);

const MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY) STRICT;
  CREATE TABLE scopes (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE) STRICT;
  CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    scope INTEGER NOT NULL,
    client_id TEXT NOT NULL,
    expiry_interval INTEGER NOT NULL,
    subscriptions TEXT NOT NULL,
    will_topic TEXT,
    will_payload BLOB,
    will_qos INTEGER,
    will_retain INTEGER,
    will_properties BLOB,
    crc INTEGER NOT NULL,
    UNIQUE (scope, client_id)
  ) STRICT;
  CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    properties BLOB,
    expires_at REAL,
    sender_id TEXT NOT NULL,
    received_at REAL NOT NULL,
    crc INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE outgoing (
    id INTEGER PRIMARY KEY,
    scope INTEGER NOT NULL,
    client_id TEXT NOT NULL,
    message_id INTEGER NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    subscription_ids TEXT,
    packet_id INTEGER NOT NULL,
    pubrel INTEGER NOT NULL,
    crc INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX outgoing_by_client ON outgoing (scope, client_id, packet_id);
  CREATE TABLE inbound_qos2 (
    scope INTEGER NOT NULL,
    client_id TEXT NOT NULL,
    packet_id INTEGER NOT NULL,
    crc INTEGER NOT NULL,
    PRIMARY KEY (scope, client_id, packet_id)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE retained (
    id INTEGER PRIMARY KEY,
    scope INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    properties BLOB,
    expires_at REAL,
    sender_id TEXT NOT NULL,
    received_at REAL NOT NULL,
    crc INTEGER NOT NULL,
    UNIQUE (scope, topic)
  ) STRICT;
  CREATE TABLE namespaces (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, record TEXT NOT NULL, crc INTEGER NOT NULL) STRICT;
  CREATE TABLE brokers (
    id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL, record TEXT NOT NULL, crc INTEGER NOT NULL,
    UNIQUE (namespace, name)
  ) STRICT;
  CREATE TABLE revocations (
    id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, broker TEXT NOT NULL, jti TEXT NOT NULL, revoked_at TEXT NOT NULL, crc INTEGER NOT NULL,
    UNIQUE (namespace, broker, jti)
  ) STRICT;
  CREATE TABLE api_tokens (id INTEGER PRIMARY KEY, token_id TEXT NOT NULL UNIQUE, record TEXT NOT NULL, crc INTEGER NOT NULL) STRICT;
  `,
  // 2: what a restart needs to count downtime and to publish wills: when the session's
  // connection closed, when its pending will is due, and who its client was (JSON).
  (db, path) => {
    db.exec(`
      ALTER TABLE sessions ADD COLUMN disconnected_at REAL;
      ALTER TABLE sessions ADD COLUMN will_at REAL;
      ALTER TABLE sessions ADD COLUMN client TEXT;
    `);
    // The checksum now covers the new columns: each row is checked as version 1 wrote it, then re-summed.
    const ck = new RowChecksum();
    const update = db.prepare("UPDATE sessions SET crc = ? WHERE id = ?");
    const rows = db.prepare("SELECT id, scope, client_id, expiry_interval, subscriptions, will_topic, will_payload, will_qos, will_retain, will_properties, disconnected_at, will_at, client, crc FROM sessions").all() as unknown as (SessionRow & { id: number; scope: number })[];
    for (const r of rows) {
      const old = sessionChecksumV1(ck, r.scope, r.client_id, r.expiry_interval, r.subscriptions, r.will_topic, r.will_payload, r.will_qos, r.will_retain, r.will_properties).end();
      if (old !== r.crc) throw new CorruptDatabaseError(path, `the session of client ${JSON.stringify(r.client_id)} fails its checksum`);
      update.run(sessionChecksum(ck, r.scope, r), r.id);
    }
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The schema version recorded in a database. */
export function schemaVersion(db: DatabaseSync): number {
  return Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version);
}

/**
 * Brings a database to {@link SCHEMA_VERSION}, one migration per transaction;
 * refuses a database from a newer version rather than guess at its tables.
 */
export function migrate(db: DatabaseSync, path: string): { from: number; to: number } {
  const from = schemaVersion(db);
  if (from > SCHEMA_VERSION) throw new SchemaVersionError(path, from, SCHEMA_VERSION);
  for (let v = from; v < SCHEMA_VERSION; v++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      const m = MIGRATIONS[v]!;
      if (typeof m === "string") db.exec(m);
      else m(db, path);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec("COMMIT");
    } catch (e) {
      db.exec("ROLLBACK");
      throw e;
    }
  }
  return { from, to: SCHEMA_VERSION };
}
