// The shared buffered duplex every adapter uses, driven through a fake raw
// socket: coalescing, backpressure and drain, pause/resume, the half-close
// and its bound, and what happens after close.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Acceptor, DuplexSink } from "../../packages/core/src/mod.ts";
import { BufferedDuplex, type BufferedDuplexOptions, type RawSocket } from "../../packages/server/src/buffered-duplex.ts";

/** A raw socket that records what the duplex asks of it; `answer` decides what write() returns. */
class FakeSocket implements RawSocket {
  log: string[] = [];
  writes: Uint8Array[] = [];
  held = 0;
  answer: (bytes: Uint8Array) => boolean | number = () => true;
  write(bytes: Uint8Array): boolean | number {
    this.writes.push(bytes);
    this.log.push(`write ${[...bytes].join(",")}`);
    return this.answer(bytes);
  }
  buffered(): number {
    return this.held;
  }
  shutdown(): void {
    this.log.push("shutdown");
  }
  close(): void {
    this.log.push("close");
  }
  pause(): void {
    this.log.push("pause");
  }
  resume(): void {
    this.log.push("resume");
  }
}

/** A core that records what the duplex reports. */
class FakeCore implements DuplexSink {
  events: string[] = [];
  data(bytes: Uint8Array): void {
    this.events.push(`data ${[...bytes].join(",")}`);
  }
  drain(): void {
    this.events.push("drain");
  }
  end(): void {
    this.events.push("end");
  }
}

function open(options: BufferedDuplexOptions = {}) {
  const raw = new FakeSocket();
  const core = new FakeCore();
  const acceptor: Acceptor = { accept: () => core, limits: { maximumPacketSize: 1024 } };
  const duplex = new BufferedDuplex(raw, { remoteAddress: "127.0.0.1", remotePort: 1, transport: "tcp" }, options).connect(acceptor);
  return { raw, core, duplex };
}

const bytes = (...b: number[]) => new Uint8Array(b);
// Lets queued microtasks (the duplex's flush) run.
const nextTurn = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => {
  vi.useRealTimers();
});

describe("write coalescing", () => {
  it("several writes in one turn leave as one write, in order, at the end of the turn", async () => {
    const { raw, duplex } = open();
    duplex.write(bytes(1, 2));
    duplex.write(bytes(3));
    duplex.write(bytes(4, 5, 6));
    expect(raw.writes).toHaveLength(0);
    await nextTurn();
    expect(raw.log).toEqual(["write 1,2,3,4,5,6"]);
  });

  it("a single write in a turn leaves as the same buffer, without a copy", async () => {
    const { raw, duplex } = open();
    const one = bytes(7, 8);
    duplex.write(one);
    await nextTurn();
    expect(raw.writes[0]).toBe(one);
  });

  it("writes in different turns leave as separate writes", async () => {
    const { raw, duplex } = open();
    duplex.write(bytes(1));
    await nextTurn();
    duplex.write(bytes(2));
    await nextTurn();
    expect(raw.log).toEqual(["write 1", "write 2"]);
  });

  it("the join buffer comes from the given allocator", async () => {
    const made: number[] = [];
    const { raw, duplex } = open({ alloc: (n) => (made.push(n), new Uint8Array(n)) });
    duplex.write(bytes(1));
    duplex.write(bytes(2, 3));
    await nextTurn();
    expect(made).toEqual([3]);
    expect(raw.log).toEqual(["write 1,2,3"]);
  });
});

