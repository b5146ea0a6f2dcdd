import type { Acceptor, Broker, OnPublishOptions } from "@edgemq/core";
import { AuthFailureLimiter, bootstrap, createAdminApp } from "@edgemq/admin";
import { type AuthType, type BrokerRecord, HookDestinations, Registry, TenancyError } from "@edgemq/tenancy";
import { buildBroker, describeStartup, tenantBrokerOptions } from "./build-broker.ts";
import { type AdminListenerConfig, ConfigError, resolveConfig, type ServerConfig, USAGE } from "./config.ts";
import { Router } from "./router.ts";
import { createHttpApp } from "./http-app.ts";
import { type ListenerErrorReport, listenerErrorLog } from "./listener-errors.ts";
import { connectionLogHook, Logger } from "./logger.ts";
import { EventLoopLag, Histogram } from "./metrics.ts";
import { httpPublishHook } from "./http-hook.ts";
import { openSqliteStore, type SqliteStorage, StoreFailedError } from "@edgemq/store-sqlite";

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
  /** Binds one MQTT listener to an acceptor (a broker, or the router in front of the tenant brokers). */
  listen(acceptor: Acceptor, listener: ServerConfig["listeners"][number], onError?: ListenerErrorReport): Promise<BoundListener>;
  /** Serves HTTP (the admin API) with a fetch handler, handing it each request's TCP peer. */
  serveHttp(fetch: HttpHandler, listener: AdminListenerConfig): Promise<BoundListener>;
  /** Whether TLS listeners can request client certificates (MTLS brokers). */
  clientCertificates: boolean;
  /** Calls `handler` on SIGINT and on SIGTERM. */
  onSignal(handler: (signal: string) => void): void;
  /** Calls `fn` about every `ms` milliseconds; returns a stop function. */
  every(ms: number, fn: () => void): () => void;
  exit(code: number): void;
  log(line: string): void;
  error(line: string): void;
  /** One line for an error only this runtime can explain (Deno: a permission flag it was not given), or undefined. */
  explainError?(error: unknown): string | undefined;
}

/** What the runtime's HTTP server knows of a request's peer; the admin API counts failed tokens by it. */
export interface HttpPeer {
  /** The TCP peer's address (not a client-sent header such as X-Forwarded-For). */
  remoteAddress?: string;
}

/** A fetch handler that is also told the request's peer. */
export type HttpHandler = (request: Request, peer: HttpPeer) => Response | Promise<Response>;

/** A running server: its broker and listeners. */
export interface RunningServer {
  /** The default broker: connections no tenant broker claims. */
  broker: Broker;
  /** The namespaces and tenant brokers. */
  registry: Registry;
  /** MQTT listeners, then admin API listeners. */
  listeners: BoundListener[];
  /** The SQLite storage when the server has a data directory. */
  storage: SqliteStorage | undefined;
  /** What holds the data, for the start-up line: `memory (not durable)` or `sqlite (fsync) at …`. */
  storeDescription: string;
  /** An Admin API token generated at this start, to print once; undefined otherwise. */
  generatedAdminToken: string | undefined;
  /** Stops listening, sends DISCONNECT 0x8B to 5.0 clients and flushes the store. */
  close(): Promise<void>;
}

