import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import type { Message, OutgoingRecord, SessionRecord, SubscriptionEntry } from "@edgemq/core";
// The commit queue and the row checksums are the store's internals, tested here on their own.
import { RowChecksum } from "../../packages/store-sqlite/src/checksum.ts";
import { CommitQueue } from "../../packages/store-sqlite/src/commit-queue.ts";
import { sessionChecksumV1 } from "../../packages/store-sqlite/src/session-rows.ts";
import {
  COMMITS_FILE, CorruptDatabaseError, DataDirectoryError, DataDirectoryLockedError, openSqliteStore, RolledBackDatabaseError, SCHEMA_VERSION, SchemaVersionError,
  SqliteStoreError, type SqliteStorage, StoreFailedError,
} from "@edgemq/store-sqlite";
import { type BrokerRecord, MemoryTenancyStore, type TenancyStore } from "@edgemq/tenancy";

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "node_modules/.bin");
const FIXTURES = join(ROOT, "packages/store-sqlite/test");

const dirs: string[] = [];
const open: SqliteStorage[] = [];

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), "edgemq-sqlite-"));
  dirs.push(d);
  return d;
}

function storage(dir: string, options: Parameters<typeof openSqliteStore>[0] = {}): SqliteStorage {
  const s = openSqliteStore({ dataDir: dir, aliveIntervalMs: 0, ...options });
  open.push(s);
  return s;
}

afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) {
    chmodSync(d, 0o700);
    rmSync(d, { recursive: true, force: true });
  }
});

const bytes = (...b: number[]) => new Uint8Array(b);

function subscription(clientId: string, topicFilter: string, opts: Partial<SubscriptionEntry> = {}): SubscriptionEntry {
  const shared = topicFilter.startsWith("$share/");
  const filter = shared ? topicFilter.slice(topicFilter.indexOf("/", 7) + 1) : topicFilter;
  return {
    clientId, topicFilter, filter, shareGroup: shared ? topicFilter.slice(7, topicFilter.indexOf("/", 7)) : undefined,
    qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionIdentifier: undefined, ...opts,
  };
}

function message(topic: string, extra: Partial<Message> = {}): Message {
  return {
    topic, payload: bytes(0, 1, 2, 254, 255), qos: 1, retain: false, properties: undefined, expiresAt: undefined,
    senderId: "publisher", receivedAt: 1_700_000_000_123, ...extra,
  };
}

const fullProperties = {
  payloadFormatIndicator: 1, messageExpiryInterval: 3600, contentType: "application/octet-stream", responseTopic: "reply/here",
  correlationData: bytes(0, 0xff, 0x10, 0), userProperties: [["a", "1"], ["a", "2"], ["ünï", "cødé"]] as [string, string][],
};

function record(m: Message, extra: Partial<OutgoingRecord> = {}): OutgoingRecord {
  return { message: m, qos: 1, retain: false, subscriptionIdentifiers: undefined, packetId: 0, state: "publish", ...extra };
}

/** Closes and reopens the storage in the same directory. */
async function reopen(s: SqliteStorage, dir: string): Promise<SqliteStorage> {
  await s.close();
  return storage(dir);
}

