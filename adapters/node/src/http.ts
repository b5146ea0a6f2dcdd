import { readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import type { AdminListenerConfig, BoundListener, HttpHandler } from "@edgemq/server";
import type { Http2Bindings, HttpBindings } from "@hono/node-server";

/**
 * Serves a fetch handler (the admin API) over HTTP or HTTPS. @hono/node-server
 * turns Node's requests into web Requests and streams Responses back, with
 * the edge cases (aborts, bodies, header casing) handled.
 */
export function serveHttp(handler: HttpHandler, config: AdminListenerConfig): Promise<BoundListener> {
  // @hono/node-server hands its env, Node's own request, as the second argument: the peer is its socket's.
  const fetch = (request: Request, env: HttpBindings | Http2Bindings) => handler(request, { remoteAddress: env.incoming.socket.remoteAddress });
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
