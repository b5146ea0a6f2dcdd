// The one Duplex every adapter (Node, Bun, Deno × TCP, TLS, WebSocket) gives
// the core. It owns write coalescing, backpressure, pause/resume and the
// half-close; each adapter only adapts its runtime's socket to RawSocket and
// pushes reads, drains and the end into it. Web-standard APIs only.
import type { Acceptor, ConnInfo, Duplex, DuplexSink } from "@edgemq/core";
import { concatBytes } from "./bytes.ts";

/** What a runtime's socket (TCP, TLS or WebSocket) does for a {@link BufferedDuplex}. */
export interface RawSocket {
  /**
   * Sends bytes (one write, or one binary WebSocket frame [MQTT-6.0.0-1]).
   * `true`: all taken, more may follow at once. A number: only that many
   * were taken, and the duplex holds the rest. `false`: all taken, but the
   * socket is busy with them. After a short count or `false` the adapter
   * calls {@link BufferedDuplex.drained} once the socket can take more.
   */
  write(bytes: Uint8Array): boolean | number;
  /** Bytes the runtime itself still holds unsent (0 for one that holds none). */
  buffered(): number;
  /** Shuts the write half after the bytes sent (TCP FIN; a close frame on WebSocket); reading goes on. */
  shutdown(): void;
  /** Closes at once: the peer did not close its side in time. */
  close(): void;
  /** Stops reading, so the kernel's window slows the peer (left out where the runtime cannot). */
  pause?(): void;
  /** Reads again after {@link pause}. */
  resume?(): void;
}

/** How a {@link BufferedDuplex} is tuned; the defaults are what every adapter uses. */
export interface BufferedDuplexOptions {
  /** Bytes held (here and in the runtime) before write() reports backpressure; drain comes below half. */
  highWaterMark?: number;
  /** How long a closing connection waits for the peer to close before it is cut off. */
  closeTimeoutMs?: number;
  /** For a runtime with no drain event: how often to look whether its buffer emptied (0: never). */
  drainPollMs?: number;
  /** Keeps the close timer from holding the process open (the default calls the timer's unref, if any). */
  unrefTimer?(timer: ReturnType<typeof setTimeout>): void;
  /** Makes the buffer several writes are joined into (default: a new Uint8Array). */
  alloc?(size: number): Uint8Array;
}

const HIGH_WATER_MARK = 1024 * 1024;
const CLOSE_TIMEOUT_MS = 2000;
// What a closing connection reads (and drops) before it stops reading: enough
// for a peer's last packets and its FIN, so a well-behaved peer's close is seen
// at once, yet a peer that floods costs no more than this.
const CLOSE_READ_LIMIT = 64 * 1024;

// open → closing (close() called, bytes still to send) → shut (write half
// shut, reading on) → ended (the runtime's socket closed; the core was told).
const OPEN = 0;
const CLOSING = 1;
const SHUT = 2;
const ENDED = 3;

const unrefIfAny = (timer: ReturnType<typeof setTimeout>) => (timer as { unref?(): void }).unref?.();

type Tuning = Required<Omit<BufferedDuplexOptions, "alloc">> & Pick<BufferedDuplexOptions, "alloc">;

// Options resolved once per options object: a connection keeps one reference, not five fields (issue 14).
const resolved = new WeakMap<BufferedDuplexOptions, Tuning>();

function tuning(options: BufferedDuplexOptions): Tuning {
  let t = resolved.get(options);
  if (t === undefined) {
    t = {
      highWaterMark: options.highWaterMark ?? HIGH_WATER_MARK,
      closeTimeoutMs: options.closeTimeoutMs ?? CLOSE_TIMEOUT_MS,
      drainPollMs: options.drainPollMs ?? 0,
      unrefTimer: options.unrefTimer ?? unrefIfAny,
      alloc: options.alloc,
    };
    resolved.set(options, t);
  }
  return t;
}

const NO_OPTIONS: BufferedDuplexOptions = {};

