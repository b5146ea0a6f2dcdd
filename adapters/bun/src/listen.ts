/// <reference path="./runtime.d.ts" />
import { readFileSync } from "node:fs";
import type { Acceptor, Duplex, DuplexSink, Transport } from "@edgemq/core";
import {
  type BoundListener, chooseSubprotocol, concatBytes, type ListenerConfig, maximumFrameSize, upgradePathAllowed,
} from "@edgemq/server";

// Bytes held for a socket before write() reports backpressure to the core.
const HIGH_WATER_MARK = 1024 * 1024;

/** Per-socket state: the core's sink and the bytes the socket has not taken yet. */
interface SocketState {
  sink: DuplexSink | undefined;
  pending: Uint8Array[];
  pendingBytes: number;
  scheduled: boolean;
  backpressured: boolean;
  closing: boolean;
}

//
// Bun's socket.write() takes what the kernel accepts now and returns how many
// bytes that was; the rest is ours to keep until `drain`. Writes made in one
// turn are gathered and leave as one write in a microtask.
//
function flush(socket: BunSocket<SocketState>): void {
  const s = socket.data;
  s.scheduled = false;
  if (s.pendingBytes === 0) return;
  const bytes = concatBytes(s.pending, s.pendingBytes);
  const written = socket.write(bytes);
  const rest = written < 0 ? bytes : bytes.subarray(written);
  s.pending = rest.byteLength > 0 ? [rest] : [];
  s.pendingBytes = rest.byteLength;
  if (s.pendingBytes === 0 && s.closing) halfClose(socket);
}

// Closing with bytes from the peer still unread makes the kernel reset the
// connection, and a reset can destroy the DISCONNECT just sent before the
// peer reads it. So only our side is shut (FIN after the last packet) and
// reading goes on, into a core that ignores it, until the peer closes too.
function halfClose(socket: BunSocket<SocketState>): void {
  socket.resume?.();
  // shutdown() shuts the write half only; end() and shutdown(true) left peers that were still sending with a reset (measured on Bun 1.4).
  if (socket.shutdown) socket.shutdown();
  else socket.end();
}

function socketDuplex(socket: BunSocket<SocketState>, transport: Transport): Duplex {
  const s = socket.data;
  const peer = transport === "tls" && socket.authorized ? socket.getPeerCertificate?.() : undefined;
  return {
    info: {
      remoteAddress: socket.remoteAddress,
      remotePort: 0,
      transport,
      serverName: transport === "tls" ? socket.getServername?.() : undefined,
      clientCertificateSubject: [peer?.subject?.CN].flat()[0],
    },
    write(bytes: Uint8Array): boolean {
      s.pending.push(bytes);
      s.pendingBytes += bytes.byteLength;
      if (!s.scheduled) {
        s.scheduled = true;
        queueMicrotask(() => flush(socket));
      }
      if (s.pendingBytes >= HIGH_WATER_MARK) s.backpressured = true;
      return !s.backpressured;
    },
    // No reads while paused: the kernel's window then slows the peer down.
    pause(): void {
      socket.pause?.();
    },
    resume(): void {
      socket.resume?.();
    },
    close(): void {
      s.closing = true;
      if (s.pendingBytes === 0) halfClose(socket);
      setTimeout(() => socket.terminate?.() ?? socket.end(), 2000);
    },
  };
}

function listenSocket(acceptor: Acceptor, config: ListenerConfig): BoundListener {
  const transport: Transport = config.protocol === "tls" ? "tls" : "tcp";
  const accept = (socket: BunSocket<SocketState>) => {
    socket.setNoDelay?.(true); // Nagle's algorithm would hold small packets back
    socket.data = { sink: undefined, pending: [], pendingBytes: 0, scheduled: false, backpressured: false, closing: false };
    socket.data.sink = acceptor.accept(socketDuplex(socket, transport));
  };
  const server = Bun.listen<SocketState>({
    hostname: config.host,
    port: config.port,
    tls: transport === "tls"
      ? {
        cert: readFileSync(config.cert!, "utf8"), key: readFileSync(config.key!, "utf8"),
        ca: config.ca ? readFileSync(config.ca, "utf8") : undefined,
        // With a CA, certificates are asked for; only --tls-client-auth makes them required.
        requestCert: config.requestCert === true || config.ca !== undefined, rejectUnauthorized: config.requestCert ?? false,
      }
      : undefined,
    socket: {
      open(socket) {
        // A TLS socket is handed to the core once its handshake succeeds.
        if (transport === "tcp") accept(socket);
      },
      handshake(socket, success, authorizationError) {
        if (!success || (config.requestCert && authorizationError)) {
          socket.end();
          return;
        }
        accept(socket);
      },
      // The core may keep views into the bytes, so it gets its own copy.
      data(socket, data) {
        socket.data?.sink?.data(new Uint8Array(data));
      },
      drain(socket) {
        const s = socket.data;
        if (!s) return;
        flush(socket);
        if (s.backpressured && s.pendingBytes < HIGH_WATER_MARK / 2) {
          s.backpressured = false;
          s.sink?.drain();
        }
      },
      close(socket) {
        socket.data?.sink?.end();
      },
      error() {},
    },
  });
  return {
    protocol: config.protocol, host: config.host, port: server.port,
    close: async () => server.stop(false),
  };
}

