// `node bench/store.ts` (or bun, or `deno run -A`): the SQLite store's cost.
//
// 1. QoS 1 flow throughput: pairs of saveOutgoing (the message accepted for a
//    session; in fsync mode PUBACK waits for it) and deleteOutgoing (the
//    subscriber's PUBACK), in fsync, batched and memory modes. `per turn` is how
//    many publishes one event-loop turn brings (a socket chunk holds many);
//    each turn saves that many records and deletes the previous turn's, then
//    waits for its commit (fsync) or the next turn (the others).
// 2. The integrity check on open over a database of 10,000 sessions with
//    subscriptions and wills and 10,000 queued messages, full and quick.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate } from "node:timers";
import type { Message, OutgoingRecord } from "@edgemq/core";
import { type DurabilityMode, openSqliteStore } from "@edgemq/store-sqlite";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const runtime = (globalThis as { Bun?: unknown }).Bun ? "bun" : (globalThis as { Deno?: unknown }).Deno ? "deno" : "node";
const payload = new Uint8Array(100).fill(0x61);
const properties = { contentType: "application/json", userProperties: [["trace", "abc123"]] as [string, string][] };

async function flow(mode: DurabilityMode, perTurn: number, windowMs = 10): Promise<{ pairs: number; commits: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), "edgemq-bench-"));
  const storage = openSqliteStore({ dataDir: mode === "memory" ? undefined : dataDir, mode, windowMs, aliveIntervalMs: 0 });
  const store = storage.forBroker("bench");
  const commitsBefore = storage.stats.commits;
  let previous: OutgoingRecord[] = [];
  let pairs = 0;
  let n = 0;
  const end = performance.now() + SECONDS * 1000;
  const started = performance.now();
  while (performance.now() < end) {
    const records: OutgoingRecord[] = [];
    let commit: unknown;
    for (let i = 0; i < perTurn; i++) {
      const message: Message = { topic: `bench/${n++ % 1000}`, payload, qos: 1, retain: false, properties, expiresAt: undefined, senderId: "pub", receivedAt: Date.now() };
      const record: OutgoingRecord = { message, qos: 1, retain: false, subscriptionIdentifiers: undefined, packetId: (n % 65535) + 1, state: "publish" };
      records.push(record);
      commit = store.saveOutgoing("sub", [record]);
    }
    for (const r of previous) store.deleteOutgoing("sub", r);
    pairs += previous.length;
    previous = records;
    if (commit instanceof Promise) await commit;
    else await new Promise((r) => setImmediate(r));
  }
  const elapsed = (performance.now() - started) / 1000;
  const commits = storage.stats.commits - commitsBefore;
  await storage.close();
  rmSync(dataDir, { recursive: true, force: true });
  return { pairs: pairs / elapsed, commits: commits / elapsed };
}

async function integrity(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "edgemq-bench-"));
  const storage = openSqliteStore({ dataDir, mode: "batched", windowMs: 1000, aliveIntervalMs: 0 });
  const store = storage.forBroker("bench");
  for (let i = 0; i < 10_000; i++) {
    const clientId = `client-${i}`;
    store.saveSession({
      clientId, expiryInterval: 3600,
      subscriptions: [0, 1, 2].map((k) => ({
        clientId, topicFilter: `devices/${i}/${k}/#`, filter: `devices/${i}/${k}/#`, shareGroup: undefined, qos: 1 as const,
        noLocal: false, retainAsPublished: false, retainHandling: 0 as const, subscriptionIdentifier: k + 1,
      })),
      will: { topic: `devices/${i}/status`, payload: new Uint8Array(20), qos: 1, retain: true, properties: { willDelayInterval: 10 } },
    });
    const message: Message = { topic: `devices/${i}/0/x`, payload, qos: 1, retain: false, properties, expiresAt: undefined, senderId: "pub", receivedAt: Date.now() };
    store.saveOutgoing(clientId, [{ message, qos: 1, retain: false, subscriptionIdentifiers: [1], packetId: 0, state: "publish" }]);
    if (i % 10 === 0) store.saveRetained({ ...message, retain: true });
  }
  await storage.close();
  const size = statSync(join(dataDir, "edgemq.db")).size;
  for (const kind of ["full", "quick"] as const) {
    const times: number[] = [];
    for (let k = 0; k < 3; k++) {
      const s = openSqliteStore({ dataDir, mode: "fsync", integrityCheck: kind, aliveIntervalMs: 0 });
      times.push(s.integrityCheckMs);
      if (kind === "full" && k === 0) {
        const t = performance.now();
        const state = s.forBroker("bench").loadState();
        console.log(`loadState of ${state.sessions.length} sessions, ${[...state.outgoing.values()].reduce((a, l) => a + l.length, 0)} outgoing, ${state.retained.length} retained: ${(performance.now() - t).toFixed(0)} ms`);
      }
      await s.close();
    }
    console.log(`${kind === "full" ? "integrity_check" : "quick_check"} on open, ${(size / 1024 / 1024).toFixed(1)} MB file: ${Math.min(...times).toFixed(1)} ms (best of 3)`);
  }
  rmSync(dataDir, { recursive: true, force: true });
}

console.log(`store bench on ${runtime}, ${SECONDS}s per case, 100-byte payloads`);
console.log("mode            per turn   save+delete pairs/s   commits/s");
for (const [mode, windowMs] of [["fsync", 0], ["batched", 10], ["batched", 100], ["memory", 0]] as [DurabilityMode, number][]) {
  for (const perTurn of [1, 10, 100]) {
    const r = await flow(mode, perTurn, windowMs || 10);
    const label = mode === "batched" ? `batched ${windowMs}ms` : mode;
    console.log(`${label.padEnd(16)}${String(perTurn).padStart(8)}${Math.round(r.pairs).toLocaleString("en").padStart(22)}${Math.round(r.commits).toLocaleString("en").padStart(12)}`);
  }
}
await integrity();
