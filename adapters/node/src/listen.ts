import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import type { Acceptor, Duplex, DuplexSink, Transport } from "@edgemq/core";
import type { ListenerConfig } from "@edgemq/server";
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
 * Wraps a Node socket as the core's Duplex. Packets written in one turn of
 * the event loop are gathered and leave as one write when it ends: one copy
 * is cheaper than a writev of many small buffers (fan-out writes many).
 */
export function toDuplex(socket: net.Socket, transport: Transport): Duplex {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = () => {
    if (pending.length === 0) return;
    const chunks = pending;
    const size = pendingBytes;
    pending = [];
    pendingBytes = 0;
    if (!socket.destroyed) socket.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
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
      if (pending.length === 0) process.nextTick(flush);
      pending.push(bytes);
      pendingBytes += bytes.byteLength;
      return socket.writableLength + pendingBytes < HIGH_WATER_MARK;
    },
    // The core stops reading a publisher its on-publish hook cannot keep up with: TCP's window then slows the peer.
    pause(): void {
      socket.pause();
    },
    resume(): void {
      socket.resume();
    },
    close(): void {
      // Send what is queued, then close; a peer that never reads is cut off.
      flush();
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

/** Starts one TCP or TLS listener feeding the acceptor (a broker or a router). */
export function listen(acceptor: Acceptor, config: ListenerConfig): Promise<Listener> {
  const onSocket = (transport: Transport) => (socket: net.Socket) => {
    socket.setNoDelay(true); // Nagle's algorithm would hold small packets back
    attach(socket, acceptor.accept(toDuplex(socket, transport)));
  };
  let server: net.Server;
  if (config.protocol === "tcp") {
    server = net.createServer({ noDelay: true }, onSocket("tcp"));
  } else if (config.protocol === "tls") {
    server = tls.createServer({
      cert: readFileSync(config.cert!),
      key: readFileSync(config.key!),
      ca: config.ca ? readFileSync(config.ca) : undefined,
      // With a CA, certificates are asked for; only --tls-client-auth makes them required.
      requestCert: config.requestCert === true || config.ca !== undefined,
      rejectUnauthorized: config.requestCert ?? false,
    }, onSocket("tls"));
  } else {
    return listenWebSocket(acceptor, config);
  }
  return bind(server, config);
}

/** Binds a server to its configured address; `beforeClose` runs when the listener stops. */
export function bind(server: net.Server, config: ListenerConfig, beforeClose?: () => void): Promise<Listener> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve({
        protocol: config.protocol,
        host: config.host,
        port: (server.address() as net.AddressInfo).port,
        close: () => new Promise<void>((done) => {
          beforeClose?.();
          server.close(() => done());
        }),
      });
    });
  });
}
