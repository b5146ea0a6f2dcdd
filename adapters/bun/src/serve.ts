import type { Broker } from "@edgemq/core";
import { type RunningServer, type RuntimeHost, serve, type ServerConfig } from "@edgemq/server";
import { serveHttp } from "./http.ts";
import { listen } from "./listen.ts";

/** Bun's listeners and timer, for the shared server runner. */
export const bunHost: Pick<RuntimeHost, "listen" | "every" | "serveHttp" | "clientCertificates"> = {
  listen,
  serveHttp,
  // Bun's TLS can request client certificates (MTLS brokers).
  clientCertificates: true,
  every(ms, fn) {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  },
};

/** A running server: its broker and listeners. */
export type Server = RunningServer;

/** Starts a broker and its listeners from a configuration; the embedding entry point on Bun. */
export function startServer(config: ServerConfig, broker?: Broker): Promise<Server> {
  return serve(bunHost, config, broker);
}
