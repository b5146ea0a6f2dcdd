/// <reference path="./runtime.d.ts" />
import type { Acceptor, ConnInfo } from "@edgemq/core";
import { type BoundListener, BufferedDuplex, type BufferedDuplexOptions, chooseSubprotocol, type ListenerConfig, type RawSocket, upgradePathAllowed } from "@edgemq/server";

// The WebSocket API has no drain event: a backpressured connection is looked at every 10 ms.
const OPTIONS: BufferedDuplexOptions = { drainPollMs: 10, unrefTimer: (timer) => Deno.unrefTimer(timer as unknown as number) };

/** A web-standard WebSocket (from Deno.upgradeWebSocket) as the shared duplex's raw socket: each write is one binary frame. */
class DenoRawWebSocket implements RawSocket {
  readonly socket: WebSocket;

  constructor(socket: WebSocket) {
    this.socket = socket;
  }

  // Bytes go as a binary frame [MQTT-6.0.0-1]; bufferedAmount counts what has not gone yet.
  write(bytes: Uint8Array): boolean {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(bytes as Uint8Array<ArrayBuffer>); // the core writes over ArrayBuffers: no copy
    return true;
  }

  buffered(): number {
    return this.socket.bufferedAmount;
  }

  // The close frame leaves after the queued frames; the socket reads on until the peer's close frame.
  shutdown(): void {
    try {
      this.socket.close(1000);
    } catch { /* already closing */ }
  }

  // The WebSocket API cannot cut a connection short; the duplex tells the core it ended all the same.
  close(): void {}
}

/** Starts a ws:// or wss:// listener (Deno.serve) feeding the acceptor (a broker or a router). Other HTTP requests get 426. */
export function listenWebSocket(acceptor: Acceptor, config: ListenerConfig): Promise<BoundListener> {
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
      }, (req, serveInfo) => {
        if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
          return new Response("edgemq speaks MQTT over WebSocket here: connect with a WebSocket client and subprotocol \"mqtt\".\n", {
            status: 426, headers: { upgrade: "websocket" },
          });
        }
        if (!upgradePathAllowed(new URL(req.url).pathname, config.path)) return new Response("not found\n", { status: 404 });
        const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").filter((p) => p.trim() !== "");
        // The request and its info are gone once the handler returns: read them now.
        const info: ConnInfo = {
          remoteAddress: serveInfo.remoteAddr.hostname, remotePort: serveInfo.remoteAddr.port, transport,
          serverName: req.headers.get("host")?.replace(/:\d+$/, ""),
        };
        const { socket, response } = Deno.upgradeWebSocket(req, { protocol: chooseSubprotocol(offered) }); // [MQTT-6.0.0-4]
        socket.binaryType = "arraybuffer";
        let duplex: BufferedDuplex | undefined;
        socket.onopen = () => {
          duplex = new BufferedDuplex(new DenoRawWebSocket(socket), info, OPTIONS).connect(acceptor);
        };
        socket.onmessage = (event) => {
          if (typeof event.data === "string") {
            socket.close(1003, "MQTT needs binary frames"); // [MQTT-6.0.0-1]
            return;
          }
          duplex?.received(new Uint8Array(event.data as ArrayBuffer)); // frames are a byte stream [MQTT-6.0.0-2]
        };
        socket.onclose = () => duplex?.ended();
        socket.onerror = () => {};
        return response;
      });
    } catch (e) {
      reject(e);
    }
  });
}