/** Starts a broker and its listeners from a configuration; the embedding entry point for every runtime. */
export async function serve(
  host: Pick<RuntimeHost, "listen" | "every" | "serveHttp" | "clientCertificates">,
  config: ServerConfig,
  givenBroker?: Broker,
  logger: Logger = new Logger({ level: config.logLevel, format: config.logFormat, out: console.log, err: console.error }),
): Promise<RunningServer> {
  const startedAt = Date.now();
  const logConnections = logger.enabled("debug");
  // One database holds every broker's data (each in its own scope) and the tenancy records.
  const storage = config.data.dir !== undefined
    ? openSqliteStore({ dataDir: config.data.dir, mode: config.data.mode, windowMs: config.data.windowMs, onError: (e) => logStoreError(logger, e) })
    : undefined;
  const broker = givenBroker ?? buildBroker(config, Date.now, storage?.forBroker("default"));
  // On-publish hook call durations, by broker name, for /metrics.
  const hookLatency = new Map<string, Histogram>();
  const latencyOf = (name: string) => {
    let h = hookLatency.get(name);
    if (h === undefined) hookLatency.set(name, h = new Histogram());
    return h;
  };
  if (config.onPublish !== undefined) {
    const { handler } = config.onPublish;
    const h = latencyOf(broker.name);
    broker.setOnPublish({
      ...config.onPublish,
      handler: async (messages) => {
        const started = performance.now();
        try {
          return await handler(messages);
        } finally {
          h.observeMs(performance.now() - started);
        }
      },
    });
  }
  if (logConnections) broker.use(connectionLogHook(logger, broker.name));
  // What the default broker's store held comes back before anyone connects (once its hooks are in place: due wills pass through them).
  const defaultStore = givenBroker === undefined ? storage?.forBroker("default") : undefined;
  if (defaultStore !== undefined) broker.restore(defaultStore.loadState());
  const commits = storage !== undefined ? new Histogram() : undefined;
  if (storage !== undefined) storage.onCommit = (latencyMs) => commits!.observeMs(latencyMs);
  const lag = new EventLoopLag().start();
  let ready = false;
  // MTLS brokers need a TLS listener that asks for client certificates, on a runtime that can.
  const verifiesCertificates = host.clientCertificates && config.listeners.some((l) => (l.protocol === "tls" || l.protocol === "wss") && l.ca !== undefined);
  const authTypes: AuthType[] = verifiesCertificates ? ["TOKEN", "MTLS", "MTLS_AND_TOKEN"] : ["TOKEN"];
  // Where tenant hooks may post: checked when a URL is set and again at each call.
  const hookDestinations = new HookDestinations(config.hookAllow ?? []);
  // A tenant broker's on-publish URL, posted to with its current signing key.
  const tenantHook = (record: BrokerRecord): OnPublishOptions | undefined => {
    if (record.on_publish === null) return undefined;
    const name = `${record.name}.${record.namespace}`;
    const latency = latencyOf(name);
    return {
      failOpen: record.on_publish.fail_open ?? false,
      handler: httpPublishHook({
        url: record.on_publish.url,
        broker: `${name}.${config.domain}`,
        signingKey: () => registry.keys(record.namespace, record.name).current.privateJwk,
        timeoutMs: config.hookTimeoutMs,
        destinations: hookDestinations,
        observe: (ms) => latency.observeMs(ms),
      }),
    };
  };
  const registry: Registry = await Registry.open({
    domain: config.domain,
    authTypes,
    store: storage?.tenancy,
    defaults: { limits: config.limits, features: tenantBrokerOptions(config).features },
    ceilings: config.tenantCeilings,
    hookDestinations,
    brokerOptions: (record) => {
      const store = storage?.forBroker(`${record.name}.${record.namespace}`);
      return {
        ...tenantBrokerOptions(config),
        store,
        restore: store?.loadState(),
        hooks: logConnections ? [connectionLogHook(logger, `${record.name}.${record.namespace}`)] : [],
        onPublish: tenantHook(record),
      };
    },
    onBrokerUpdated: (record, instance) => instance?.setOnPublish(tenantHook(record)),
    onBrokerDeleted: (record) => storage?.dropBroker(`${record.name}.${record.namespace}`),
  });
  // Tenant brokers with stored data come back now, not at their first connection, so that their wills and expiry run.
  for (const scope of storage?.brokers() ?? []) {
    const dot = scope.indexOf(".");
    const [name, namespace] = [scope.slice(0, dot), scope.slice(dot + 1)];
    if (dot > 0 && registry.hasBroker(namespace, name)) registry.broker(namespace, name);
  }
  let generatedAdminToken: string | undefined;
  if (config.admin.listeners.length > 0) {
    try {
      generatedAdminToken = (await bootstrap(registry, { adminToken: config.admin.token })).token;
    } catch (e) {
      if (e instanceof TenancyError) throw new ConfigError(e.message);
      throw e;
    }
  }
  const routers: Router[] = [];
  const listeners: BoundListener[] = [];
  const closeAll = async () => {
    for (const bound of listeners) await bound.close().catch(() => {});
  };
  for (const l of config.listeners) {
    let bound: { namespace: string; broker: string } | undefined;
    if (l.broker !== undefined) {
      const [b, ns] = l.broker.toLowerCase().split(".") as [string, string];
      bound = { namespace: ns, broker: b };
    }
    const tenancy = () => config.admin.listeners.length > 0 || registry.listNamespaces().length > 0;
    const router = new Router(broker, registry, bound, tenancy);
    routers.push(router);
    try {
      listeners.push(await host.listen(router, l, listenerErrorLog(logger, `${l.protocol}://${l.host}:${l.port}`)));
    } catch (e) {
      await closeAll();
      // A runtime that cannot honour a setting says so as a configuration error.
      throw e instanceof ConfigError ? e : new ListenError(l, e);
    }
  }
  // A broker's `endpoint` names the first TLS listener (as Cloudflare's did), else the first plain one.
  const endpoint = listeners.find((l) => l.protocol === "tls") ?? listeners[0];
  const authFailures = new AuthFailureLimiter();
  const app = createAdminApp(registry, {
    authFailures,
    accountId: config.admin.accountId,
    endpointPort: endpoint?.port,
    endpointScheme: endpoint?.protocol === "tls" ? "mqtts" : endpoint?.protocol === "tcp" ? "mqtt" : endpoint?.protocol,
  });
  const http = createHttpApp(app, {
    registry,
    metricsPublic: config.admin.metricsPublic,
    authFailures,
    ready: () => ready,
    metrics: {
      brokers: () => [broker, ...registry.instances()].map((b) => [b.name, b] as [string, Broker]),
      lag,
      commits,
      hookLatency,
      startedAt,
      ceilingRefusals: () => registry.ceilingRefusals(),
      adminAuth: () => authFailures,
    },
  });
  for (const l of config.admin.listeners) {
    try {
      listeners.push(await host.serveHttp((request, peer) => http.fetch(request, peer), l));
    } catch (e) {
      await closeAll();
      throw e instanceof ConfigError ? e : new ListenError(l, e);
    }
  }
  // The core keeps no timers: time-driven work runs from here.
  const tick = () => {
    const now = Date.now();
    broker.tick(now);
    registry.tick();
    for (const r of routers) r.tick(now);
  };
  const stopTicking = host.every(250, tick);
  tick();
  ready = true;
  let closing: Promise<void> | undefined;
  const storeDescription = storage === undefined
    ? "memory (not durable)"
    : `sqlite (${storage.mode}${storage.mode === "batched" ? ` ${storage.windowMs} ms` : ""}) at ${storage.path}`;
  return {
    broker,
    registry,
    listeners,
    storage,
    storeDescription,
    generatedAdminToken,
    close() {
      closing ??= (async () => {
        ready = false;
        stopTicking();
        lag.stop();
        // The broker goes first: it refuses new connections from now on and sends
        // DISCONNECT 0x8B to each client. Only then do the listeners stop, since
        // some runtimes cut open sockets when a listener stops, and a listener's
        // close may wait for sockets that end only once disconnected.
        await Promise.all([broker.close(), registry.close()]);
        await storage?.close();
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
  readonly listener: { protocol: string; host: string; port: number };
  override readonly cause: unknown;
  constructor(listener: { protocol: string; host: string; port: number }, cause: unknown) {
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
    const explained = host.explainError?.(e);
    if (explained !== undefined) {
      host.error(`edgemq: ${explained}`);
      return host.exit(2);
    }
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
  const logger = new Logger({ level: config.logLevel, format: config.logFormat, out: host.log, err: host.error });
  let server: RunningServer;
  try {
    server = await serve(host, config, undefined, logger);
  } catch (e) {
    // Before the generic message, which would blame the file system for what the runtime refused.
    const explained = host.explainError?.(e);
    if (explained !== undefined) {
      logger.log("error", `edgemq: cannot start: ${explained}`);
      return host.exit(1);
    }
    if (e instanceof ConfigError) {
      host.error(`edgemq: ${e.message}`);
      return host.exit(2);
    }
    logger.log("error", `edgemq: ${e instanceof ListenError ? e.message : `cannot start: ${describe(e)}`}`);
    return host.exit(1);
  }
  if (server.generatedAdminToken !== undefined) {
    // Shown once: only its hash is kept. With the memory store every start is a first start.
    // Printed whatever the log level: without it nobody could use the API.
    logger.log(logger.enabled("info") ? "info" : "error", `edgemq: admin API token (Admin, all namespaces; shown once, keep it): ${server.generatedAdminToken}`);
  }
  // Last, so that whoever waits for this line has everything before it.
  // Printed whatever the log level: it says where the server is (and tests wait for it).
  logger.log(logger.enabled("info") ? "info" : "error", describeStartup(config, host.runtime, server.listeners, server.storeDescription),
    logger.format === "json" ? { runtime: host.runtime, store: server.storeDescription, listeners: server.listeners.map((l) => `${l.protocol}://${l.host}:${l.port}`).join(" ") } : undefined);
  let stopping = false;
  host.onSignal(async (signal) => {
    if (stopping) return; // a second Ctrl-C while closing changes nothing
    stopping = true;
    logger.info(`edgemq: ${signal} received, shutting down`, { signal });
    await server.close();
    host.exit(0);
  });
}

/** Logs what the store reports: a failure (with what it means for clients) as an error, anything else as a warning. */
function logStoreError(logger: Logger, error: Error): void {
  if (!(error instanceof StoreFailedError)) return logger.warn(`edgemq: store: ${error.message}`);
  logger.error(`edgemq: store error: ${error.message}`, {
    effect: "nothing more is acknowledged: lasting-session CONNECTs get CONNACK 0x89 (3.1.1: 3), other writes end their connection with DISCONNECT 0x80",
  });
}
