import type { Broker } from "../../../packages/core/src/broker/broker.ts";
import type { ServerConfig } from "../../../packages/server/src/config.ts";
import { type RunningServer, type RuntimeHost, serve } from "../../../packages/server/src/run.ts";
import { serveHttp } from "./http.ts";
import { listen } from "./listen.ts";

/** Node's listeners and timer, for the shared server runner. */
export const nodeHost: Pick<RuntimeHost, "listen" | "every" | "serveHttp" | "clientCertificates"> = {
  listen,
  serveHttp,
  // Node's TLS can request client certificates (MTLS brokers).
  clientCertificates: true,
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return () => clearInterval(t);
  },
};

/** A running server: its broker and listeners. */
export type Server = RunningServer;

/** Starts a broker and its listeners from a configuration; the embedding entry point on Node. */
export function startServer(config: ServerConfig, broker?: Broker): Promise<Server> {
  return serve(nodeHost, config, broker);
}
