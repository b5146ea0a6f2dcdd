import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import type { Broker } from "../../../packages/core/src/broker/broker.ts";
import type { Duplex, DuplexSink, Transport } from "../../../packages/core/src/transport/duplex.ts";
import type { ListenerConfig } from "../../../packages/server/src/config.ts";
import { listenWebSocket } from "./websocket.ts";

/** A bound listener. */
export interface Listener {
  protocol: ListenerConfig["protocol"];
  host: string;
  /** The port actually bound (useful with port 0). */
  port: number;
  /** Stops accepting; open connections are left to the broker. */
  close(): Promise<void>;
}

// Bytes a socket may buffer before write() reports backpressure to the core.
const HIGH_WATER_MARK = 1024 * 1024;

/**
 * Wraps a Node socket as the core's Duplex. Writes made in one turn of the
 * event loop are corked and leave as one writev when it ends.
 */
export function toDuplex(socket: net.Socket, transport: Transport): Duplex {
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  const tlsSocket = socket as tls.TLSSocket;
  const peer = transport === "tls" && tlsSocket.authorized ? tlsSocket.getPeerCertificate() : undefined;
  return {
    info: {
      remoteAddress: socket.remoteAddress ?? "",
      remotePort: socket.remotePort ?? 0,
      transport,
      serverName: transport === "tls" ? (tlsSocket.servername || undefined) : undefined,
      clientCertificateSubject: [peer?.subject?.CN].flat()[0],
    },
    write(bytes: Uint8Array): boolean {
      if (socket.destroyed) return true;
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      socket.write(bytes);
      return socket.writableLength < HIGH_WATER_MARK;
    },
    close(): void {
      // Send what is queued, then close; a peer that never reads is cut off.
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
    },
  };
}

/** Feeds a socket's events into the core. */
export function attach(socket: net.Socket, sink: DuplexSink): void {
  socket.on("data", (chunk: Buffer) => sink.data(chunk));
  socket.on("drain", () => sink.drain());
  socket.on("error", () => {}); // "close" follows every error
  socket.on("close", () => sink.end());
}

/** Starts one TCP or TLS listener feeding the broker. */
export function listen(broker: Broker, config: ListenerConfig): Promise<Listener> {
  const onSocket = (transport: Transport) => (socket: net.Socket) => {
    socket.setNoDelay(true); // Nagle's algorithm would hold small packets back
    attach(socket, broker.accept(toDuplex(socket, transport)));
  };
  let server: net.Server;
  if (config.protocol === "tcp") {
    server = net.createServer({ noDelay: true }, onSocket("tcp"));
  } else if (config.protocol === "tls") {
    server = tls.createServer({
      cert: readFileSync(config.cert!),
      key: readFileSync(config.key!),
      ca: config.ca ? readFileSync(config.ca) : undefined,
      requestCert: config.requestCert ?? false,
      rejectUnauthorized: config.requestCert ?? false,
    }, onSocket("tls"));
  } else {
    return listenWebSocket(broker, config);
  }
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      const address = server.address() as net.AddressInfo;
      resolve({
        protocol: config.protocol,
        host: config.host,
        port: address.port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
