import type net from "node:net";
import type { BoundListener, ListenerConfig } from "@edgemq/server";

/** Binds a server to its configured address; `beforeClose` runs when the listener stops. */
export function bind(server: net.Server, config: ListenerConfig, beforeClose?: () => void): Promise<BoundListener> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve({
        protocol: config.protocol,
        host: config.host,
        port: (server.address() as net.AddressInfo).port,
        close: () => new Promise<void>((done) => {
          beforeClose?.();
          server.close(() => done());
        }),
      });
    });
  });
}
