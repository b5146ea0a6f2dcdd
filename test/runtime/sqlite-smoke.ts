// Opens the node:sqlite store on whatever runtime runs this file, writes one of
// each record, closes, reopens and reads it all back; prints a JSON line.
// Run with `node`, `bun` or `deno run -A`: the same code must work on all three.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Message, OutgoingRecord } from "@edgemq/core";
import { DataDirectoryLockedError, openSqliteStore } from "@edgemq/store-sqlite";

const dataDir = mkdtempSync(join(tmpdir(), "edgemq-smoke-"));
const runtime = (globalThis as { Bun?: unknown }).Bun ? "bun" : (globalThis as { Deno?: unknown }).Deno ? "deno" : "node";
try {
  const storage = openSqliteStore({ dataDir, mode: "fsync" });
  const store = storage.forBroker("default/default");
  const message: Message = {
    topic: "a/b", payload: new Uint8Array([0, 1, 255]), qos: 2, retain: true,
    properties: { correlationData: new Uint8Array([7, 0, 7]), userProperties: [["k", "v"]], messageExpiryInterval: 60 },
    expiresAt: 1_000_060_000, senderId: "pub", receivedAt: 1_000_000_000,
  };
  const record: OutgoingRecord = { message, qos: 2, retain: false, subscriptionIdentifiers: [3], packetId: 0, state: "publish" };
  const committed = [
    store.saveSession({ clientId: "sub", expiryInterval: 300, subscriptions: [], will: { topic: "w", payload: new Uint8Array([1]), qos: 1, retain: false, properties: { willDelayInterval: 5 } } }),
    store.saveOutgoing("sub", [record]),
    store.saveInboundQos2("pub", 9),
    store.saveRetained(message),
    storage.tenancy.putApiToken({ id: "t", name: "n", role: "Admin", namespaces: "*", hash: "h", source: "api", created_on: "now" }),
  ];
  await Promise.all(committed);
  record.packetId = 4;
  record.state = "pubrel";
  await store.saveOutgoing("sub", [record]);
  let lockRefused = false;
  try {
    openSqliteStore({ dataDir, mode: "fsync" }).close();
  } catch (e) {
    lockRefused = e instanceof DataDirectoryLockedError;
  }
  await storage.close();

  const again = openSqliteStore({ dataDir, mode: "fsync" });
  const state = again.forBroker("default/default").loadState();
  const out = state.outgoing.get("sub")?.[0];
  const result = {
    runtime,
    sessions: state.sessions.length,
    will: state.sessions[0]?.will?.properties?.willDelayInterval,
    outgoing: out && { packetId: out.packetId, state: out.state, payload: [...out.message.payload], correlationData: [...(out.message.properties?.correlationData ?? [])] },
    inbound: state.inboundQos2.get("pub"),
    retained: state.retained.map((m) => m.topic),
    tokens: again.tenancy.load().apiTokens.length,
    previousRunClean: again.previousRun?.clean,
    lockRefused,
    commits: storage.stats.commits,
  };
  await again.close();
  console.log(JSON.stringify(result));
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
