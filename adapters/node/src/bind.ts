import type net from "node:net";
import type { BoundListener, ListenerConfig, ListenerErrorReport } from "@edgemq/server";

/** Binds a server to its configured address; `beforeClose` runs when the listener stops; later errors go to `onError`. */
export function bind(server: net.Server, config: ListenerConfig, beforeClose?: () => void, onError: ListenerErrorReport = () => {}): Promise<BoundListener> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      // A failed accept (EMFILE) is an "error" event: unheard, it would end the process.
      server.on("error", (e) => onError("an accept", e));
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
