import type { Broker } from "../../core/src/broker/broker.ts";
import { buildBroker, describeStartup } from "./build-broker.ts";
import { ConfigError, resolveConfig, type ServerConfig, USAGE } from "./config.ts";

/** A bound listener, as every adapter reports it. */
export interface BoundListener {
  protocol: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

/** What each runtime supplies to run the command line the same way. */
export interface RuntimeHost {
  /** e.g. `node 24.21.0`. */
  runtime: string;
  args: string[];
  env: Record<string, string | undefined>;
  readFile(path: string): string;
  /** Binds one listener to the broker. */
  listen(broker: Broker, listener: ServerConfig["listeners"][number]): Promise<BoundListener>;
  /** Calls `handler` once on SIGINT or SIGTERM. */
  onSignal(handler: (signal: string) => void): void;
  /** Calls `fn` about every `ms` milliseconds; returns a stop function. */
  every(ms: number, fn: () => void): () => void;
  exit(code: number): void;
  log(line: string): void;
  error(line: string): void;
}

/** A running server: its broker and listeners. */
export interface RunningServer {
  broker: Broker;
  listeners: BoundListener[];
  /** Stops listening, sends DISCONNECT 0x8B to 5.0 clients and flushes the store. */
  close(): Promise<void>;
}

/** Starts a broker and its listeners from a configuration; the embedding entry point for every runtime. */
export async function serve(host: Pick<RuntimeHost, "listen" | "every">, config: ServerConfig, broker: Broker = buildBroker(config, Date.now)): Promise<RunningServer> {
  const listeners: BoundListener[] = [];
  try {
    for (const l of config.listeners) listeners.push(await host.listen(broker, l));
  } catch (e) {
    for (const l of listeners) await l.close().catch(() => {});
    throw e;
  }
  // The core keeps no timers: time-driven work runs from here.
  const stopTicking = host.every(250, () => broker.tick(Date.now()));
  broker.tick(Date.now());
  let closing: Promise<void> | undefined;
  return {
    broker,
    listeners,
    close() {
      closing ??= (async () => {
        stopTicking();
        // Stop accepting first; a listener's close may wait for its sockets,
        // which end only once the broker has disconnected them.
        const stopped = Promise.all(listeners.map((l) => l.close().catch(() => {})));
        await broker.close();
        await Promise.race([stopped, new Promise((r) => setTimeout(r, 3000))]);
      })();
      return closing;
    },
  };
}

// Words that turn a system error into something a person can act on.
function hint(e: unknown): string {
  const code = (e as { code?: string }).code ?? (e as { name?: string }).name;
  const text = String((e as Error).message ?? e);
  if (code === "EADDRINUSE" || code === "AddrInUse" || /address.*in use/i.test(text)) return " (another process uses that port: stop it or pick another with --port)";
  if (code === "EACCES" || code === "PermissionDenied") return " (ports below 1024 need privileges: pick another with --port)";
  if (code === "ENOENT" || code === "NotFound" || /no such file/i.test(text)) return " (check the certificate and key paths)";
  return "";
}

/** The `edgemq` command line, the same on every runtime: parse, start, print the start-up line, stop on a signal. */
export async function runMain(host: RuntimeHost): Promise<void> {
  let config: ServerConfig | "help";
  try {
    config = resolveConfig(host.args, host.env, host.readFile);
  } catch (e) {
    if (e instanceof ConfigError) {
      host.error(`edgemq: ${e.message}`);
      return host.exit(2);
    }
    throw e;
  }
  if (config === "help") {
    host.log(USAGE);
    return host.exit(0);
  }
  let server: RunningServer;
  try {
    server = await serve(host, config);
  } catch (e) {
    if (e instanceof ConfigError) {
      host.error(`edgemq: ${e.message}`);
      return host.exit(2);
    }
    host.error(`edgemq: cannot start: ${(e as Error).message ?? e}${hint(e)}`);
    return host.exit(1);
  }
  host.log(describeStartup(config, host.runtime, server.listeners, server.broker.store.name));
  host.onSignal(async (signal) => {
    host.log(`edgemq: ${signal} received, shutting down`);
    await server.close();
    host.exit(0);
  });
}
