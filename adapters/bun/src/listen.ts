import type { Acceptor } from "@edgemq/core";
import type { BoundListener, ListenerConfig, ListenerErrorReport } from "@edgemq/server";
import { listenSocket } from "./socket.ts";
import { listenWebSocket } from "./websocket.ts";

/** A bound listener: its protocol, address, the port actually bound (useful with port 0) and how to stop it. */
export type Listener = BoundListener;

/** Starts one listener of any kind (TCP, TLS, WebSocket) feeding the acceptor (a broker or a router). */
export async function listen(acceptor: Acceptor, config: ListenerConfig, onError: ListenerErrorReport = () => {}): Promise<Listener> {
  return config.protocol === "ws" || config.protocol === "wss" ? listenWebSocket(acceptor, config) : listenSocket(acceptor, config, onError);
}
