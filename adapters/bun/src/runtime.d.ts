// The few Bun APIs this adapter uses, declared here so that type-checking
// needs no Bun type package (as hono does for its adapters).
export {};

declare global {
  interface BunSocket<T> {
    data: T;
    readonly remoteAddress: string;
    readonly authorized?: boolean;
    write(data: Uint8Array): number;
    end(): void;
    /** Shuts the write half down (FIN) and keeps reading. */
    shutdown?(halfClose?: boolean): void;
    terminate?(): void;
    setNoDelay?(noDelay?: boolean): boolean;
    pause?(): void;
    resume?(): void;
    getPeerCertificate?(): { subject?: { CN?: string | string[] } } | undefined;
    getServername?(): string | undefined;
  }
  interface BunSocketListener {
    readonly port: number;
    stop(closeActiveConnections?: boolean): void;
  }
  interface BunServerWebSocket<T> {
    data: T;
    readonly remoteAddress: string;
    send(data: Uint8Array, compress?: boolean): number;
    close(code?: number, reason?: string): void;
    terminate?(): void;
    getBufferedAmount(): number;
    pause?(): void;
    resume?(): void;
  }
  interface BunServer {
    readonly port: number;
    upgrade(req: Request, options?: { headers?: Record<string, string>; data?: unknown }): boolean;
    requestIP(req: Request): { address: string; port: number } | null;
    stop(closeActiveConnections?: boolean): void;
  }
  interface BunTlsOptions {
    cert?: string;
    key?: string;
    ca?: string;
    requestCert?: boolean;
    rejectUnauthorized?: boolean;
  }
  const Bun: {
    readonly version: string;
    listen<T>(options: {
      hostname: string;
      port: number;
      tls?: BunTlsOptions;
      socket: {
        open?(socket: BunSocket<T>): void;
        data?(socket: BunSocket<T>, data: Uint8Array): void;
        drain?(socket: BunSocket<T>): void;
        close?(socket: BunSocket<T>): void;
        error?(socket: BunSocket<T>, error: Error): void;
        handshake?(socket: BunSocket<T>, success: boolean, authorizationError: Error | null): void;
      };
    }): BunSocketListener;
    serve<T>(options: {
      hostname: string;
      port: number;
      tls?: BunTlsOptions;
      fetch(req: Request, server: BunServer): Response | undefined | Promise<Response | undefined>;
      websocket?: {
        maxPayloadLength?: number;
        perMessageDeflate?: boolean;
        open?(ws: BunServerWebSocket<T>): void;
        message?(ws: BunServerWebSocket<T>, message: string | Uint8Array): void;
        drain?(ws: BunServerWebSocket<T>): void;
        close?(ws: BunServerWebSocket<T>, code: number, reason: string): void;
      };
    }): BunServer;
  };
}
