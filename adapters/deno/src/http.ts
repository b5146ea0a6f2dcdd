/// <reference path="./runtime.d.ts" />
import type { AdminListenerConfig, BoundListener, HttpHandler } from "@edgemq/server";

/** Serves a fetch handler (the admin API) over HTTP or HTTPS with Deno.serve. */
export function serveHttp(handler: HttpHandler, config: AdminListenerConfig): Promise<BoundListener> {
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: config.host,
        port: config.port,
        cert: config.protocol === "https" ? Deno.readTextFileSync(config.cert!) : undefined,
        key: config.protocol === "https" ? Deno.readTextFileSync(config.key!) : undefined,
        onListen: (addr) => resolve({ protocol: config.protocol, host: config.host, port: addr.port, close: () => server.shutdown() }),
      }, (req, info) => handler(req, { remoteAddress: info.remoteAddr.hostname }));
    } catch (e) {
      reject(e);
    }
  });
}
