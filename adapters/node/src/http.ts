import { readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import type { AdminListenerConfig, BoundListener } from "@edgemq/server";

/**
 * Serves a fetch handler (the admin API) over HTTP or HTTPS. @hono/node-server
 * turns Node's requests into web Requests and streams Responses back, with
 * the edge cases (aborts, bodies, header casing) handled.
 */
export function serveHttp(fetch: (request: Request) => Response | Promise<Response>, config: AdminListenerConfig): Promise<BoundListener> {
  const server = config.protocol === "https"
    ? createAdaptorServer({ fetch, createServer: createHttpsServer, serverOptions: { cert: readFileSync(config.cert!), key: readFileSync(config.key!) } })
    : createAdaptorServer({ fetch });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      const address = server.address() as AddressInfo;
      resolve({
        protocol: config.protocol,
        host: config.host,
        port: address.port,
        close: () => new Promise<void>((done) => {
          server.close(() => done());
          (server as { closeAllConnections?: () => void }).closeAllConnections?.(); // keep-alive sockets would hold close() open
        }),
      });
    });
  });
}