describe("backpressure", () => {
  it("write returns false once pending bytes reach the bound, and drain comes when they fall below half of it", async () => {
    const { raw, core, duplex } = open({ highWaterMark: 10 });
    expect(duplex.write(new Uint8Array(6))).toBe(true);
    expect(duplex.write(new Uint8Array(4))).toBe(false);
    expect(duplex.write(new Uint8Array(1))).toBe(false);
    raw.answer = () => ((raw.held = 11), true); // the runtime takes the bytes and holds them
    await nextTurn();
    duplex.drained();
    raw.held = 5;
    duplex.drained();
    expect(core.events).toEqual([]);
    raw.held = 4;
    duplex.drained();
    expect(core.events).toEqual(["drain"]);
    expect(duplex.write(bytes(1))).toBe(true);
  });

  it("bytes the runtime holds count toward the bound", () => {
    const { raw, duplex } = open({ highWaterMark: 10 });
    raw.held = 8;
    expect(duplex.write(bytes(1))).toBe(true);
    expect(duplex.write(bytes(2))).toBe(false);
  });

  it("a socket that takes a whole burst over the bound at once gets drain reported after the flush, with no drain event", async () => {
    const { core, duplex } = open({ highWaterMark: 10 });
    expect(duplex.write(new Uint8Array(12))).toBe(false);
    await nextTurn();
    expect(core.events).toEqual(["drain"]);
    expect(duplex.write(bytes(1))).toBe(true);
  });

  it("a burst the runtime still holds after the flush waits for the runtime's drain", async () => {
    const { raw, core, duplex } = open({ highWaterMark: 10 });
    raw.answer = () => ((raw.held += 12), true);
    expect(duplex.write(new Uint8Array(12))).toBe(false);
    await nextTurn();
    expect(core.events).toEqual([]);
    raw.held = 0;
    duplex.drained();
    expect(core.events).toEqual(["drain"]);
  });

  it("drain is not reported when write never returned false", () => {
    const { core, duplex } = open();
    duplex.drained();
    expect(core.events).toEqual([]);
  });

  it("a socket that takes part of a write gets the rest first, joined with later writes, once drained", async () => {
    const { raw, duplex } = open();
    raw.answer = () => 2;
    duplex.write(bytes(1, 2, 3, 4));
    await nextTurn();
    duplex.write(bytes(5));
    await nextTurn();
    expect(raw.log).toEqual(["write 1,2,3,4"]); // nothing more until the socket drains
    raw.answer = () => true;
    duplex.drained();
    expect(raw.log).toEqual(["write 1,2,3,4", "write 3,4,5"]);
  });

  it("a busy socket (write false) gets what was written meanwhile as one write once drained", async () => {
    const { raw, duplex } = open();
    raw.answer = () => false;
    duplex.write(bytes(1));
    await nextTurn();
    duplex.write(bytes(2));
    await nextTurn();
    duplex.write(bytes(3));
    await nextTurn();
    expect(raw.log).toEqual(["write 1"]);
    duplex.drained();
    expect(raw.log).toEqual(["write 1", "write 2,3"]);
  });

  it("without a drain event, a backpressured connection is looked at until the runtime's buffer empties", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { raw, core, duplex } = open({ highWaterMark: 10, drainPollMs: 10 });
    raw.held = 20;
    expect(duplex.write(bytes(1))).toBe(false);
    await Promise.resolve();
    vi.advanceTimersByTime(30);
    expect(core.events).toEqual([]);
    raw.held = 0;
    vi.advanceTimersByTime(10);
    expect(core.events).toEqual(["drain"]);
    vi.advanceTimersByTime(100);
    expect(core.events).toEqual(["drain"]);
  });
});

describe("pause and resume", () => {
  it("pause and resume reach the raw socket, once each however often they are called", () => {
    const { raw, duplex } = open();
    duplex.pause();
    duplex.pause();
    duplex.resume();
    duplex.resume();
    expect(raw.log).toEqual(["pause", "resume"]);
  });

  it("close resumes a paused connection, so the peer's bytes are read (and dropped) until it closes", () => {
    const { raw, duplex } = open();
    duplex.pause();
    duplex.close();
    expect(raw.log).toEqual(["pause", "resume", "shutdown"]);
  });
});

describe("reads", () => {
  it("a closing connection reads and drops up to 64 KiB, then stops reading for good", () => {
    const { raw, duplex } = open();
    duplex.close();
    duplex.received(new Uint8Array(64 * 1024 - 1));
    expect(raw.log).toEqual(["shutdown"]);
    duplex.received(bytes(1));
    expect(raw.log).toEqual(["shutdown", "pause"]);
    duplex.received(bytes(2));
    duplex.resume();
    expect(raw.log).toEqual(["shutdown", "pause"]);
  });

  it("reads reach the core while open and are dropped once closing", () => {
    const { core, duplex } = open();
    duplex.received(bytes(1));
    duplex.close();
    duplex.received(bytes(2));
    expect(core.events).toEqual(["data 1"]);
  });
});

