import type { Broker } from "../../../packages/core/src/broker/broker.ts";
import { buildBroker } from "../../../packages/server/src/build-broker.ts";
import type { ServerConfig } from "../../../packages/server/src/config.ts";
import { type Listener, listen } from "./listen.ts";

/** A running server: its broker and listeners. */
export interface Server {
  broker: Broker;
  listeners: Listener[];
  /** Stops listening, sends DISCONNECT 0x8B to 5.0 clients and flushes the store. */
  close(): Promise<void>;
}

/** Starts a broker and its listeners from a configuration; the embedding entry point. */
export async function startServer(config: ServerConfig, broker: Broker = buildBroker(config, Date.now)): Promise<Server> {
  const listeners: Listener[] = [];
  try {
    for (const l of config.listeners) listeners.push(await listen(broker, l));
  } catch (e) {
    for (const l of listeners) await l.close();
    throw e;
  }
  // The core keeps no timers: time-driven work runs from here.
  const ticker = setInterval(() => broker.tick(Date.now()), 250);
  ticker.unref();
  broker.tick(Date.now());
  let closing: Promise<void> | undefined;
  return {
    broker,
    listeners,
    close() {
      closing ??= (async () => {
        clearInterval(ticker);
        // Stop accepting first; a listener's close waits for its sockets,
        // which end only once the broker has disconnected them.
        const stopped = Promise.all(listeners.map((l) => l.close().catch(() => {})));
        await broker.close();
        await Promise.race([stopped, new Promise((r) => setTimeout(r, 3000).unref())]);
      })();
      return closing;
    },
  };
}
