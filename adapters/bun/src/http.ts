/// <reference path="./runtime.d.ts" />
import { readFileSync } from "node:fs";
import type { AdminListenerConfig, BoundListener, HttpHandler } from "@edgemq/server";

/** Serves a fetch handler (the admin API) over HTTP or HTTPS with Bun.serve. */
export async function serveHttp(handler: HttpHandler, config: AdminListenerConfig): Promise<BoundListener> {
  const server = Bun.serve({
    hostname: config.host,
    port: config.port,
    tls: config.protocol === "https" ? { cert: readFileSync(config.cert!, "utf8"), key: readFileSync(config.key!, "utf8") } : undefined,
    fetch: (req, server) => handler(req, { remoteAddress: server.requestIP(req)?.address }),
  });
  return {
    protocol: config.protocol,
    host: config.host,
    port: server.port,
    close: async () => server.stop(true),
  };
}
