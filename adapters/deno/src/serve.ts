import type { Broker } from "../../../packages/core/src/broker/broker.ts";
import type { ServerConfig } from "../../../packages/server/src/config.ts";
import { type RunningServer, type RuntimeHost, serve } from "../../../packages/server/src/run.ts";
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

/** Starts a broker and its listeners from a configuration; the embedding entry point on Deno. */
export function startServer(config: ServerConfig, broker?: Broker): Promise<RunningServer> {
  return serve(denoHost, config, broker);
}
