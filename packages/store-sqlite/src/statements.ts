import type { DatabaseSync, StatementSync } from "node:sqlite";

// Every statement the store runs, prepared once when the database opens, so
// the hot path binds and steps and never parses SQL.

const MESSAGE_COLUMNS = "topic, payload, qos, retain, properties, expires_at, sender_id, received_at, crc";

/** The prepared statements, by what they do. */
export interface Statements {
  getMeta: StatementSync;
  putMeta: StatementSync;

  allScopes: StatementSync;
  insertScope: StatementSync;
  deleteScope: StatementSync;

  insertMessage: StatementSync;
  deleteMessage: StatementSync;
  messagesOfScope: StatementSync;
  messageRefs: StatementSync;
  deleteOrphanMessages: StatementSync;
  maxMessageId: StatementSync;

  insertOutgoing: StatementSync;
  updateOutgoing: StatementSync;
  deleteOutgoing: StatementSync;
  deleteOutgoingByPacketId: StatementSync;
  deleteOutgoingOfClient: StatementSync;
  deleteOutgoingOfScope: StatementSync;
  outgoingOfScope: StatementSync;
  maxOutgoingId: StatementSync;

  putSession: StatementSync;
  deleteSession: StatementSync;
  deleteSessionsOfScope: StatementSync;
  sessionsOfScope: StatementSync;

  insertInbound: StatementSync;
  deleteInbound: StatementSync;
  deleteInboundOfClient: StatementSync;
  deleteInboundOfScope: StatementSync;
  inboundOfScope: StatementSync;

  putRetained: StatementSync;
  deleteRetained: StatementSync;
  deleteRetainedOfScope: StatementSync;
  retainedOfScope: StatementSync;

  putNamespace: StatementSync;
  deleteNamespace: StatementSync;
  allNamespaces: StatementSync;
  putBroker: StatementSync;
  deleteBroker: StatementSync;
  allBrokers: StatementSync;
  putRevocation: StatementSync;
  deleteRevocation: StatementSync;
  deleteRevocationsOfBroker: StatementSync;
  allRevocations: StatementSync;
  putApiToken: StatementSync;
  deleteApiToken: StatementSync;
  allApiTokens: StatementSync;
}

