/** How a connection reached the server. */
export type Transport = "tcp" | "tls" | "ws" | "wss" | "memory";

/** What the adapter knows about a connection's peer. */
export interface ConnInfo {
  remoteAddress: string;
  remotePort: number;
  transport: Transport;
  /** The TLS SNI server name or WebSocket Host header, when there is one. */
  serverName?: string;
  /** The verified client certificate's subject, for mutual TLS. */
  clientCertificateSubject?: string;
}

/** What an adapter gives the core for one accepted connection. */
export interface Duplex {
  readonly info: ConnInfo;
  /** Queues bytes to send; false means the socket is backed up and the core should wait for `drain`. */
  write(bytes: Uint8Array): boolean;
  /** Closes the connection once queued bytes are sent. */
  close(): void;
  /** Stops reading from the peer (a publisher the on-publish hook cannot keep up with) until {@link resume}. */
  pause?(): void;
  /** Reads from the peer again after {@link pause}. */
  resume?(): void;
  /** Hands later reads to another sink: a router that chose the broker steps out of the way (nothing kept per connection). */
  redirect?(sink: DuplexSink): void;
}

/** What the core gives back: the adapter pushes what it reads and sees. */
export interface DuplexSink {
  /** Bytes arrived (the core may keep views into them: pass fresh buffers). */
  data(bytes: Uint8Array): void;
  /** The socket can take more bytes after `write` returned false. */
  drain(): void;
  /** The socket closed, by either side or by an error. */
  end(error?: unknown): void;
}

/** What takes accepted connections: a broker, or a router in front of several. */
export interface Acceptor {
  /** Takes a new connection; the adapter pushes its reads into the result. */
  accept(duplex: Duplex): DuplexSink;
  /** The limits adapters size their buffers and WebSocket frames by. */
  readonly limits: { readonly maximumPacketSize: number };
}
