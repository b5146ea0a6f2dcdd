// A child process for the SIGKILL test: writes batches of outgoing records and
// retained messages in fsync mode and prints `+id` for each once its commit
// resolved, and `-id` for each delete once committed. It runs until killed.
// Usage: <runtime> writer-child.ts <dataDir>
import process from "node:process";
import type { Message, OutgoingRecord } from "@edgemq/core";
import { openSqliteStore } from "../src/mod.ts";

const dataDir = process.argv[2]!;
const storage = openSqliteStore({ dataDir, mode: "fsync", aliveIntervalMs: 20 });
const store = storage.forBroker("kill/test");
await store.saveSession({ clientId: "sub", expiryInterval: 3600, subscriptions: [], will: undefined });
process.stdout.write("ready\n");

const BATCH = 10;
let previous: OutgoingRecord[] = [];
for (let batch = 0; ; batch++) {
  const records: OutgoingRecord[] = [];
  const commits: unknown[] = [];
  for (let k = 0; k < BATCH; k++) {
    const id = batch * BATCH + k + 1;
    const message: Message = {
      topic: `t/${id}`, payload: new Uint8Array([id & 0xff, (id >> 8) & 0xff, 42]), qos: 1, retain: false,
      properties: { userProperties: [["id", String(id)]] }, expiresAt: undefined, senderId: "pub", receivedAt: id,
    };
    const record: OutgoingRecord = { message, qos: 1, retain: false, subscriptionIdentifiers: undefined, packetId: (id % 65535) + 1, state: "publish" };
    records.push(record);
    commits.push(store.saveOutgoing("sub", [record]));
    if (k === 0) commits.push(store.saveRetained({ ...message, retain: true }));
  }
  // Half of the previous batch is acknowledged by the client in the same turn.
  const deleted = previous.filter((_, i) => i % 2 === 0);
  for (const r of deleted) commits.push(store.deleteOutgoing("sub", r));
  await Promise.all(commits);
  process.stdout.write(records.map((r) => `+${r.message.topic.slice(2)}\n`).join("") + deleted.map((r) => `-${r.message.topic.slice(2)}\n`).join(""));
  previous = records;
}
