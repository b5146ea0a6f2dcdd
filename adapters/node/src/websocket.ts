import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type net from "node:net";
import { type WebSocket, WebSocketServer } from "ws";
import type { Acceptor } from "@edgemq/core";
import {
  type BoundListener, BufferedDuplex, type BufferedDuplexOptions, chooseSubprotocol, type ListenerConfig, maximumFrameSize,
  type RawSocket, upgradePathAllowed,
} from "@edgemq/server";
import { bind } from "./bind.ts";

// Joined writes come from Node's buffer pool rather than a zeroed allocation each.
const OPTIONS: BufferedDuplexOptions = { alloc: (size) => Buffer.allocUnsafe(size) };
// ws copies its options, so one object serves every send.
const BINARY = { binary: true }; // [MQTT-6.0.0-1] binary frames only

/** A ws WebSocket as the shared duplex's raw socket: each write is one binary frame. */
class NodeWebSocket implements RawSocket {
  readonly ws: WebSocket;
  /** Called once a frame has gone to the socket (the duplex's drained). */
  sent: () => void = () => {};

  constructor(ws: WebSocket) {
    this.ws = ws;
  }

  // ws takes every frame and buffers it; bufferedAmount counts what has not gone yet.
  write(bytes: Uint8Array): boolean {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(bytes, BINARY, this.sent);
    return true;
  }

  buffered(): number {
    return this.ws.bufferedAmount;
  }

  // The close frame leaves after the queued frames; ws reads on until the peer's close frame.
  shutdown(): void {
    this.ws.close(1000);
  }

  close(): void {
    this.ws.terminate();
  }

  // Paused, ws stops reading the socket: the peer is slowed by TCP, not buffered here.
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }
}

function accept(acceptor: Acceptor, ws: WebSocket, req: http.IncomingMessage, transport: "ws" | "wss"): void {
  const socket = req.socket as net.Socket;
  const raw = new NodeWebSocket(ws);
  const duplex = new BufferedDuplex(raw, {
    remoteAddress: socket.remoteAddress ?? "",
    remotePort: socket.remotePort ?? 0,
    transport,
    serverName: req.headers.host?.replace(/:\d+$/, ""),
  }, OPTIONS).connect(acceptor);
  raw.sent = () => duplex.drained();
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    if (!isBinary) {
      ws.close(1003, "MQTT needs binary frames"); // [MQTT-6.0.0-1]
      return;
    }
    duplex.received(data);
  });
  ws.on("error", () => {});
  ws.on("close", () => duplex.ended());
}

/** Starts a ws:// or wss:// listener feeding the acceptor (a broker or a router). Other HTTP requests get 426. */
export function listenWebSocket(acceptor: Acceptor, config: ListenerConfig): Promise<BoundListener> {
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
    wss.handleUpgrade(req, socket, head, (ws) => accept(acceptor, ws, req, transport));
  });
  // Open WebSockets end with the broker's DISCONNECT and a close handshake;
  // stopping the listener leaves them to it rather than cutting that last frame.
  return bind(server, config, () => wss.close());
}
