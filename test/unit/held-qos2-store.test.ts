// The store a cluster node puts in front of its own (held-qos2-store.ts):
// what it writes to the held QoS 2 bucket for a lasting session, in what
// order, and that a failed write the core does not wait for never ends the
// process (an unhandled rejection would). A recording fake stands in for the
// KV bucket: the real bucket is exercised by test/cluster/exactly-once.test.ts.
import { describe, expect, it } from "vitest";
import { MemoryStore, type Message, type OutgoingRecord } from "@edgemq/core";
import type { KV } from "@nats-io/kv";
import { HeldQos2Store, heldPrefix } from "@edgemq/cluster-nats";

const message = (origin?: string): Message => ({
  topic: "t", payload: new Uint8Array([1]), qos: 2, retain: false, properties: undefined, expiresAt: undefined, senderId: "p", receivedAt: 0, origin,
});
const record = (packetId: number, origin?: string): OutgoingRecord => ({ message: message(origin), qos: 2, retain: false, subscriptionIdentifiers: undefined, packetId, state: "publish" });

// A bucket that records each write, and fails them all once `failing` is set.
function fakeBucket() {
  const ops: string[] = [];
  const bucket = {
    failing: false,
    ops,
    put(key: string, value: Uint8Array | string): Promise<number> {
      ops.push(`put ${key}${typeof value === "string" ? ` ${value}` : ""}`);
      return bucket.failing ? Promise.reject(new Error("no responders")) : Promise.resolve(ops.length);
    },
    delete(key: string): Promise<void> {
      ops.push(`delete ${key}`);
      return bucket.failing ? Promise.reject(new Error("no responders")) : Promise.resolve();
    },
  };
  return bucket;
}

function setup() {
  const bucket = fakeBucket();
  const link = { incarnation: 7, connected: true };
  // The routing's end of turn: at once here.
  const store = new HeldQos2Store(new MemoryStore(), bucket as unknown as KV, link, "default", (then) => setImmediate(then));
  const prefix = heldPrefix("default", "c1", 7);
  return { bucket, link, store, prefix };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe("a cluster node's store of lasting sessions' QoS 2 state", () => {
  it("writes a QoS 2 record once it has a packet id, its PUBREL state again, then the session's marks before the record goes", async () => {
    const { bucket, store, prefix } = setup();
    const r = record(5, "n\u00001\u000042");
    await store.saveOutgoing("c1", [{ ...record(0), qos: 2 }, { ...record(6), qos: 1 }, r]);
    r.state = "pubrel";
    await store.saveOutgoing("c1", [r]);
    await store.deleteOutgoing("c1", r);
    await store.saveInboundQos2("c1", 9);
    await store.deleteInboundQos2("c1", 9);
    expect(bucket.ops).toEqual([
      `put ${prefix}.o5`, `put ${prefix}.o5`,
      `put ${prefix}.sent {"n\\u00001":42}`, `delete ${prefix}.o5`,
      `put ${prefix}.i9`, `delete ${prefix}.i9`,
    ]);
  });

  it("fails the writes the core waits for, and lets none it does not wait for go unhandled", async () => {
    const { bucket, store } = setup();
    const r = record(5, "n\u00001\u00001");
    await store.saveOutgoing("c1", [r]);
    bucket.failing = true;
    await expect(store.saveOutgoing("c1", [record(6)])).rejects.toThrow("no responders");
    // Not waited for (PUBCOMP came): an unhandled rejection here would fail this test run.
    void store.deleteOutgoing("c1", r);
    store.deleteSession("c1");
    await settle();
    expect(bucket.ops.filter((op) => op.startsWith("delete")).length).toBeGreaterThan(0);
  });

  it("writes nothing while NATS is away: the node's own store has it", async () => {
    const { bucket, link, store } = setup();
    link.connected = false;
    expect(store.saveOutgoing("c1", [record(5)])).toBeUndefined();
    expect(store.saveInboundQos2("c1", 3)).toBeUndefined();
    await settle();
    expect(bucket.ops).toEqual([]);
  });
});
