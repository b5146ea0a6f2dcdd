/// <reference path="./runtime.d.ts" />
import type { Acceptor, Duplex, DuplexSink, Transport } from "@edgemq/core";
import {
  type BoundListener, chooseSubprotocol, concatBytes, ConfigError, type ListenerConfig, upgradePathAllowed,
} from "@edgemq/server";

// Bytes held for a connection before write() reports backpressure to the core.
const HIGH_WATER_MARK = 1024 * 1024;
const MIN_READ_SIZE = 2 * 1024;
const MAX_READ_SIZE = 128 * 1024;

//
// Deno's conn.write() is a promise that may write part of what it is given;
// one writer loop per connection drains the queue in order, and writes made
// in one turn leave together.
//
/** The read loop's pause: while `wait` is set, the loop awaits it before its next read. */
interface ReadGate {
  wait: Promise<void> | undefined;
  open: (() => void) | undefined;
}

function connDuplex(conn: Deno.Conn, transport: Transport, sink: () => DuplexSink | undefined, gate: ReadGate): Duplex {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let writing = false;
  let backpressured = false;
  let closing = false;
  let shut = false;
  let closed = false;
  const closeConn = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch { /* already closed by the peer */ }
  };
  // Closing with bytes from the peer still unread makes the kernel reset the
  // connection, and a reset can destroy the DISCONNECT just sent before the
  // peer reads it. So only our side is shut (FIN after the last packet); the
  // read loop goes on, into a core that ignores it, until the peer closes too.
  const shutWrite = () => {
    if (closed || shut) return;
    shut = true;
    conn.closeWrite().catch(closeConn);
  };
  const pump = async () => {
    if (writing) return;
    writing = true;
    try {
      while (pendingBytes > 0 && !closed) {
        const buf = concatBytes(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        for (let off = 0; off < buf.byteLength;) off += await conn.write(buf.subarray(off));
        if (backpressured && pendingBytes < HIGH_WATER_MARK / 2) {
          backpressured = false;
          sink()?.drain();
        }
      }
    } catch {
      closeConn(); // the read loop sees the end and tells the core
    } finally {
      writing = false;
    }
    if (closing) shutWrite();
  };
  return {
    info: { remoteAddress: conn.remoteAddr.hostname, remotePort: conn.remoteAddr.port, transport },
    write(bytes: Uint8Array): boolean {
      if (closed) return true;
      if (pendingBytes === 0 && !writing) queueMicrotask(pump);
      pending.push(bytes);
      pendingBytes += bytes.byteLength;
      if (pendingBytes >= HIGH_WATER_MARK) backpressured = true;
      return !backpressured;
    },
    // No read while paused: the kernel's window then slows the peer down.
    pause(): void {
      gate.wait ??= new Promise((resolve) => (gate.open = resolve));
    },
    resume(): void {
      const open = gate.open;
      gate.wait = undefined;
      gate.open = undefined;
      open?.();
    },
    close(): void {
      closing = true;
      // A paused read loop must still see the end.
      this.resume!();
      if (!writing && pendingBytes === 0) shutWrite();
      // A peer that never reads or never closes is cut off.
      Deno.unrefTimer(setTimeout(closeConn, 2000) as unknown as number);
    },
  };
}

async function serveConn(acceptor: Acceptor, conn: Deno.Conn, transport: Transport): Promise<void> {
  try {
    conn.setNoDelay?.(true); // Nagle's algorithm would hold small packets back
  } catch { /* not a TCP connection */ }
  let sink: DuplexSink | undefined;
  const gate: ReadGate = { wait: undefined, open: undefined };
  sink = acceptor.accept(connDuplex(conn, transport, () => sink, gate));
  // Each connection has its own read buffer (reads are concurrent), so it
  // starts small and grows only for a connection that fills it: an idle
  // connection holds 2 KiB, not 64.
  let buf = new Uint8Array(MIN_READ_SIZE);
  try {
    for (;;) {
      if (gate.wait !== undefined) await gate.wait;
      const n = await conn.read(buf);
      if (n === null) break;
      sink.data(buf.slice(0, n)); // a copy the core may keep views into
      if (n === buf.byteLength && buf.byteLength < MAX_READ_SIZE) buf = new Uint8Array(buf.byteLength * 4);
    }
  } catch { /* reset or closed: the end either way */ }
  sink.end();
  try {
    conn.close();
  } catch { /* already closed */ }
}

