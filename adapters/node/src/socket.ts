import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import type { Acceptor, ConnInfo, Transport } from "@edgemq/core";
import { type BoundListener, BufferedDuplex, type BufferedDuplexOptions, type ListenerConfig, type ListenerErrorReport, type RawSocket } from "@edgemq/server";
import { bind } from "./bind.ts";
import { quietResets } from "./quiet-resets.ts";

// Joined writes come from Node's buffer pool rather than a zeroed allocation each.
const OPTIONS: BufferedDuplexOptions = { alloc: (size) => Buffer.allocUnsafe(size) };

/** A Node TCP or TLS socket as the shared duplex's raw socket. */
class NodeSocket implements RawSocket {
  readonly socket: net.Socket;

  constructor(socket: net.Socket) {
    this.socket = socket;
  }

  // Node takes every write and buffers what the kernel does not; writableLength counts it.
  write(bytes: Uint8Array): boolean {
    if (!this.socket.destroyed) this.socket.write(bytes);
    return true;
  }

  buffered(): number {
    return this.socket.writableLength;
  }

  // end() sends FIN after the buffered bytes; "data" goes on until the peer's FIN closes the socket.
  shutdown(): void {
    this.socket.end();
  }

  close(): void {
    this.socket.destroy();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }
}

function connInfo(socket: net.Socket, transport: Transport): ConnInfo {
  const tlsSocket = socket as tls.TLSSocket;
  const peer = transport === "tls" && tlsSocket.authorized ? tlsSocket.getPeerCertificate() : undefined;
  return {
    remoteAddress: socket.remoteAddress ?? "",
    remotePort: socket.remotePort ?? 0,
    transport,
    serverName: transport === "tls" ? (tlsSocket.servername || undefined) : undefined,
    clientCertificateSubject: [peer?.subject?.CN].flat()[0],
  };
}

// The socket's duplex, kept on the socket so that one set of listener functions
// serves every connection: closures made per socket cost ~300 B each (issue 14).
const DUPLEX = Symbol("edgemq.duplex");
type Accepted = net.Socket & { [DUPLEX]: BufferedDuplex };

function onData(this: Accepted, chunk: Buffer): void {
  this[DUPLEX].received(chunk);
}

function onDrain(this: Accepted): void {
  this[DUPLEX].drained();
}

function onClose(this: Accepted): void {
  this[DUPLEX].ended();
}

function accept(acceptor: Acceptor, socket: net.Socket, transport: Transport, onSocketError: (e: Error) => void): void {
  socket.setNoDelay(true); // Nagle's algorithm would hold small packets back
  quietResets(socket);
  const accepted = socket as Accepted;
  accepted[DUPLEX] = new BufferedDuplex(new NodeSocket(socket), connInfo(socket, transport), OPTIONS);
  accepted[DUPLEX].connect(acceptor);
  socket.on("data", onData);
  socket.on("drain", onDrain);
  socket.on("error", onSocketError); // "close" follows every error
  socket.on("close", onClose);
}

/** Starts one TCP or TLS listener feeding the acceptor (a broker or a router). */
export function listenSocket(acceptor: Acceptor, config: ListenerConfig, onError: ListenerErrorReport = () => {}): Promise<BoundListener> {
  // One error listener per listener, shared by its sockets.
  const onSocketError = (e: Error) => onError("a connection", e, "debug");
  if (config.protocol === "tcp") {
    return bind(net.createServer({ noDelay: true }, (socket) => accept(acceptor, socket, "tcp", onSocketError)), config, undefined, onError);
  }
  const server = tls.createServer({
    cert: readFileSync(config.cert!),
    key: readFileSync(config.key!),
    ca: config.ca ? readFileSync(config.ca) : undefined,
    // With a CA, certificates are asked for; only --tls-client-auth makes them required.
    requestCert: config.requestCert === true || config.ca !== undefined,
    rejectUnauthorized: config.requestCert ?? false,
  }, (socket) => accept(acceptor, socket, "tls", onSocketError));
  // A handshake that fails or is reset: the socket is destroyed, the listener goes on.
  server.on("tlsClientError", (e) => onError("a TLS handshake", e, "debug"));
  return bind(server, config, undefined, onError);
}
