import type { Broker } from "@edgemq/core";
import { type RunningServer, type RuntimeHost, serve, type ServerConfig } from "@edgemq/server";
import { serveHttp } from "./http.ts";
import { listen } from "./listen.ts";

/** Deno's listeners and timer, for the shared server runner. */
export const denoHost: Pick<RuntimeHost, "listen" | "every" | "serveHttp" | "clientCertificates"> = {
  listen,
  serveHttp,
  // Deno.listenTls cannot request client certificates: no MTLS brokers on Deno.
  clientCertificates: false,
  every(ms, fn) {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  },
};

/** A running server: its broker and listeners. */
export type Server = RunningServer;

/** Starts a broker and its listeners from a configuration; the embedding entry point on Deno. */
export function startServer(config: ServerConfig, broker?: Broker): Promise<Server> {
  return serve(denoHost, config, broker);
}
