import type { ConnInfo, Duplex, DuplexSink } from "./duplex.ts";

/** An in-memory {@link Duplex} that records what the core writes, for unit tests of the machine. */
export class MemoryDuplex implements Duplex {
  readonly info: ConnInfo;
  /** Every chunk written, in order. */
  readonly written: Uint8Array[] = [];
  /** Whether the core asked to close. */
  closed = false;
  /** What write() answers: false simulates a backed-up socket. */
  accepting = true;
  /** Whether the core asked to stop reading (see {@link Duplex.pause}). */
  paused = false;
  /** The core's side, set by {@link connect}. */
  sink: DuplexSink | undefined;

  constructor(info: Partial<ConnInfo> = {}) {
    this.info = { remoteAddress: "127.0.0.1", remotePort: 50000, transport: "memory", ...info };
  }

  write(bytes: Uint8Array): boolean {
    this.written.push(bytes.slice());
    return this.accepting;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // A real socket reports its end after close; so does this one, at once.
    this.sink?.end();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Hands bytes to the core as if they arrived from the peer. */
  push(bytes: Uint8Array): void {
    this.sink!.data(bytes);
  }

  /** Takes and returns everything written since the last call. */
  take(): Uint8Array[] {
    return this.written.splice(0);
  }
}
