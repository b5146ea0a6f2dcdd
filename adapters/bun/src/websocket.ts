/// <reference path="./runtime.d.ts" />
import { readFileSync } from "node:fs";
import type { Acceptor, ConnInfo } from "@edgemq/core";
import {
  type BoundListener, BufferedDuplex, chooseSubprotocol, type ListenerConfig, maximumFrameSize, type RawSocket, upgradePathAllowed,
} from "@edgemq/server";

/** Each WebSocket's data: what the upgrade request told, then its duplex. */
interface WebSocketData {
  info: ConnInfo;
  duplex: BufferedDuplex | undefined;
}

/** A Bun.serve WebSocket as the shared duplex's raw socket: each write is one binary frame. */
class BunRawWebSocket implements RawSocket {
  readonly ws: BunServerWebSocket<WebSocketData>;

  constructor(ws: BunServerWebSocket<WebSocketData>) {
    this.ws = ws;
  }

  // A Uint8Array goes as a binary frame [MQTT-6.0.0-1]; Bun queues what the socket does not take.
  write(bytes: Uint8Array): boolean {
    this.ws.send(bytes);
    return true;
  }

  buffered(): number {
    return this.ws.getBufferedAmount();
  }

  // The close frame leaves after the queued frames; Bun reads on until the peer's close frame.
  shutdown(): void {
    this.ws.close(1000);
  }

  close(): void {
    if (this.ws.terminate) this.ws.terminate();
    else this.ws.close();
  }

  // Bun stops reading the socket under a paused WebSocket: the peer is slowed by TCP.
  pause(): void {
    this.ws.pause?.();
  }

  resume(): void {
    this.ws.resume?.();
  }
}

/** Starts a ws:// or wss:// listener (Bun.serve) feeding the acceptor (a broker or a router). Other HTTP requests get 426. */
export function listenWebSocket(acceptor: Acceptor, config: ListenerConfig): BoundListener {
  const transport = config.protocol === "wss" ? "wss" : "ws";
  const server = Bun.serve<WebSocketData>({
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
      const info: ConnInfo = {
        remoteAddress: srv.requestIP(req)?.address ?? "", remotePort: 0, transport, serverName: req.headers.get("host")?.replace(/:\d+$/, ""),
      };
      if (srv.upgrade(req, { data: { info, duplex: undefined }, headers: protocol ? { "Sec-WebSocket-Protocol": protocol } : {} })) return undefined; // [MQTT-6.0.0-4]
      return new Response("WebSocket upgrade failed\n", { status: 400 });
    },
    websocket: {
      maxPayloadLength: maximumFrameSize(acceptor.limits.maximumPacketSize), // frames may hold several packets
      perMessageDeflate: false,
      open(ws) {
        ws.data.duplex = new BufferedDuplex(new BunRawWebSocket(ws), ws.data.info).connect(acceptor);
      },
      message(ws, message) {
        if (typeof message === "string") {
          ws.close(1003, "MQTT needs binary frames"); // [MQTT-6.0.0-1]
          return;
        }
        ws.data.duplex?.received(new Uint8Array(message)); // a copy the core may keep views into [MQTT-6.0.0-2]
      },
      drain(ws) {
        ws.data.duplex?.drained();
      },
      close(ws) {
        ws.data.duplex?.ended();
      },
    },
  });
  return {
    protocol: config.protocol, host: config.host, port: server.port,
    close: async () => server.stop(false),
  };
}
