// A TCP-to-WebSocket bridge for the parity runs: clients that only speak TCP
// (mosquitto_pub/sub, the raw test client) connect to it, and every byte
// crosses to the broker in WebSocket binary frames, so the broker sees a
// WebSocket connection for each of them.
import net from "node:net";
import WebSocket from "ws";

/** A running bridge. */
export interface WebSocketBridge {
  port: number;
  close(): Promise<void>;
}

/** Listens on a free loopback port and forwards each connection to `target` (ws://…). */
export function startWebSocketBridge(target: string): Promise<WebSocketBridge> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    const ws = new WebSocket(target, ["mqtt"], { perMessageDeflate: false });
    const early: Buffer[] = [];
    socket.on("data", (chunk) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(chunk, { binary: true });
      else early.push(chunk);
    });
    ws.on("open", () => {
      for (const chunk of early) ws.send(chunk, { binary: true });
      early.length = 0;
    });
    ws.on("message", (data: Buffer) => socket.write(data));
    // Either side closing closes the other, as a TCP connection would; end()
    // lets the last bytes (a DISCONNECT, say) reach the client first.
    ws.on("close", () => socket.end());
    ws.on("error", () => socket.destroy());
    socket.on("close", () => {
      sockets.delete(socket);
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    });
    socket.on("error", () => {});
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => new Promise<void>((done) => {
          for (const s of sockets) s.destroy();
          server.close(() => done());
        }),
      });
    });
  });
}