interface WebSocketState {
  sink: DuplexSink | undefined;
  transport: "ws" | "wss";
  host: string | undefined;
  remoteAddress: string;
  pending: Uint8Array[];
  pendingBytes: number;
  backpressured: boolean;
}

function webSocketDuplex(ws: BunServerWebSocket<WebSocketState>): Duplex {
  const s = ws.data;
  const flushFrame = () => {
    const frame = concatBytes(s.pending, s.pendingBytes);
    s.pending = [];
    s.pendingBytes = 0;
    if (frame.byteLength > 0) ws.send(frame); // a Uint8Array goes as a binary frame [MQTT-6.0.0-1]
  };
  return {
    info: { remoteAddress: s.remoteAddress, remotePort: 0, transport: s.transport, serverName: s.host },
    write(bytes: Uint8Array): boolean {
      if (s.pending.length === 0) queueMicrotask(flushFrame);
      s.pending.push(bytes);
      s.pendingBytes += bytes.byteLength;
      if (ws.getBufferedAmount() + s.pendingBytes >= HIGH_WATER_MARK) s.backpressured = true;
      return !s.backpressured;
    },
    // Bun stops reading the socket under a paused WebSocket: the peer is slowed by TCP.
    pause(): void {
      ws.pause?.();
    },
    resume(): void {
      ws.resume?.();
    },
    close(): void {
      flushFrame();
      ws.close(1000);
    },
  };
}

function listenWebSocket(acceptor: Acceptor, config: ListenerConfig): BoundListener {
  const transport = config.protocol === "wss" ? "wss" : "ws";
  const server = Bun.serve<WebSocketState>({
    hostname: config.host,
    port: config.port,
    tls: transport === "wss" ? { cert: readFileSync(config.cert!, "utf8"), key: readFileSync(config.key!, "utf8") } : undefined,
    fetch(req, srv) {
      if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return new Response("edgemq speaks MQTT over WebSocket here: connect with a WebSocket client and subprotocol \"mqtt\".\n", {
          status: 426, headers: { upgrade: "websocket" },
        });
      }
      if (!upgradePathAllowed(new URL(req.url).pathname, config.path)) return new Response("not found\n", { status: 404 });
      const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").filter((p) => p.trim() !== "");
      const protocol = chooseSubprotocol(offered);
      const data: WebSocketState = {
        sink: undefined, transport, host: req.headers.get("host")?.replace(/:\d+$/, ""),
        remoteAddress: srv.requestIP(req)?.address ?? "", pending: [], pendingBytes: 0, backpressured: false,
      };
      if (srv.upgrade(req, { data, headers: protocol ? { "Sec-WebSocket-Protocol": protocol } : {} })) return undefined; // [MQTT-6.0.0-4]
      return new Response("WebSocket upgrade failed\n", { status: 400 });
    },
    websocket: {
      maxPayloadLength: maximumFrameSize(acceptor.limits.maximumPacketSize), // frames may hold several packets
      perMessageDeflate: false,
      open(ws) {
        ws.data.sink = acceptor.accept(webSocketDuplex(ws));
      },
      message(ws, message) {
        if (typeof message === "string") {
          ws.close(1003, "MQTT needs binary frames"); // [MQTT-6.0.0-1]
          return;
        }
        ws.data.sink?.data(new Uint8Array(message)); // a copy the core may keep views into [MQTT-6.0.0-2]
      },
      drain(ws) {
        const s = ws.data;
        if (s.backpressured && ws.getBufferedAmount() < HIGH_WATER_MARK / 2) {
          s.backpressured = false;
          s.sink?.drain();
        }
      },
      close(ws) {
        ws.data.sink?.end();
      },
    },
  });
  return {
    protocol: config.protocol, host: config.host, port: server.port,
    close: async () => server.stop(false),
  };
}

/** Starts one listener of any kind feeding the acceptor (a broker or a router). */
export async function listen(acceptor: Acceptor, config: ListenerConfig): Promise<BoundListener> {
  return config.protocol === "ws" || config.protocol === "wss" ? listenWebSocket(acceptor, config) : listenSocket(acceptor, config);
}
