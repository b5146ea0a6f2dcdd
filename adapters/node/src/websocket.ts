import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type net from "node:net";
import { type WebSocket, WebSocketServer } from "ws";
import type { Acceptor, Duplex, DuplexSink } from "@edgemq/core";
import { chooseSubprotocol, type ListenerConfig, maximumFrameSize, upgradePathAllowed } from "@edgemq/server";
import { bind, type Listener } from "./listen.ts";

// Bytes a WebSocket may buffer before write() reports backpressure to the core.
const HIGH_WATER_MARK = 1024 * 1024;

/**
 * Wraps a WebSocket as the core's Duplex. Packets written in one turn of the
 * event loop leave as one binary frame: MQTT does not align packets with
 * frames [MQTT-6.0.0-2], and fewer frames cost less.
 */
export function webSocketDuplex(ws: WebSocket, req: http.IncomingMessage, transport: "ws" | "wss", sink: () => DuplexSink | undefined): Duplex {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let backpressured = false;
  const flush = () => {
    const chunks = pending;
    const size = pendingBytes;
    pending = [];
    pendingBytes = 0;
    if (ws.readyState !== ws.OPEN) return;
    const frame = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    ws.send(frame, { binary: true }, () => {
      if (backpressured && ws.bufferedAmount < HIGH_WATER_MARK / 2) {
        backpressured = false;
        sink()?.drain();
      }
    }); // [MQTT-6.0.0-1] binary frames only
  };
  const socket = req.socket as net.Socket;
  return {
    info: {
      remoteAddress: socket.remoteAddress ?? "",
      remotePort: socket.remotePort ?? 0,
      transport,
      serverName: req.headers.host?.replace(/:\d+$/, ""),
    },
    write(bytes: Uint8Array): boolean {
      if (pending.length === 0) process.nextTick(flush);
      pending.push(bytes);
      pendingBytes += bytes.byteLength;
      if (ws.bufferedAmount + pendingBytes >= HIGH_WATER_MARK) backpressured = true;
      return !backpressured;
    },
    // Paused, ws stops reading the socket: the peer is slowed by TCP, not buffered here.
    pause(): void {
      ws.pause();
    },
    resume(): void {
      ws.resume();
    },
    close(): void {
      // Let queued packets (a DISCONNECT, say) leave before the close frame.
      if (pending.length > 0) flush();
      ws.close(1000);
      setTimeout(() => ws.terminate(), 2000).unref();
    },
  };
}

/** Starts a ws:// or wss:// listener feeding the acceptor (a broker or a router). Other HTTP requests get 426. */
export function listenWebSocket(acceptor: Acceptor, config: ListenerConfig): Promise<Listener> {
  const transport = config.protocol === "wss" ? "wss" : "ws";
  const onRequest = (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(426, { "content-type": "text/plain", upgrade: "websocket" });
    res.end("edgemq speaks MQTT over WebSocket here: connect with a WebSocket client and subprotocol \"mqtt\".\n");
  };
  const server = transport === "wss"
    ? https.createServer({ cert: readFileSync(config.cert!), key: readFileSync(config.key!) }, onRequest)
    : http.createServer(onRequest);
  const wss = new WebSocketServer({
    noServer: true,
    // A frame may hold more than one packet, so its limit is looser than the packet
    // limit, which the MQTT decoder enforces from each packet's header (0x95).
    maxPayload: maximumFrameSize(acceptor.limits.maximumPacketSize),
    perMessageDeflate: false,
    handleProtocols: (offered: Set<string>) => chooseSubprotocol(offered) ?? false,
  });
  server.on("upgrade", (req, socket, head) => {
    if (!upgradePathAllowed(req.url ?? "/", config.path)) {
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n");
      return;
    }
    (socket as net.Socket).setNoDelay(true);
    wss.handleUpgrade(req, socket, head, (ws) => {
      let sink: DuplexSink | undefined;
      sink = acceptor.accept(webSocketDuplex(ws, req, transport, () => sink));
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        if (!isBinary) {
          ws.close(1003, "MQTT needs binary frames"); // [MQTT-6.0.0-1]
          return;
        }
        sink!.data(data);
      });
      ws.on("error", () => {});
      ws.on("close", () => sink!.end());
    });
  });
  // Open WebSockets end with the broker's DISCONNECT and a close handshake;
  // stopping the listener leaves them to it rather than cutting that last frame.
  return bind(server, config, () => wss.close());
}
