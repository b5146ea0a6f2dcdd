// The session's outgoing queue (issue 14: it shares one empty list until its first record).
import { describe, expect, it } from "vitest";
import { RecordQueue } from "../../packages/core/src/broker/record-queue.ts";
import type { OutgoingRecord } from "../../packages/core/src/model/outgoing-record.ts";

const record = (packetId: number) => ({ packetId }) as unknown as OutgoingRecord;
const ids = (q: RecordQueue) => {
  const out: number[] = [];
  for (let r = q.shift(); r !== undefined; r = q.shift()) out.push(r.packetId);
  return out;
};

describe("a RecordQueue", () => {
  it("is empty before its first record: nothing to peek or take", () => {
    const q = new RecordQueue();
    expect(q.length).toBe(0);
    expect(q.peek()).toBeUndefined();
    expect(q.shift()).toBeUndefined();
    q.retain(() => true);
    expect(q.length).toBe(0);
  });

  it("gives records back first in, first out, and can be filled again once drained", () => {
    const q = new RecordQueue();
    for (const id of [1, 2, 3]) q.push(record(id));
    expect(q.length).toBe(3);
    expect(q.peek()!.packetId).toBe(1);
    expect(ids(q)).toEqual([1, 2, 3]);
    q.push(record(4));
    expect(ids(q)).toEqual([4]);
  });

  it("keeps what one queue holds out of every other, though all start alike", () => {
    const a = new RecordQueue(), b = new RecordQueue(), c = new RecordQueue();
    a.push(record(1));
    b.push(record(2));
    b.push(record(3));
    expect([a.length, b.length, c.length]).toEqual([1, 2, 0]);
    expect(ids(b)).toEqual([2, 3]);
    expect(ids(a)).toEqual([1]);
    expect(new RecordQueue().length).toBe(0);
  });

  it("keeps only the records retain picks, in order", () => {
    const q = new RecordQueue();
    for (const id of [1, 2, 3, 4, 5]) q.push(record(id));
    q.shift();
    q.retain((r) => r.packetId % 2 === 1);
    expect(ids(q)).toEqual([3, 5]);
  });

  it("stays in order across the compaction of a long drained front", () => {
    const q = new RecordQueue();
    for (let i = 1; i <= 3000; i++) q.push(record(i));
    for (let i = 1; i <= 2000; i++) expect(q.shift()!.packetId).toBe(i);
    expect(q.length).toBe(1000);
    expect(ids(q)[0]).toBe(2001);
  });
});