function listenSocket(acceptor: Acceptor, config: ListenerConfig): BoundListener {
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

function webSocketDuplex(socket: WebSocket, transport: "ws" | "wss", remote: Deno.NetAddr, host: string | undefined, sink: () => DuplexSink | undefined): Duplex {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let backpressured = false;
  const flush = () => {
    const frame = concatBytes(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    if (frame.byteLength > 0 && socket.readyState === WebSocket.OPEN) socket.send(frame); // binary [MQTT-6.0.0-1]
    if (backpressured) {
      // The WebSocket API has no drain event: look again shortly.
      const check = () => {
        if (socket.readyState !== WebSocket.OPEN) return;
        if (socket.bufferedAmount < HIGH_WATER_MARK / 2) {
          backpressured = false;
          sink()?.drain();
        } else setTimeout(check, 10);
      };
      setTimeout(check, 10);
    }
  };
  return {
    info: { remoteAddress: remote.hostname, remotePort: remote.port, transport, serverName: host },
    write(bytes: Uint8Array): boolean {
      if (pending.length === 0) queueMicrotask(flush);
      pending.push(bytes);
      pendingBytes += bytes.byteLength;
      if (socket.bufferedAmount + pendingBytes >= HIGH_WATER_MARK) backpressured = true;
      return !backpressured;
    },
    close(): void {
      flush();
      try {
        socket.close(1000);
      } catch { /* already closing */ }
    },
  };
}

function listenWebSocket(acceptor: Acceptor, config: ListenerConfig): Promise<BoundListener> {
  const transport = config.protocol === "wss" ? "wss" : "ws";
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: config.host,
        port: config.port,
        cert: transport === "wss" ? Deno.readTextFileSync(config.cert!) : undefined,
        key: transport === "wss" ? Deno.readTextFileSync(config.key!) : undefined,
        onListen: (addr) => resolve({
          protocol: config.protocol, host: config.host, port: addr.port,
          close: () => server.shutdown(),
        }),
      }, (req, info) => {
        if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
          return new Response("edgemq speaks MQTT over WebSocket here: connect with a WebSocket client and subprotocol \"mqtt\".\n", {
            status: 426, headers: { upgrade: "websocket" },
          });
        }
        if (!upgradePathAllowed(new URL(req.url).pathname, config.path)) return new Response("not found\n", { status: 404 });
        const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").filter((p) => p.trim() !== "");
        // The request and its info are gone once the handler returns: read them now.
        const remote = { hostname: info.remoteAddr.hostname, port: info.remoteAddr.port };
        const host = req.headers.get("host")?.replace(/:\d+$/, "");
        const { socket, response } = Deno.upgradeWebSocket(req, { protocol: chooseSubprotocol(offered) }); // [MQTT-6.0.0-4]
        socket.binaryType = "arraybuffer";
        let sink: DuplexSink | undefined;
        socket.onopen = () => {
          sink = acceptor.accept(webSocketDuplex(socket, transport, remote, host, () => sink));
        };
        socket.onmessage = (event) => {
          if (typeof event.data === "string") {
            socket.close(1003, "MQTT needs binary frames"); // [MQTT-6.0.0-1]
            return;
          }
          sink?.data(new Uint8Array(event.data as ArrayBuffer)); // frames are a byte stream [MQTT-6.0.0-2]
        };
        socket.onclose = () => sink?.end();
        socket.onerror = () => {};
        return response;
      });
    } catch (e) {
      reject(e);
    }
  });
}

/** Starts one listener of any kind feeding the acceptor (a broker or a router). */
export async function listen(acceptor: Acceptor, config: ListenerConfig): Promise<BoundListener> {
  return config.protocol === "ws" || config.protocol === "wss" ? listenWebSocket(acceptor, config) : listenSocket(acceptor, config);
}
