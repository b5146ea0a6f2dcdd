/// <reference path="./runtime.d.ts" />
import type { Acceptor, Transport } from "@edgemq/core";
import { type BoundListener, BufferedDuplex, type BufferedDuplexOptions, ConfigError, type ListenerConfig, type RawSocket } from "@edgemq/server";

const MIN_READ_SIZE = 2 * 1024;
const MAX_READ_SIZE = 128 * 1024;
const OPTIONS: BufferedDuplexOptions = { unrefTimer: (timer) => Deno.unrefTimer(timer as unknown as number) };

/**
 * A Deno.Conn as the shared duplex's raw socket. conn.write() is a promise
 * that may write part of what it is given, so one buffer is in flight at a
 * time; the duplex gathers what is written meanwhile for the next one.
 */
class DenoRawSocket implements RawSocket {
  readonly conn: Deno.Conn;
  /** Called once the buffer in flight is written (the duplex's drained). */
  written: () => void = () => {};
  /** While set, the read loop awaits it before its next read. */
  paused: Promise<void> | undefined;
  #unpause: (() => void) | undefined;
  #inFlight = 0;
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  write(bytes: Uint8Array): false {
    void this.#send(bytes);
    return false;
  }

  async #send(bytes: Uint8Array): Promise<void> {
    try {
      for (let off = 0; off < bytes.byteLength;) {
        this.#inFlight = bytes.byteLength - off;
        off += await this.conn.write(bytes.subarray(off));
      }
    } catch {
      this.close(); // the read loop sees the end and tells the core
      return;
    }
    this.#inFlight = 0;
    this.written();
  }

  buffered(): number {
    return this.#inFlight;
  }

  // closeWrite() shuts the write half (FIN; close_notify on TLS); the read loop goes on until the peer closes.
  shutdown(): void {
    if (!this.#closed) this.conn.closeWrite().catch(() => this.close());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* already closed by the peer */ }
  }

  // No read while paused: the kernel's window then slows the peer down.
  pause(): void {
    this.paused ??= new Promise((resolve) => (this.#unpause = resolve));
  }

  resume(): void {
    const unpause = this.#unpause;
    this.paused = undefined;
    this.#unpause = undefined;
    unpause?.();
  }
}

async function serveConn(acceptor: Acceptor, conn: Deno.Conn, transport: Transport): Promise<void> {
  try {
    conn.setNoDelay?.(true); // Nagle's algorithm would hold small packets back
  } catch { /* not a TCP connection */ }
  const raw = new DenoRawSocket(conn);
  const duplex = new BufferedDuplex(raw, { remoteAddress: conn.remoteAddr.hostname, remotePort: conn.remoteAddr.port, transport }, OPTIONS);
  raw.written = () => duplex.drained();
  duplex.connect(acceptor);
  // Each connection has its own read buffer (reads are concurrent), so it
  // starts small and grows only for a connection that fills it: an idle
  // connection holds 2 KiB, not 64.
  let buf = new Uint8Array(MIN_READ_SIZE);
  try {
    for (;;) {
      if (raw.paused !== undefined) await raw.paused;
      const n = await conn.read(buf);
      if (n === null) break;
      duplex.received(buf.slice(0, n)); // a copy the core may keep views into
      if (n === buf.byteLength && buf.byteLength < MAX_READ_SIZE) buf = new Uint8Array(buf.byteLength * 4);
    }
  } catch { /* reset or closed: the end either way */ }
  duplex.ended();
  raw.close();
}

/** Starts one TCP or TLS listener (Deno.listen, Deno.listenTls) feeding the acceptor (a broker or a router). */
export function listenSocket(acceptor: Acceptor, config: ListenerConfig): BoundListener {
  const transport: Transport = config.protocol === "tls" ? "tls" : "tcp";
  if (config.requestCert || config.ca !== undefined) {
    // Deno.listenTls cannot ask a client for its certificate.
    const what = config.requestCert ? "--tls-client-auth" : "--tls-ca";
    throw new ConfigError(`Deno's TLS API cannot request client certificates, so ${what} (port ${config.port}) is not available on Deno; run edgemq on Node or Bun for mutual TLS and MTLS brokers`);
  }
  const listener = transport === "tls"
    ? Deno.listenTls({ hostname: config.host, port: config.port, cert: Deno.readTextFileSync(config.cert!), key: Deno.readTextFileSync(config.key!) })
    : Deno.listen({ hostname: config.host, port: config.port, transport: "tcp" });
  (async () => {
    try {
      for await (const conn of listener) void serveConn(acceptor, conn, transport);
    } catch { /* the listener closed */ }
  })();
  return {
    protocol: config.protocol, host: config.host, port: listener.addr.port,
    close: async () => {
      try {
        listener.close();
      } catch { /* already closed */ }
    },
  };
}
