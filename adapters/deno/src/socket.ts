/// <reference path="./runtime.d.ts" />
import type { Acceptor, Transport } from "@edgemq/core";
import { type BoundListener, BufferedDuplex, type BufferedDuplexOptions, ConfigError, type ListenerConfig, type ListenerErrorReport, type RawSocket } from "@edgemq/server";

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
    // A read loop paused by a closing connection's read limit must wake to see the close and end.
    this.resume();
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

async function serveConn(acceptor: Acceptor, conn: Deno.Conn, transport: Transport, onError: ListenerErrorReport): Promise<void> {
  try {
    conn.setNoDelay?.(true); // Nagle's algorithm would hold small packets back
  } catch { /* not a TCP connection, or already reset */ }
  let remote: Deno.NetAddr;
  try {
    remote = conn.remoteAddr as Deno.NetAddr;
  } catch (e) {
    // Reset before it was served: nothing reached the core, so there is nothing to end.
    onError("a connection's address", e, "debug");
    try {
      conn.close();
    } catch { /* already closed */ }
    return;
  }
  const raw = new DenoRawSocket(conn);
  const duplex = new BufferedDuplex(raw, { remoteAddress: remote.hostname, remotePort: remote.port, transport }, OPTIONS);
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
  } catch (e) {
    // A reset, a failed TLS handshake or a closed connection: the end either way.
    if (!(e instanceof Deno.errors.BadResource)) onError("a read", e, "debug");
  }
  duplex.ended();
  raw.close();
}

/**
 * Accepts until the listener is closed. An accept can fail for one
 * connection (a peer that reset it before it was taken: ENOTCONN, or
 * ECONNRESET / ECONNABORTED) or for a while (EMFILE); neither may stop the
 * listener, which for-await over it did: it ended at the first failed accept.
 */
async function acceptLoop(listener: Deno.Listener, serve: (conn: Deno.Conn) => Promise<void>, onError: ListenerErrorReport): Promise<void> {
  for (;;) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (e) {
      if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return; // the listener closed
      onError("an accept", e);
      // Out of descriptors fails again at once: give closing connections a moment.
      if (!(e instanceof Deno.errors.NotConnected || e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.ConnectionAborted)) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      continue;
    }
    serve(conn).catch((e) => onError("serving a connection", e));
  }
}

/** Starts one TCP or TLS listener (Deno.listen, Deno.listenTls) feeding the acceptor (a broker or a router). */
export function listenSocket(acceptor: Acceptor, config: ListenerConfig, onError: ListenerErrorReport = () => {}): BoundListener {
  const transport: Transport = config.protocol === "tls" ? "tls" : "tcp";
  if (config.requestCert || config.ca !== undefined) {
    // Deno.listenTls cannot ask a client for its certificate.
    const what = config.requestCert ? "--tls-client-auth" : "--tls-ca";
    throw new ConfigError(`Deno's TLS API cannot request client certificates, so ${what} (port ${config.port}) is not available on Deno; run edgemq on Node or Bun for mutual TLS and MTLS brokers`);
  }
  const listener = transport === "tls"
    ? Deno.listenTls({ hostname: config.host, port: config.port, cert: Deno.readTextFileSync(config.cert!), key: Deno.readTextFileSync(config.key!) })
    : Deno.listen({ hostname: config.host, port: config.port, transport: "tcp" });
  void acceptLoop(listener, (conn) => serveConn(acceptor, conn, transport, onError), onError);
  return {
    protocol: config.protocol, host: config.host, port: listener.addr.port,
    close: async () => {
      try {
        listener.close();
      } catch { /* already closed */ }
    },
  };
}
