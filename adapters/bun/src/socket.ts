/// <reference path="./runtime.d.ts" />
import { readFileSync } from "node:fs";
import type { Acceptor, ConnInfo, Transport } from "@edgemq/core";
import { type BoundListener, BufferedDuplex, type ListenerConfig, type ListenerErrorReport, type RawSocket } from "@edgemq/server";

/** Each socket's data: its duplex, once accepted (a TLS socket after its handshake). */
type SocketData = BufferedDuplex | undefined;

/** A Bun.listen socket as the shared duplex's raw socket. */
class BunRawSocket implements RawSocket {
  readonly socket: BunSocket<SocketData>;

  constructor(socket: BunSocket<SocketData>) {
    this.socket = socket;
  }

  // Bun takes what the kernel accepts now and says how much; the duplex holds the rest until `drain`.
  write(bytes: Uint8Array): number {
    return this.socket.write(bytes);
  }

  buffered(): number {
    return 0;
  }

  // shutdown() shuts the write half only; end() and shutdown(true) left peers that were still sending with a reset (measured on Bun 1.4).
  shutdown(): void {
    if (this.socket.shutdown) this.socket.shutdown();
    else this.socket.end();
  }

  close(): void {
    if (this.socket.terminate) this.socket.terminate();
    else this.socket.end();
  }

  // No reads while paused: the kernel's window then slows the peer down.
  pause(): void {
    this.socket.pause?.();
  }

  resume(): void {
    this.socket.resume?.();
  }
}

function connInfo(socket: BunSocket<SocketData>, transport: Transport): ConnInfo {
  const peer = transport === "tls" && socket.authorized ? socket.getPeerCertificate?.() : undefined;
  return {
    remoteAddress: socket.remoteAddress,
    remotePort: 0,
    transport,
    serverName: transport === "tls" ? socket.getServername?.() : undefined,
    clientCertificateSubject: [peer?.subject?.CN].flat()[0],
  };
}

/** Starts one TCP or TLS listener (Bun.listen) feeding the acceptor (a broker or a router). */
export function listenSocket(acceptor: Acceptor, config: ListenerConfig, onError: ListenerErrorReport = () => {}): BoundListener {
  const transport: Transport = config.protocol === "tls" ? "tls" : "tcp";
  const accept = (socket: BunSocket<SocketData>) => {
    socket.setNoDelay?.(true); // Nagle's algorithm would hold small packets back
    socket.data = new BufferedDuplex(new BunRawSocket(socket), connInfo(socket, transport)).connect(acceptor);
  };
  const server = Bun.listen<SocketData>({
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
        socket.data?.received(new Uint8Array(data));
      },
      drain(socket) {
        socket.data?.drained();
      },
      close(socket) {
        socket.data?.ended();
      },
      error(_socket, error) {
        onError("a connection", error, "debug"); // "close" follows
      },
    },
  });
  return {
    protocol: config.protocol, host: config.host, port: server.port,
    close: async () => server.stop(false),
  };
}