/**
 * The core's Duplex over a {@link RawSocket}. Packets written in one turn of
 * the event loop leave as one write (one frame on WebSocket) in a microtask:
 * one copy costs less than many small writes, and fan-out writes many.
 * Closing tells the core at once (its will goes now, not when the socket is
 * gone), sends what is queued, then shuts only the write half and reads on,
 * discarding, up to a small limit, until the peer closes or the close timeout
 * passes: closing at once with the peer's bytes unread makes the kernel reset
 * the connection, and a reset can destroy the DISCONNECT just sent before the
 * peer reads it. A peer that sends past the limit is no longer read: its
 * window fills, and the reset that may follow the cut-off comes after our FIN.
 */
export class BufferedDuplex implements Duplex {
  /** What the adapter knows about the peer. */
  readonly info: ConnInfo;
  readonly #raw: RawSocket;
  // The adapter's options with their defaults, one object shared by its connections.
  readonly #tuning: Tuning;
  #sink: DuplexSink | undefined;
  // One array for the connection's life: emptied, not replaced, by each flush.
  readonly #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #scheduled = false;
  // The raw socket took less than offered, or is busy: hold bytes until drained().
  #waiting = false;
  #backpressured = false;
  #paused = false;
  #state = OPEN;
  #coreTold = false;
  // Bytes read and dropped since close(), and whether that stopped the reading for good.
  #discarded = 0;
  #readingStopped = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  // The duplexes with bytes to send this turn, in the order they first wrote: one
  // microtask flushes them all, so a connection keeps no closure of its own (issue 14)
  // and a fan-out to many connections queues one task, not one per connection.
  static #due: (BufferedDuplex | undefined)[] = [];
  static #dueCount = 0;
  static #dueScheduled = false;
  static readonly #flushDue = (): void => {
    BufferedDuplex.#dueScheduled = false;
    // Only those due when the task started: one that writes again meanwhile waits for the next task, as before.
    const due = BufferedDuplex.#due;
    const count = BufferedDuplex.#dueCount;
    BufferedDuplex.#due = BufferedDuplex.#spare;
    BufferedDuplex.#dueCount = 0;
    for (let i = 0; i < count; i++) {
      const d = due[i]!;
      due[i] = undefined;
      try {
        d.#flush();
      } catch (e) {
        // One connection's failure is reported as before (uncaught, in a task of its own); the others still flush.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
    BufferedDuplex.#spare = due;
  };
  // The other list, swapped in while one is flushed; both keep their room across turns.
  static #spare: (BufferedDuplex | undefined)[] = [];

  constructor(raw: RawSocket, info: ConnInfo, options: BufferedDuplexOptions = NO_OPTIONS) {
    this.#raw = raw;
    this.info = info;
    this.#tuning = tuning(options);
  }

  /** Hands the connection to the acceptor (a broker or a router); returns this duplex. */
  connect(acceptor: Acceptor): this {
    this.#sink = acceptor.accept(this);
    return this;
  }

  /** Hands later reads, drains and the end to `sink` (the router's chosen broker connection). */
  redirect(sink: DuplexSink): void {
    this.#sink = sink;
  }

  /** Queues bytes to leave at the end of this turn; false when the core should wait for `drain`. */
  write(bytes: Uint8Array): boolean {
    // Once closing, the core is done with the connection: later packets are dropped.
    if (this.#state !== OPEN) return true;
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.byteLength;
    if (!this.#scheduled && !this.#waiting) {
      this.#scheduled = true;
      BufferedDuplex.#due[BufferedDuplex.#dueCount++] = this;
      if (!BufferedDuplex.#dueScheduled) {
        BufferedDuplex.#dueScheduled = true;
        queueMicrotask(BufferedDuplex.#flushDue);
      }
    }
    if (!this.#backpressured && this.#pendingBytes + this.#raw.buffered() >= this.#tuning.highWaterMark) this.#backpressure();
    return !this.#backpressured;
  }

  /** Stops reading from the peer until {@link resume}. */
  pause(): void {
    if (this.#paused || this.#state !== OPEN) return;
    this.#paused = true;
    this.#raw.pause?.();
  }

  /** Reads from the peer again. */
  resume(): void {
    if (!this.#paused || this.#readingStopped) return;
    this.#paused = false;
    this.#raw.resume?.();
  }

  /**
   * Sends what is queued, shuts the write half, and closes once the peer does
   * (or the timeout passes). The core hears `end` in a microtask, not when the
   * socket is finally gone: for it the connection is over.
   */
  close(): void {
    if (this.#state !== OPEN) return;
    this.#state = CLOSING;
    // A paused connection reads on up to the limit, so that a peer's FIN is seen.
    this.resume();
    this.#closeTimer = setTimeout(() => this.#cutOff(), this.#tuning.closeTimeoutMs);
    this.#tuning.unrefTimer(this.#closeTimer);
    this.#flush(); // shuts the write half once nothing is held
    // A microtask: the core may still be inside the call that closed it.
    queueMicrotask(() => this.#tellCore());
  }

  /** The adapter read bytes (fresh ones: the core may keep views into them). Dropped once closing. */
  received(bytes: Uint8Array): void {
    if (this.#state === OPEN) this.#sink?.data(bytes);
    else this.#discard(bytes.byteLength);
  }

  /** The adapter's socket can take more (its drain event, or a busy write finished). */
  drained(): void {
    if (this.#waiting) {
      this.#waiting = false;
      this.#flush();
    }
    this.#reportDrain();
  }

  /** The adapter's socket closed, by either side or an error: the core hears of it once. */
  ended(): void {
    if (this.#state === ENDED) return;
    this.#state = ENDED;
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    this.#pending.length = 0;
    this.#pendingBytes = 0;
    this.#tellCore();
  }

  // The core hears of the end once, whether close() or the socket's end came first.
  #tellCore(): void {
    if (this.#coreTold) return;
    this.#coreTold = true;
    this.#sink?.end();
  }

  // A closing connection stops reading once it has dropped the limit: a peer
  // that floods after being disconnected is then slowed by its window.
  #discard(size: number): void {
    this.#discarded += size;
    if (this.#discarded >= CLOSE_READ_LIMIT && this.#state !== ENDED && !this.#readingStopped) {
      this.#readingStopped = true;
      this.#raw.pause?.();
    }
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#waiting || this.#state === ENDED) return;
    const size = this.#pendingBytes;
    if (size > 0) {
      const bytes = concatBytes(this.#pending, size, this.#tuning.alloc);
      this.#pending.length = 0;
      this.#pendingBytes = 0;
      const taken = this.#raw.write(bytes);
      if (taken !== true && taken !== size) {
        this.#waiting = true;
        if (taken !== false) this.#hold(bytes.subarray(Math.max(0, taken)));
      } else if (this.#backpressured) {
        // A socket that took a whole burst at once fires no drain event (Bun's): look now.
        this.#reportDrain();
      }
    }
    if (this.#state === CLOSING && !this.#waiting && this.#pendingBytes === 0) {
      this.#state = SHUT;
      this.#raw.shutdown();
    }
  }

  // Tells the core it may write again once what is held here and in the runtime is below half the bound.
  #reportDrain(): void {
    if (this.#backpressured && this.#state === OPEN && this.#pendingBytes + this.#raw.buffered() < this.#tuning.highWaterMark / 2) {
      this.#backpressured = false;
      this.#sink?.drain();
    }
  }

  // Keeps the bytes a raw socket did not take, ahead of anything written since.
  #hold(rest: Uint8Array): void {
    this.#pending.unshift(rest);
    this.#pendingBytes += rest.byteLength;
  }

  #backpressure(): void {
    this.#backpressured = true;
    if (this.#tuning.drainPollMs > 0) setTimeout(() => this.#pollDrain(), this.#tuning.drainPollMs);
  }

  // A runtime without a drain event (the WebSocket API) is looked at again shortly, while backpressured.
  #pollDrain(): void {
    if (this.#state !== OPEN) return;
    this.drained();
    if (this.#backpressured) setTimeout(() => this.#pollDrain(), this.#tuning.drainPollMs);
  }

  // A peer that never reads or never closes is cut off; the core hears of it now,
  // even where the runtime cannot cut a connection short (the WebSocket API).
  #cutOff(): void {
    this.#closeTimer = undefined;
    if (this.#state === ENDED) return;
    this.#raw.close();
    this.ended();
  }
}