/** Rows in a table of a closed database. */
function count(dir: string, table: string): number {
  const db = new DatabaseSync(join(dir, "edgemq.db"));
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe("the SQLite store keeps every field", () => {
  it("a session comes back with every subscription option, every identifier and a will with all its properties", async () => {
    const dir = dataDir();
    let s = storage(dir);
    const sessions: SessionRecord[] = [
      {
        clientId: "full",
        expiryInterval: 0xffffffff,
        subscriptions: [
          subscription("full", "a/+/c", { qos: 0, noLocal: true, retainAsPublished: true, retainHandling: 2, subscriptionIdentifier: 268_435_455 }),
          subscription("full", "$share/group/x/#", { qos: 2, retainHandling: 1, subscriptionIdentifier: 1 }),
          subscription("full", "#", { qos: 1 }),
        ],
        will: { topic: "last/words", payload: bytes(9, 0, 9), qos: 2, retain: true, properties: { ...fullProperties, willDelayInterval: 30 } },
      },
      { clientId: "plain", expiryInterval: 60, subscriptions: [], will: undefined },
      {
        // Offline, with a pending will, and who its client was (what authentication attached included).
        clientId: "offline", expiryInterval: 300, subscriptions: [], disconnectedAt: 1_700_000_000_123.5, willAt: 1_700_000_030_123.5,
        will: { topic: "w", payload: bytes(2), qos: 1, retain: false, properties: { willDelayInterval: 30 } },
        client: {
          clientId: "offline", username: "üser", protocolVersion: 4, conn: { remoteAddress: "::1", remotePort: 4242, transport: "wss", serverName: "b.ns.example" },
          attributes: { jti: "01J", accessRules: { rules: [{ topics: ["a/#"], access: "publish", effect: "allow" }], defaultEffect: "deny" } },
        },
      },
      { clientId: "will-without-properties", expiryInterval: 1, subscriptions: [], will: { topic: "w", payload: bytes(), qos: 0, retain: false } },
      { clientId: "empty-properties", expiryInterval: 1, subscriptions: [], will: { topic: "w", payload: bytes(1), qos: 1, retain: false, properties: {} } },
    ];
    await Promise.all(sessions.map((r) => s.forBroker("b").saveSession(r)));
    s = await reopen(s, dir);
    expect(s.forBroker("b").loadState().sessions).toEqual(sessions);
  });

  it("saving a session again replaces it, and deleting it takes its outgoing records and inbound ids along", async () => {
    const dir = dataDir();
    let s = storage(dir);
    const store = s.forBroker("b");
    store.saveSession({ clientId: "c", expiryInterval: 10, subscriptions: [subscription("c", "x")], will: undefined });
    const replaced: SessionRecord = { clientId: "c", expiryInterval: 20, subscriptions: [subscription("c", "y", { qos: 2 })], will: undefined };
    store.saveSession(replaced);
    store.saveSession({ clientId: "gone", expiryInterval: 10, subscriptions: [], will: undefined });
    store.saveOutgoing("gone", [record(message("t"))]);
    store.saveInboundQos2("gone", 5);
    await store.deleteSession("gone");
    s = await reopen(s, dir);
    const state = s.forBroker("b").loadState();
    expect(state.sessions).toEqual([replaced]);
    expect(state.outgoing.size).toBe(0);
    expect(state.inboundQos2.size).toBe(0);
    await s.close();
    expect(count(dir, "messages")).toBe(0);
  });

  it("outgoing records come back per client in the order first saved, with packet ids, PUBREL state and every message field", async () => {
    const dir = dataDir();
    let s = storage(dir);
    const store = s.forBroker("b");
    const m1 = message("one", { properties: fullProperties, expiresAt: 1_700_000_003_600, qos: 2, retain: true });
    const m2 = message("two", { payload: new Uint8Array(100_000).map((_, i) => i * 7) });
    const m3 = message("three", { properties: {} });
    const inflight = record(m1, { qos: 2, retain: true, subscriptionIdentifiers: [1, 268_435_455] });
    const pubrel = record(m2, { qos: 2 });
    const queued = record(m3, { qos: 0 });
    const queued2 = record(m1, { qos: 1, subscriptionIdentifiers: [] });
    // First saved while queued, then given a packet id, then PUBREC moves it to PUBREL: one row throughout.
    store.saveOutgoing("c", [inflight, pubrel, queued, queued2]);
    inflight.packetId = 1;
    store.saveOutgoing("c", [inflight]);
    pubrel.packetId = 65535;
    store.saveOutgoing("c", [pubrel]);
    pubrel.state = "pubrel";
    store.saveOutgoing("c", [pubrel]);
    const other = record(m1, { packetId: 7 });
    await store.saveOutgoing("d", [other]);
    s = await reopen(s, dir);
    const state = s.forBroker("b").loadState();
    expect(state.outgoing.get("c")).toEqual([inflight, pubrel, queued, queued2]);
    expect(state.outgoing.get("d")).toEqual([other]);
    // One message fanned out to several records is one Message again.
    expect(state.outgoing.get("c")![0]!.message).toBe(state.outgoing.get("d")![0]!.message);
    expect(state.outgoing.get("c")![1]!.message.payload).toBeInstanceOf(Uint8Array);
    await s.close();
    expect(count(dir, "outgoing")).toBe(5);
    expect(count(dir, "messages")).toBe(3);
  });

  it("deleting an outgoing record removes exactly its row, even among queued records that all have packet id 0", async () => {
    const dir = dataDir();
    let s = storage(dir);
    let store = s.forBroker("b");
    const m = message("shared");
    const a = record(m), b = record(m), c = record(m), d = record(message("own"), { packetId: 9 });
    store.saveOutgoing("c", [a, b, c, d]);
    await store.deleteOutgoing("c", b);
    s = await reopen(s, dir);
    store = s.forBroker("b");
    const loaded = store.loadState().outgoing.get("c")!;
    expect(loaded).toEqual([a, c, d]);
    // The records loadState returns are the ones whose deletes and updates hit their rows.
    store.deleteOutgoing("c", loaded[0]!);
    loaded[1]!.packetId = 3;
    store.saveOutgoing("c", [loaded[1]!]);
    // A record the store never saw is deleted by client and packet id.
    await store.deleteOutgoing("c", record(message("own"), { packetId: 9 }));
    s = await reopen(s, dir);
    expect(s.forBroker("b").loadState().outgoing.get("c")).toEqual([{ ...c, packetId: 3 }]);
    await s.close();
    expect(count(dir, "outgoing")).toBe(1);
    // The shared message stays while a record points at it; the other one went with its last record.
    expect(count(dir, "messages")).toBe(1);
  });

  it("a message shared by several sessions is stored once and deleted with its last record", async () => {
    const dir = dataDir();
    const s = storage(dir);
    const store = s.forBroker("b");
    const m = message("fan/out", { payload: new Uint8Array(10_000) });
    const records = Array.from({ length: 50 }, (_, i) => [`client-${i}`, record(m)] as const);
    for (const [client, r] of records) store.saveOutgoing(client, [r]);
    await s.flush();
    for (const [client, r] of records.slice(0, 49)) store.deleteOutgoing(client, r);
    await s.close();
    expect(count(dir, "messages")).toBe(1);
    const again = storage(dir);
    const store2 = again.forBroker("b");
    const [last] = store2.loadState().outgoing.get("client-49")!;
    await store2.deleteOutgoing("client-49", last!);
    await again.close();
    expect(count(dir, "messages")).toBe(0);
  });

  it("inbound QoS 2 packet ids are kept per client until PUBREL deletes them", async () => {
    const dir = dataDir();
    let s = storage(dir);
    const store = s.forBroker("b");
    for (const id of [1, 2, 65535]) store.saveInboundQos2("a", id);
    store.saveInboundQos2("a", 2); // a resend before PUBREL is not a second id
    store.saveInboundQos2("b", 1);
    await store.deleteInboundQos2("a", 1);
    s = await reopen(s, dir);
    expect(s.forBroker("b").loadState().inboundQos2).toEqual(new Map([["a", [2, 65535]], ["b", [1]]]));
  });

  it("retained messages round-trip every field, a new one replaces the old, and an empty payload clears the topic", async () => {
    const dir = dataDir();
    let s = storage(dir);
    const store = s.forBroker("b");
    const kept = message("r/1", { retain: true, qos: 2, properties: fullProperties, expiresAt: 1_700_000_000_999.5 });
    store.saveRetained(message("r/1", { retain: true, payload: bytes(1) }));
    store.saveRetained(kept);
    store.saveRetained(message("r/2", { retain: true }));
    await store.saveRetained(message("r/2", { retain: true, payload: bytes() }));
    s = await reopen(s, dir);
    expect(s.forBroker("b").loadState().retained).toEqual([kept]);
  });

  it("brokers sharing one database each see only their own sessions, messages and retained messages", async () => {
    const dir = dataDir();
    let s = storage(dir);
    const one = s.forBroker("ns/one"), two = s.forBroker("ns/two");
    expect(s.forBroker("ns/one")).toBe(one);
    one.saveSession({ clientId: "c", expiryInterval: 1, subscriptions: [], will: undefined });
    two.saveSession({ clientId: "c", expiryInterval: 2, subscriptions: [], will: undefined });
    one.saveRetained(message("t", { retain: true }));
    one.saveOutgoing("c", [record(message("t"))]);
    two.saveInboundQos2("c", 4);
    await two.deleteSession("c"); // the other broker's client "c" is untouched
    s = await reopen(s, dir);
    expect(s.brokers()).toEqual(["ns/one", "ns/two"]);
    const a = s.forBroker("ns/one").loadState(), b = s.forBroker("ns/two").loadState();
    expect(a.sessions.map((r) => r.expiryInterval)).toEqual([1]);
    expect(a.retained).toHaveLength(1);
    expect(a.outgoing.get("c")).toHaveLength(1);
    expect(b).toEqual({ sessions: [], outgoing: new Map(), inboundQos2: new Map(), retained: [], downSince: s.previousRun!.lastAlive });
    await s.dropBroker("ns/one");
    expect(s.forBroker("ns/one").loadState()).toEqual({ sessions: [], outgoing: new Map(), inboundQos2: new Map(), retained: [], downSince: s.previousRun!.lastAlive });
  });

  it("the tenancy snapshot holds what the memory tenancy store holds after the same changes, keys included", async () => {
    const dir = dataDir();
    let s = storage(dir);
    const memory = new MemoryTenancyStore();
    const key = (kid: string) => ({ kid, privateJwk: { kty: "OKP", crv: "Ed25519", d: "secret", x: "pub", kid }, publicJwk: { kty: "OKP", crv: "Ed25519", x: "pub", kid, use: "sig" }, createdAt: 1 });
    const broker = (name: string, previous: boolean): BrokerRecord => ({
      id: `id-${name}`, name, namespace: "ns", authType: "TOKEN", expiration: name === "a" ? 3600 : null, description: "d",
      on_publish: name === "a" ? { url: "https://hook" } : null, created_on: "2025-01-01T00:00:00.000000Z", modified_on: "2025-01-02T00:00:00.000000Z",
      keys: { current: key(`k-${name}`), previous: previous ? key(`old-${name}`) : undefined },
    });
    const apply = async (t: TenancyStore) => {
      await t.putNamespace({ id: "1".repeat(32), name: "ns", description: "first", created_on: "c", modified_on: "m" });
      await t.putNamespace({ id: "2".repeat(32), name: "other", description: "", created_on: "c", modified_on: "m" });
      await t.putNamespace({ id: "1".repeat(32), name: "ns", description: "edited", created_on: "c", modified_on: "m2" });
      await t.putBroker(broker("a", true));
      await t.putBroker(broker("b", false));
      await t.putRevocations("ns", "a", [{ jti: "j1", revoked_at: "t1" }, { jti: "j2", revoked_at: "t2" }]);
      await t.putRevocations("ns", "b", [{ jti: "j3", revoked_at: "t3" }]);
      await t.deleteRevocations("ns", "a", ["j1"]);
      await t.deleteBroker("ns", "b");
      await t.deleteNamespace("other");
      await t.putApiToken({ id: "a".repeat(32), name: "admin", role: "Admin", namespaces: "*", hash: "h1", source: "generated", created_on: "c" });
      await t.putApiToken({ id: "b".repeat(32), name: "user", role: "User", namespaces: ["ns"], hash: "h2", source: "api", created_on: "c" });
      await t.deleteApiToken("a".repeat(32));
    };
    await apply(memory);
    await apply(s.tenancy);
    s = await reopen(s, dir);
    const snapshot = s.tenancy.load();
    expect(snapshot).toEqual(memory.load());
    expect(snapshot.brokers[0]!.keys.previous?.privateJwk.d).toBe("secret");
    expect(s.tenancy.durable).toBe(true);
  });
});

describe("the SQLite store's schema migrations", () => {
  it("takes a version 1 database to version 2: sessions keep their fields, are re-summed, and gain a disconnect time, a will time and a client", async () => {
    const dir = dataDir();
    let s = storage(dir);
    const sub = subscription("old", "a/#", { qos: 2, subscriptionIdentifier: 3 });
    const will = { topic: "w", payload: bytes(1, 2), qos: 1 as const, retain: true, properties: { willDelayInterval: 5 } };
    await s.forBroker("b").saveSession({ clientId: "old", expiryInterval: 77, subscriptions: [sub], will });
    await s.close();
    // Make it the file version 1 wrote: without the new columns, with version 1 checksums.
    const db = new DatabaseSync(join(dir, "edgemq.db"));
    db.exec("ALTER TABLE sessions DROP COLUMN disconnected_at; ALTER TABLE sessions DROP COLUMN will_at; ALTER TABLE sessions DROP COLUMN client");
    const ck = new RowChecksum();
    for (const r of db.prepare("SELECT * FROM sessions").all() as any[]) {
      const crc = sessionChecksumV1(ck, r.scope, r.client_id, r.expiry_interval, r.subscriptions, r.will_topic, r.will_payload, r.will_qos, r.will_retain, r.will_properties).end();
      db.prepare("UPDATE sessions SET crc = ? WHERE id = ?").run(crc, r.id);
    }
    db.exec("PRAGMA user_version = 1");
    db.close();
    s = storage(dir);
    expect(s.schema).toEqual({ from: 1, to: SCHEMA_VERSION });
    expect(s.forBroker("b").loadState().sessions).toEqual([{ clientId: "old", expiryInterval: 77, subscriptions: [sub], will, willAt: undefined, disconnectedAt: undefined, client: undefined }]);
    await s.forBroker("b").saveSession({ clientId: "old", expiryInterval: 77, subscriptions: [], will: undefined, disconnectedAt: 5 });
    s = await reopen(s, dir);
    expect(s.forBroker("b").loadState().sessions).toMatchObject([{ clientId: "old", disconnectedAt: 5 }]);
  });

  it("refuses to migrate a version 1 session row that fails its checksum", async () => {
    const dir = dataDir();
    const s = storage(dir);
    await s.forBroker("b").saveSession({ clientId: "old", expiryInterval: 77, subscriptions: [], will: undefined });
    await s.close();
    const db = new DatabaseSync(join(dir, "edgemq.db"));
    db.exec("ALTER TABLE sessions DROP COLUMN disconnected_at; ALTER TABLE sessions DROP COLUMN will_at; ALTER TABLE sessions DROP COLUMN client");
    db.exec("UPDATE sessions SET expiry_interval = 78; PRAGMA user_version = 1"); // the checksum no longer matches
    db.close();
    expect(() => storage(dir)).toThrow(CorruptDatabaseError);
    expect(() => storage(dir)).toThrow(/the session of client "old" fails its checksum/);
  });
});

describe("the SQLite store's modes and commits", () => {
  it("in fsync mode writes of one event-loop turn share one commit, and each promise resolves once it committed", async () => {
    const s = storage(dataDir(), { mode: "fsync" });
    const store = s.forBroker("b");
    await s.flush();
    const before = s.stats.commits;
    const promises = Array.from({ length: 100 }, (_, i) => store.saveOutgoing("c", [record(message(`t/${i}`))]));
    expect(promises.every((p) => p instanceof Promise)).toBe(true);
    expect(s.stats.commits).toBe(before); // nothing committed yet: the commit comes after this turn's I/O
    await Promise.all(promises);
    expect(s.stats.commits).toBe(before + 1);
    expect(store.durable).toBe(true);
  });

  it("in batched mode writes return nothing and are committed within the window", async () => {
    const dir = dataDir();
    const s = storage(dir, { mode: "batched", windowMs: 40 });
    const store = s.forBroker("b");
    await s.flush();
    const before = s.stats.commits;
    const started = Date.now();
    expect(store.saveOutgoing("c", [record(message("t"))])).toBeUndefined();
    expect(store.saveRetained(message("r", { retain: true }))).toBeUndefined();
    await new Promise((r) => setTimeout(r, 5));
    expect(s.stats.commits).toBe(before);
    while (s.stats.commits === before && Date.now() - started < 2000) await new Promise((r) => setTimeout(r, 5));
    expect(s.stats.commits).toBe(before + 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(39);
    // Tenancy changes wait for their commit in batched mode too.
    expect(s.tenancy.putApiToken({ id: "t", name: "n", role: "Viewer", namespaces: "*", hash: "h", source: "api", created_on: "c" })).toBeInstanceOf(Promise);
  });

  it("a record first saved in a transaction is inserted as it stands at the commit, and one deleted before it never reaches the file", async () => {
    const dir = dataDir();
    let s = storage(dir, { mode: "batched", windowMs: 1000 });
    const store = s.forBroker("b");
    const shared = message("t/shared");
    const acked = record(shared, { qos: 1, packetId: 7 });
    const moved = record(shared, { qos: 2 });
    const gone = record(message("t/gone"), { qos: 1 });
    store.saveOutgoing("c", [acked, moved]);
    store.saveOutgoing("d", [gone]);
    store.deleteOutgoing("c", acked); // PUBACKed within the window
    moved.packetId = 9; // sent, then past PUBREC, all before the commit
    moved.state = "pubrel";
    store.saveOutgoing("c", [moved]);
    store.saveSession({ clientId: "d", expiryInterval: 1, subscriptions: [], will: undefined });
    store.deleteSession("d"); // its held-back record goes with it
    const later = record(message("t/later"));
    store.saveOutgoing("c", [later]);
    // Read back inside the open transaction, then after a restart: the same rows.
    expect(s.forBroker("b").loadState().outgoing).toEqual(new Map([["c", [moved, later]]]));
    s = await reopen(s, dir);
    const state = s.forBroker("b").loadState();
    expect(state.outgoing.get("c")!.map((r) => [r.message.topic, r.packetId, r.state])).toEqual([["t/shared", 9, "pubrel"], ["t/later", 0, "publish"]]);
    expect(state.outgoing.has("d")).toBe(false);
    await s.close();
    expect(count(dir, "outgoing")).toBe(2);
    expect(count(dir, "messages")).toBe(2); // t/shared once, t/later; t/gone never written
  });

  it("memory mode keeps nothing on disk, says it is not durable, and still reads back what it holds", async () => {
    const s = storage("", { mode: "memory", dataDir: undefined });
    const store = s.forBroker("b");
    expect(store.durable).toBe(false);
    expect(s.tenancy.durable).toBe(false);
    expect(s.path).toBeUndefined();
    expect(store.saveSession({ clientId: "c", expiryInterval: 1, subscriptions: [], will: undefined })).toBeUndefined();
    expect(store.loadState().sessions).toHaveLength(1);
  });

  it("the durable modes refuse to start without a data directory, and unknown modes are refused", () => {
    expect(() => openSqliteStore({ mode: "fsync" })).toThrow(/give dataDir/);
    expect(() => openSqliteStore({ dataDir: dataDir(), mode: "turbo" as never })).toThrow(/unknown store mode "turbo"/);
    expect(() => openSqliteStore({ dataDir: dataDir(), mode: "batched", windowMs: 0 })).toThrow(SqliteStoreError);
  });

  it("a commit that fails (a full disk) rejects its writes, tells onError once, and refuses every later write", async () => {
    const db = new DatabaseSync(":memory:");
    db.exec("CREATE TABLE t (b BLOB)");
    const errors: Error[] = [];
    const queue = new CommitQueue(db, "fsync", 0, (e) => errors.push(e));
    const insert = (b: Uint8Array) => db.prepare("INSERT INTO t VALUES (?)").run(b);
    await queue.write(insert, bytes(1), undefined);
    // A database that may not grow stands for a full disk.
    db.exec(`PRAGMA max_page_count = ${(db.prepare("PRAGMA page_count").get() as { page_count: number }).page_count}`);
    const lost = queue.write(insert, new Uint8Array(100_000), undefined);
    await expect(lost).rejects.toBeInstanceOf(StoreFailedError);
    await expect(queue.write(insert, bytes(2), undefined)).rejects.toThrow(/accepts no more writes/);
    expect(errors).toHaveLength(1);
    expect((db.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n).toBe(1);
    db.close();
  });

  it("the previous run's last sign of life is its heartbeat, or its clean close", async () => {
    const dir = dataDir();
    let clock = 1_000_000;
    const s = storage(dir, { aliveIntervalMs: 10, now: () => clock });
    expect(s.previousRun).toBeUndefined();
    clock = 2_000_000;
    await new Promise((r) => setTimeout(r, 60)); // a few heartbeats
    clock = 3_000_000;
    await s.close();
    const again = storage(dir);
    expect(again.previousRun).toEqual({ lastAlive: 3_000_000, clean: true });
  });
});

describe("the SQLite store under SIGKILL", () => {
  const runtimes: [string, string[]][] = [
    ["node", [join(BIN, "node")]],
    ["bun", [join(BIN, "bun"), "run"]],
    // With the root deno.json: the store imports @edgemq/core by name, which Deno resolves through the workspace.
    ["deno", [join(BIN, "deno"), "run", "-A"]],
  ];
  for (const [name, cmd] of runtimes) {
    it(`on ${name}, every write whose commit resolved in fsync mode is there after the process is killed with SIGKILL`, async () => {
      const dir = dataDir();
      const target = 150 + Math.floor(Math.random() * 300);
      const child = spawn(cmd[0]!, [...cmd.slice(1), join(FIXTURES, "writer-child.ts"), dir], { stdio: ["ignore", "pipe", "pipe"] });
      const added = new Set<number>(), deleted = new Set<number>();
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      let buffer = "";
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
      child.stdout.on("data", (chunk: Buffer) => {
        buffer += chunk.toString();
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.startsWith("+")) added.add(Number(line.slice(1)));
          else if (line.startsWith("-")) deleted.add(Number(line.slice(1)));
        }
        if (added.size >= target) child.kill("SIGKILL");
      });
      const signal = await exited;
      expect(stderr).toBe("");
      expect(signal).toBe("SIGKILL");
      expect(added.size).toBeGreaterThanOrEqual(target);

      const s = storage(dir);
      expect(s.previousRun?.clean).toBe(false);
      const state = s.forBroker("kill/test").loadState();
      const present = new Map((state.outgoing.get("sub") ?? []).map((r) => [Number(r.message.topic.slice(2)), r]));
      // The child deletes the even-indexed records of each batch in the next batch; for the
      // last printed batch that delete may have committed unprinted, so those may be gone.
      const batchOf = (id: number) => Math.floor((id - 1) / 10);
      const lastBatch = Math.max(...[...added].map(batchOf));
      for (const id of added) {
        const deletable = (id - 1) % 2 === 0;
        if (deleted.has(id)) expect(present.has(id), `record ${id} was deleted`).toBe(false);
        else if (!deletable || batchOf(id) < lastBatch) expect(present.has(id), `record ${id} was acknowledged and must be there`).toBe(true);
      }
      // Order of first save is kept, and every field is intact.
      const ids = [...present.keys()];
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      for (const [id, r] of present) {
        expect(r.message.payload).toEqual(bytes(id & 0xff, (id >> 8) & 0xff, 42));
        expect(r.message.properties).toEqual({ userProperties: [["id", String(id)]] });
      }
      const retained = new Set(state.retained.map((m) => Number(m.topic.slice(2))));
      for (const id of added) if (id % 10 === 1) expect(retained.has(id)).toBe(true);
      expect(state.sessions.map((r) => r.clientId)).toEqual(["sub"]);
    });
  }
});

describe("the SQLite store refuses what it cannot trust", () => {
  async function filledDatabase(): Promise<string> {
    const dir = dataDir();
    const s = storage(dir);
    const store = s.forBroker("b");
    for (let i = 0; i < 200; i++) {
      store.saveSession({ clientId: `client-${i}`, expiryInterval: 60, subscriptions: [subscription(`client-${i}`, `t/${i}/#`)], will: undefined });
      store.saveOutgoing(`client-${i}`, [record(message(`t/${i}`, { payload: new TextEncoder().encode(`PAYLOAD-${String(i).padStart(4, "0")}-MARK`) }))]);
    }
    await s.close();
    return dir;
  }

  it("a database written by a newer schema version is refused, naming both versions", async () => {
    const dir = dataDir();
    await storage(dir).close();
    const db = new DatabaseSync(join(dir, "edgemq.db"));
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const error = (() => {
      try {
        openSqliteStore({ dataDir: dir });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(SchemaVersionError);
    expect((error as Error).message).toContain(`schema version ${SCHEMA_VERSION + 1}`);
    expect((error as Error).message).toContain(`versions up to ${SCHEMA_VERSION}`);
    // Refused without being changed, and the directory is not left locked.
    const check = new DatabaseSync(join(dir, "edgemq.db"));
    expect((check.prepare("PRAGMA user_version").get() as { user_version: number }).user_version).toBe(SCHEMA_VERSION + 1);
    check.close();
  });

  it("a file of garbage bytes is refused as a damaged database, with what to do", () => {
    const dir = dataDir();
    writeFileSync(join(dir, "edgemq.db"), new Uint8Array(8192).map(() => Math.floor(Math.random() * 256)));
    expect(() => openSqliteStore({ dataDir: dir })).toThrow(CorruptDatabaseError);
    expect(() => openSqliteStore({ dataDir: dir })).toThrow(/edgemq\.db is damaged .*move the file aside.*restore it from a backup/);
  });

  it("a garbage file that starts with the SQLite header is refused too", () => {
    const dir = dataDir();
    const junk = new Uint8Array(8192).map(() => Math.floor(Math.random() * 256));
    junk.set(new TextEncoder().encode("SQLite format 3\0"));
    writeFileSync(join(dir, "edgemq.db"), junk);
    expect(() => openSqliteStore({ dataDir: dir })).toThrow(CorruptDatabaseError);
  });

  it("a first start creates the file with its SQLite header and nothing left over; an existing empty file is refused", async () => {
    const dir = dataDir();
    const s = storage(dir);
    const path = join(dir, "edgemq.db");
    expect(readFileSync(path).subarray(0, 16).toString("latin1")).toBe("SQLite format 3\0");
    expect(existsSync(`${path}.new`)).toBe(false);
    await s.close();
    truncateSync(path, 0);
    expect(() => openSqliteStore({ dataDir: dir })).toThrow(/edgemq\.db is damaged \(it is empty \(0 bytes\).*move the file aside/);
  });

  it("a write-ahead log without its database is refused rather than replayed into a new file", () => {
    const dir = dataDir();
    writeFileSync(join(dir, "edgemq.db-wal"), new Uint8Array(4096));
    expect(() => openSqliteStore({ dataDir: dir })).toThrow(/edgemq\.db is damaged \(it is missing, but its write-ahead log/);
  });

  it("a truncated database is refused, whether cut inside a page or at a page boundary", async () => {
    for (const cut of ["inside", "boundary"] as const) {
      const dir = await filledDatabase();
      const path = join(dir, "edgemq.db");
      const size = statSync(path).size;
      const pageSize = 4096;
      expect(size % pageSize).toBe(0);
      truncateSync(path, cut === "inside" ? Math.floor(size / 2) + 100 : Math.floor(size / pageSize / 2) * pageSize);
      expect(() => openSqliteStore({ dataDir: dir }), cut).toThrow(CorruptDatabaseError);
    }
  });

  it("a flipped byte in a page's structure is refused on open by the integrity check", async () => {
    const dir = await filledDatabase();
    const path = join(dir, "edgemq.db");
    const file = readFileSync(path);
    // Page 2 onwards are b-tree pages; their first byte is the page type.
    file[4096 * 2] = 0x77;
    writeFileSync(path, file);
    expect(() => openSqliteStore({ dataDir: dir })).toThrow(CorruptDatabaseError);
  });

  it("a flipped byte inside a payload passes SQLite's checks but fails the row checksum instead of being served", async () => {
    const dir = await filledDatabase();
    const path = join(dir, "edgemq.db");
    const file = readFileSync(path);
    const at = file.indexOf("PAYLOAD-0123-MARK");
    expect(at).toBeGreaterThan(0);
    file[at + 9] = file[at + 9]! ^ 0x01; // "0123" becomes "0023": a plausible, wrong payload
    writeFileSync(path, file);
    const s = storage(dir); // SQLite finds nothing wrong with the file's structure
    expect(() => s.forBroker("b").loadState()).toThrow(CorruptDatabaseError);
    expect(() => s.forBroker("b").loadState()).toThrow(/fails its checksum/);
  });

  it("a crash image whose -wal was deleted or damaged is refused as gone back in time; the intact image opens, and deleting the counter file accepts the older data", async () => {
    const dir = dataDir();
    const s = storage(dir);
    const store = s.forBroker("b");
    for (let i = 0; i < 50; i++) {
      store.saveSession({ clientId: `client-${i}`, expiryInterval: 60, subscriptions: [subscription(`client-${i}`, `t/${i}/#`)], will: undefined });
      await s.flush();
    }
    // The files as a SIGKILL would leave them: the commits since the last checkpoint only in the -wal.
    const image = new Map(["edgemq.db", "edgemq.db-wal", COMMITS_FILE].map((f) => [f, readFileSync(join(dir, f))]));
    await s.close();
    const restore = (target: string, skip?: string) => {
      for (const [f, bytes] of image) if (f !== skip) writeFileSync(join(target, f), bytes);
    };
    const deleted = dataDir();
    restore(deleted, "edgemq.db-wal");
    const error = (() => {
      try {
        openSqliteStore({ dataDir: deleted });
      } catch (e) {
        return e as RolledBackDatabaseError;
      }
    })();
    expect(error).toBeInstanceOf(RolledBackDatabaseError);
    expect(error!.found).toBeLessThan(error!.recorded);
    expect(error!.message).toContain(`${join(deleted, "edgemq.db")}-wal was deleted or damaged`);
    expect(error!.message).toMatch(/put the -wal file back or restore a newer backup; to start on the older data as it is, delete .*edgemq\.commits/);

    const damaged = dataDir();
    restore(damaged);
    const wal = readFileSync(join(damaged, "edgemq.db-wal"));
    wal.fill(0xff, 8, 32); // the header's salts and checksum: SQLite ignores every frame
    writeFileSync(join(damaged, "edgemq.db-wal"), wal);
    expect(() => openSqliteStore({ dataDir: damaged })).toThrow(RolledBackDatabaseError);

    const intact = dataDir();
    restore(intact);
    const reopened = storage(intact);
    expect(reopened.forBroker("b").loadState().sessions).toHaveLength(50);
    await reopened.close();

    rmSync(join(deleted, COMMITS_FILE));
    const accepted = storage(deleted);
    expect(accepted.forBroker("b").loadState().sessions.length).toBeLessThan(50);
  });

  it("a second process cannot open a data directory in use, and the error names it; after it is killed the directory opens", async () => {
    const dir = dataDir();
    const child = spawn(join(BIN, "node"), [join(FIXTURES, "lock-holder-child.ts"), dir], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => child.stdout.on("data", (d: Buffer) => d.toString().includes("locked") && resolve()));
    const exited = new Promise((resolve) => child.on("exit", resolve));
    try {
      let error: unknown;
      try {
        openSqliteStore({ dataDir: dir });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DataDirectoryLockedError);
      expect((error as DataDirectoryLockedError).pid).toBe(child.pid);
      expect((error as Error).message).toContain(`process ${child.pid} (node`);
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
    // The kernel dropped the lock with the process: no stale lock to clear by hand.
    const s = storage(dir);
    expect(s.previousRun?.clean).toBe(false);
  });

  it("a second open in the same process is refused too", () => {
    const dir = dataDir();
    storage(dir);
    expect(() => openSqliteStore({ dataDir: dir })).toThrow(DataDirectoryLockedError);
  });

  it("a data directory that is missing is created; one that is a file or not writable is refused clearly", () => {
    const parent = dataDir();
    const created = storage(join(parent, "a", "b"));
    expect(created.path).toBe(join(parent, "a", "b", "edgemq.db"));
    expect(statSync(join(parent, "a", "b")).mode & 0o777).toBe(0o700);
    expect(statSync(created.path!).mode & 0o777).toBe(0o600);
    writeFileSync(join(parent, "file"), "x");
    expect(() => openSqliteStore({ dataDir: join(parent, "file") })).toThrow(DataDirectoryError);
    expect(() => openSqliteStore({ dataDir: join(parent, "file") })).toThrow(/is not a directory/);
  });

  // Root ignores permission bits, so as root the check runs in a child process as user nobody.
  const asRoot = process.getuid?.() === 0;
  const setpriv = spawnSync("setpriv", ["--version"]).status === 0;
  it.skipIf(asRoot && !setpriv)("a data directory this process may not write to is refused, saying so", () => {
    const parent = dataDir();
    const dir = join(parent, "read-only");
    mkdirSync(dir, { mode: 0o555 });
    chmodSync(parent, 0o755);
    const node = [join(BIN, "node"), join(FIXTURES, "open-child.ts"), dir];
    const r = asRoot ? spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", ...node], { encoding: "utf8" }) : spawnSync(node[0]!, node.slice(1), { encoding: "utf8" });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { name: string; message: string };
    expect(out.name).toBe("DataDirectoryError");
    expect(out.message).toContain(`${dir} is not writable by this process`);
    chmodSync(dir, 0o700);
  });

  it("a data directory that cannot be created is refused, saying why", () => {
    // Root ignores permission bits, so this one holds for every user: nothing can be created under a file.
    const parent = dataDir();
    writeFileSync(join(parent, "file"), "x");
    expect(() => openSqliteStore({ dataDir: join(parent, "file", "sub") })).toThrow(/file\/sub cannot be created/);
  });
});
