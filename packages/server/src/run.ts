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
  /** Calls `handler` on SIGINT and on SIGTERM. */
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
  for (const l of config.listeners) {
    try {
      listeners.push(await host.listen(broker, l));
    } catch (e) {
      for (const bound of listeners) await bound.close().catch(() => {});
      // A runtime that cannot honour a setting says so as a configuration error.
      throw e instanceof ConfigError ? e : new ListenError(l, e);
    }
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
        // The broker goes first: it refuses new connections from now on and sends
        // DISCONNECT 0x8B to each client. Only then do the listeners stop, since
        // some runtimes cut open sockets when a listener stops, and a listener's
        // close may wait for sockets that end only once disconnected.
        await broker.close();
        await Promise.race([
          Promise.all(listeners.map((l) => l.close().catch(() => {}))),
          new Promise((r) => setTimeout(r, 3000)),
        ]);
      })();
      return closing;
    },
  };
}

/** A listener that could not start, with the runtime's error. */
export class ListenError extends Error {
  readonly listener: ServerConfig["listeners"][number];
  override readonly cause: unknown;
  constructor(listener: ServerConfig["listeners"][number], cause: unknown) {
    super(`cannot listen on ${listener.protocol}://${listener.host}:${listener.port}: ${describe(cause)}`);
    this.name = "ListenError";
    this.listener = listener;
    this.cause = cause;
  }
}

// The same words on every runtime, whatever each calls its errors.
function describe(e: unknown): string {
  const code = (e as { code?: string }).code ?? (e as { name?: string }).name ?? "";
  const text = String((e as Error).message ?? e);
  if (code === "EADDRINUSE" || code === "AddrInUse" || /address.*in use/i.test(text)) {
    return "the address is in use (EADDRINUSE): stop the other process or pick another with --port";
  }
  if (code === "EACCES" || code === "PermissionDenied") return "permission denied (EACCES): ports below 1024 need privileges; pick another with --port";
  if (code === "ENOENT" || code === "NotFound" || /no such file|not found/i.test(text)) return `${text} (check the certificate and key paths)`;
  return code && !text.includes(code) ? `${text} (${code})` : text;
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
    host.error(`edgemq: ${e instanceof ListenError ? e.message : `cannot start: ${describe(e)}`}`);
    return host.exit(1);
  }
  host.log(describeStartup(config, host.runtime, server.listeners, server.broker.store.name));
  let stopping = false;
  host.onSignal(async (signal) => {
    if (stopping) return; // a second Ctrl-C while closing changes nothing
    stopping = true;
    host.log(`edgemq: ${signal} received, shutting down`);
    await server.close();
    host.exit(0);
  });
}