/** Prepares every statement on an open, migrated database. */
export function prepareStatements(db: DatabaseSync): Statements {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    getMeta: p("SELECT value FROM meta WHERE key = ?"),
    putMeta: p("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),

    allScopes: p("SELECT id, name FROM scopes ORDER BY id"),
    insertScope: p("INSERT INTO scopes (id, name) VALUES (?, ?)"),
    deleteScope: p("DELETE FROM scopes WHERE id = ?"),

    insertMessage: p(`INSERT INTO messages (id, ${MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    deleteMessage: p("DELETE FROM messages WHERE id = ?"),
    messagesOfScope: p(`SELECT id, ${MESSAGE_COLUMNS} FROM messages WHERE id IN (SELECT message_id FROM outgoing WHERE scope = ?)`),
    messageRefs: p("SELECT message_id, count(*) AS refs FROM outgoing GROUP BY message_id"),
    deleteOrphanMessages: p("DELETE FROM messages WHERE id NOT IN (SELECT message_id FROM outgoing)"),
    maxMessageId: p("SELECT coalesce(max(id), 0) AS id FROM messages"),

    insertOutgoing: p("INSERT INTO outgoing (id, scope, client_id, message_id, qos, retain, subscription_ids, packet_id, pubrel, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
    updateOutgoing: p("UPDATE outgoing SET packet_id = ?, pubrel = ?, crc = ? WHERE id = ?"),
    deleteOutgoing: p("DELETE FROM outgoing WHERE id = ?"),
    deleteOutgoingByPacketId: p("DELETE FROM outgoing WHERE scope = ? AND client_id = ? AND packet_id = ? RETURNING message_id"),
    deleteOutgoingOfClient: p("DELETE FROM outgoing WHERE scope = ? AND client_id = ? RETURNING message_id"),
    deleteOutgoingOfScope: p("DELETE FROM outgoing WHERE scope = ? RETURNING message_id"),
    outgoingOfScope: p("SELECT id, client_id, message_id, qos, retain, subscription_ids, packet_id, pubrel, crc FROM outgoing WHERE scope = ? ORDER BY id"),
    maxOutgoingId: p("SELECT coalesce(max(id), 0) AS id FROM outgoing"),

    putSession: p(`INSERT INTO sessions (scope, client_id, expiry_interval, subscriptions, will_topic, will_payload, will_qos, will_retain, will_properties,
        disconnected_at, will_at, client, crc)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (scope, client_id) DO UPDATE SET expiry_interval = excluded.expiry_interval, subscriptions = excluded.subscriptions,
        will_topic = excluded.will_topic, will_payload = excluded.will_payload, will_qos = excluded.will_qos,
        will_retain = excluded.will_retain, will_properties = excluded.will_properties, disconnected_at = excluded.disconnected_at,
        will_at = excluded.will_at, client = excluded.client, crc = excluded.crc`),
    deleteSession: p("DELETE FROM sessions WHERE scope = ? AND client_id = ?"),
    deleteSessionsOfScope: p("DELETE FROM sessions WHERE scope = ?"),
    sessionsOfScope: p("SELECT client_id, expiry_interval, subscriptions, will_topic, will_payload, will_qos, will_retain, will_properties, disconnected_at, will_at, client, crc FROM sessions WHERE scope = ? ORDER BY id"),

    insertInbound: p("INSERT INTO inbound_qos2 (scope, client_id, packet_id, crc) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"),
    deleteInbound: p("DELETE FROM inbound_qos2 WHERE scope = ? AND client_id = ? AND packet_id = ?"),
    deleteInboundOfClient: p("DELETE FROM inbound_qos2 WHERE scope = ? AND client_id = ?"),
    deleteInboundOfScope: p("DELETE FROM inbound_qos2 WHERE scope = ?"),
    inboundOfScope: p("SELECT client_id, packet_id, crc FROM inbound_qos2 WHERE scope = ?"),

    putRetained: p(`INSERT INTO retained (scope, ${MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (scope, topic) DO UPDATE SET payload = excluded.payload, qos = excluded.qos, retain = excluded.retain,
        properties = excluded.properties, expires_at = excluded.expires_at, sender_id = excluded.sender_id,
        received_at = excluded.received_at, crc = excluded.crc`),
    deleteRetained: p("DELETE FROM retained WHERE scope = ? AND topic = ?"),
    deleteRetainedOfScope: p("DELETE FROM retained WHERE scope = ?"),
    retainedOfScope: p(`SELECT ${MESSAGE_COLUMNS} FROM retained WHERE scope = ? ORDER BY id`),

    putNamespace: p("INSERT INTO namespaces (name, record, crc) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET record = excluded.record, crc = excluded.crc"),
    deleteNamespace: p("DELETE FROM namespaces WHERE name = ?"),
    allNamespaces: p("SELECT name, record, crc FROM namespaces ORDER BY id"),
    putBroker: p("INSERT INTO brokers (namespace, name, record, crc) VALUES (?, ?, ?, ?) ON CONFLICT (namespace, name) DO UPDATE SET record = excluded.record, crc = excluded.crc"),
    deleteBroker: p("DELETE FROM brokers WHERE namespace = ? AND name = ?"),
    allBrokers: p("SELECT namespace, name, record, crc FROM brokers ORDER BY id"),
    putRevocation: p("INSERT INTO revocations (namespace, broker, jti, revoked_at, crc) VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace, broker, jti) DO UPDATE SET revoked_at = excluded.revoked_at, crc = excluded.crc"),
    deleteRevocation: p("DELETE FROM revocations WHERE namespace = ? AND broker = ? AND jti = ?"),
    deleteRevocationsOfBroker: p("DELETE FROM revocations WHERE namespace = ? AND broker = ?"),
    allRevocations: p("SELECT namespace, broker, jti, revoked_at, crc FROM revocations ORDER BY id"),
    putApiToken: p("INSERT INTO api_tokens (token_id, record, crc) VALUES (?, ?, ?) ON CONFLICT (token_id) DO UPDATE SET record = excluded.record, crc = excluded.crc"),
    deleteApiToken: p("DELETE FROM api_tokens WHERE token_id = ?"),
    allApiTokens: p("SELECT token_id, record, crc FROM api_tokens ORDER BY id"),
  };
}
