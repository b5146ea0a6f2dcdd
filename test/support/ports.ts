// A TCP port nothing listens on, for tests that start a process on it or
// expect a connection to it refused.
import { createServer } from "node:net";

/** A TCP port free on 127.0.0.1 right now (the OS picked it, then it was let go). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
