// The few Deno APIs this adapter uses, declared here so that type-checking
// needs no Deno type package.
export {};

declare global {
  namespace Deno {
    interface NetAddr {
      hostname: string;
      port: number;
    }
    interface Conn {
      readonly remoteAddr: NetAddr;
      read(p: Uint8Array): Promise<number | null>;
      write(p: Uint8Array): Promise<number>;
      close(): void;
      /** Shuts the write half down (FIN; close_notify on TLS) and keeps reading. */
      closeWrite(): Promise<void>;
      setNoDelay?(noDelay?: boolean): void;
    }
    interface Listener extends AsyncIterable<Conn> {
      readonly addr: NetAddr;
      accept(): Promise<Conn>;
      close(): void;
    }
    interface HttpServer {
      readonly addr: NetAddr;
      shutdown(): Promise<void>;
    }
    interface ServeHandlerInfo {
      remoteAddr: NetAddr;
    }
    /** The error classes Deno's I/O throws (only those this adapter tells apart). */
    namespace errors {
      class BadResource extends Error {}
      class Interrupted extends Error {}
      class NotConnected extends Error {}
      class ConnectionReset extends Error {}
      class ConnectionAborted extends Error {}
    }
    const args: string[];
    const version: { deno: string };
    const env: { toObject(): Record<string, string> };
    function readTextFileSync(path: string): string;
    function exit(code?: number): never;
    function unrefTimer(id: number): void;
    function addSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
    function listen(options: { hostname: string; port: number; transport?: "tcp" }): Listener;
    function listenTls(options: { hostname: string; port: number; cert: string; key: string }): Listener;
    function serve(
      options: { hostname: string; port: number; cert?: string; key?: string; onListen?: (addr: NetAddr) => void },
      handler: (req: Request, info: ServeHandlerInfo) => Response | Promise<Response>,
    ): HttpServer;
    function upgradeWebSocket(req: Request, options?: { protocol?: string }): { socket: WebSocket; response: Response };
  }
}