describe("half-close then close", () => {
  it("close sends the pending bytes before it shuts the write half", () => {
    const { raw, duplex } = open();
    duplex.write(bytes(1));
    duplex.write(bytes(2));
    duplex.close();
    expect(raw.log).toEqual(["write 1,2", "shutdown"]);
  });

  it("close waits for a socket that took part of the bytes to take the rest before it shuts the write half", async () => {
    const { raw, duplex } = open();
    raw.answer = () => 1;
    duplex.write(bytes(1, 2, 3));
    duplex.close();
    expect(raw.log).toEqual(["write 1,2,3"]);
    raw.answer = () => true;
    duplex.drained();
    expect(raw.log).toEqual(["write 1,2,3", "write 2,3", "shutdown"]);
  });

  it("close waits for a busy socket's write to finish before it shuts the write half", () => {
    const { raw, duplex } = open();
    raw.answer = () => false;
    duplex.write(bytes(1));
    duplex.close();
    expect(raw.log).toEqual(["write 1"]);
    duplex.drained();
    expect(raw.log).toEqual(["write 1", "shutdown"]);
  });

  it("after the half-close, the connection ends when the peer closes: the core hears end once and nothing is cut off", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { raw, core, duplex } = open();
    duplex.close();
    duplex.ended();
    duplex.ended();
    vi.advanceTimersByTime(5000);
    expect(raw.log).toEqual(["shutdown"]);
    expect(core.events).toEqual(["end"]);
  });

  it("a peer that never closes is cut off when the close timeout passes, and the core hears end", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { raw, core, duplex } = open();
    duplex.close();
    vi.advanceTimersByTime(1999);
    expect(raw.log).toEqual(["shutdown"]);
    vi.advanceTimersByTime(1);
    expect(raw.log).toEqual(["shutdown", "close"]);
    expect(core.events).toEqual(["end"]);
    duplex.ended(); // the runtime's own close event afterwards
    expect(core.events).toEqual(["end"]);
  });

  it("the core hears end as soon as the connection is closed, before the peer closes, and only once", async () => {
    const { core, duplex } = open();
    duplex.close();
    await nextTurn();
    expect(core.events).toEqual(["end"]);
    duplex.ended();
    expect(core.events).toEqual(["end"]);
  });

  it("the close timeout can be set", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { raw, duplex } = open({ closeTimeoutMs: 50 });
    duplex.close();
    vi.advanceTimersByTime(50);
    expect(raw.log).toEqual(["shutdown", "close"]);
  });

  it("a second close does nothing", () => {
    const { raw, duplex } = open();
    duplex.close();
    duplex.close();
    expect(raw.log).toEqual(["shutdown"]);
  });
});

describe("after close", () => {
  it("writes after close are ignored and report no backpressure", async () => {
    const { raw, duplex } = open({ highWaterMark: 1 });
    duplex.close();
    expect(duplex.write(bytes(1, 2, 3))).toBe(true);
    await nextTurn();
    expect(raw.log).toEqual(["shutdown"]);
  });

  it("writes after the socket ended are ignored, and bytes still pending are dropped", async () => {
    const { raw, core, duplex } = open();
    duplex.write(bytes(1));
    duplex.ended();
    expect(duplex.write(bytes(2))).toBe(true);
    await nextTurn();
    expect(raw.log).toEqual([]);
    expect(core.events).toEqual(["end"]);
  });

  it("close after the socket ended does not touch it", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { raw, duplex } = open();
    duplex.ended();
    duplex.close();
    vi.advanceTimersByTime(5000);
    expect(raw.log).toEqual([]);
  });
});

describe("duplexes written to in one turn (issue 14: one flush task for all of them)", () => {
  it("each send what was written to them as one write, in the order they were first written to", async () => {
    const order: string[] = [];
    const a = open(), b = open(), c = open();
    for (const [name, d] of [["a", a], ["b", b], ["c", c]] as const) d.raw.answer = () => (order.push(name), true);
    b.duplex.write(bytes(1));
    a.duplex.write(bytes(2));
    b.duplex.write(bytes(3));
    c.duplex.write(bytes(4));
    expect(order).toEqual([]);
    await nextTurn();
    expect(order).toEqual(["b", "a", "c"]);
    expect(b.raw.log).toEqual(["write 1,3"]);
    expect(a.raw.log).toEqual(["write 2"]);
    expect(c.raw.log).toEqual(["write 4"]);
  });

  it("still flush the others when one's socket throws, and that one's error is not swallowed", async () => {
    const a = open(), b = open();
    a.raw.answer = () => {
      throw new Error("socket broke");
    };
    const uncaught: unknown[] = [];
    const listener = (e: unknown) => uncaught.push(e);
    process.on("uncaughtException", listener);
    try {
      a.duplex.write(bytes(1));
      b.duplex.write(bytes(2));
      await nextTurn();
    } finally {
      process.off("uncaughtException", listener);
    }
    expect(b.raw.log).toEqual(["write 2"]);
    expect(uncaught.map((e) => (e as Error).message)).toEqual(["socket broke"]);
    // The one that threw is not stuck: a later write is flushed again.
    a.raw.answer = () => true;
    a.duplex.write(bytes(3));
    await nextTurn();
    expect(a.raw.log).toEqual(["write 1", "write 3"]);
  });
});
