import { type Acceptor, type Broker, MemoryBudget, type OnPublishOptions } from "@edgemq/core";
import { answerNodeQuery, AuthFailureLimiter, bootstrap, createAdminApp } from "@edgemq/admin";
import { createDashboardApp, DASHBOARD_PATHS } from "@edgemq/dashboard";
import { type AuthType, type BrokerRecord, HookDestinations, Registry, TenancyError } from "@edgemq/tenancy";
import { buildBroker, tenantBrokerOptions } from "./build-broker.ts";
import { type AdminListenerConfig, ConfigError, type ServerConfig } from "./config.ts";
import { type ClusterNode, joinCluster } from "./cluster.ts";
import { Router } from "./router.ts";
import { createHttpApp } from "./http-app.ts";
import { type ListenerErrorReport, listenerErrorLog } from "./listener-errors.ts";
import { connectionLogHook, Logger } from "./logger.ts";
import { EventLog, eventLogHook, logStoreError, observedHandler } from "./event-log.ts";
import { ListenError } from "./listen-error.ts";
import type { TokenDeliveryHost } from "./admin-token-file.ts";
import { EventLoopLag, GcPauses, Histogram, type MeteredBroker } from "./metrics.ts";
import { OpenFilesWatch } from "./open-files.ts";
import { httpPublishHook } from "./http-hook.ts";
import { openSqliteStore, type SqliteStorage } from "@edgemq/store-sqlite";

/** A bound listener, as every adapter reports it. */
export interface BoundListener {
  protocol: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

/** What each runtime supplies to run the command line the same way. */
export interface RuntimeHost extends TokenDeliveryHost {
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
  /** The cluster this node joined (--cluster), if any. */
  cluster: ClusterNode | undefined;
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
  // Refusals, denials, protocol errors, failing hooks and stores, slow consumers: rate-limited records.
  const events = new EventLog(logger);
  // One database holds every broker's data (each in its own scope) and the tenancy records.
  const storage = config.data.dir !== undefined
    ? openSqliteStore({ dataDir: config.data.dir, mode: config.data.mode, windowMs: config.data.windowMs, onError: (e) => logStoreError(events, e) })
    : undefined;
  // One budget for the bytes every broker holds for clients; an embedder's broker brings its own.
  const memoryBudget = givenBroker?.memoryBudget ?? new MemoryBudget(config.memoryBudget, config.maxSessionsTotal);
  // Every broker this server builds, default and tenants, routes over the cluster when there is one (an embedder's broker brings its own routing).
  const cluster = config.cluster !== undefined ? await joinCluster(config.cluster, config.listeners[0]?.port ?? 0, logger, storage?.tenancy) : undefined;
  const broker = givenBroker ?? buildBroker(config, Date.now, cluster?.store("default", storage?.forBroker("default")) ?? storage?.forBroker("default"), memoryBudget, cluster?.routing("default"), cluster?.ownership("default"), cluster?.wills("default"));
  // On-publish hook call durations, by broker name, for /metrics.
  const hookLatency = new Map<string, Histogram>();
  const latencyOf = (name: string) => {
    let h = hookLatency.get(name);
    if (h === undefined) hookLatency.set(name, h = new Histogram());
    return h;
  };
  if (config.onPublish !== undefined) {
    const h = latencyOf(broker.name);
    broker.setOnPublish({ ...config.onPublish, handler: observedHandler(config.onPublish.handler, broker.name, events, (ms) => h.observeMs(ms)) });
  }
  broker.use(eventLogHook(events, broker.name));
  if (logConnections) broker.use(connectionLogHook(logger, broker.name));
  // What the default broker's store held comes back before anyone connects (once its hooks are in place: due wills pass through them).
  const defaultStore = givenBroker === undefined ? storage?.forBroker("default") : undefined;
  if (defaultStore !== undefined) broker.restore(defaultStore.loadState());
  const commits = storage !== undefined ? new Histogram() : undefined;
  if (storage !== undefined) storage.onCommit = (latencyMs) => commits!.observeMs(latencyMs);
  const lag = new EventLoopLag().start();
  const gc = new GcPauses();
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
      handler: observedHandler(httpPublishHook({
        url: record.on_publish.url,
        broker: `${name}.${config.domain}`,
        signingKey: () => registry.keys(record.namespace, record.name).current.privateJwk,
        timeoutMs: config.hookTimeoutMs,
        destinations: hookDestinations,
        observe: (ms) => latency.observeMs(ms),
      }), name, events),
    };
  };
  const registry: Registry = await Registry.open({
    domain: config.domain,
    authTypes,
    // Clustered, the cluster's tenancy (JetStream KV, watched); else this node's own.
    store: cluster !== undefined ? cluster.tenancy : storage?.tenancy,
    defaults: { limits: config.limits, features: tenantBrokerOptions(config).features },
    ceilings: config.tenantCeilings,
    hookDestinations,
    brokerOptions: (record) => {
      const store = storage?.forBroker(`${record.name}.${record.namespace}`);
      return {
        ...tenantBrokerOptions(config),
        memoryBudget,
        store: cluster?.store(`${record.name}.${record.namespace}`, store) ?? store,
        restore: store?.loadState(),
        hooks: [eventLogHook(events, `${record.name}.${record.namespace}`), ...(logConnections ? [connectionLogHook(logger, `${record.name}.${record.namespace}`)] : [])],
        onPublish: tenantHook(record),
        routing: cluster?.routing(`${record.name}.${record.namespace}`),
        ownership: cluster?.ownership(`${record.name}.${record.namespace}`),
        wills: cluster?.wills(`${record.name}.${record.namespace}`),
      };
    },
    onBrokerUpdated: (record, instance) => instance?.setOnPublish(tenantHook(record)),
    onBrokerDeleted: (record) => storage?.dropBroker(`${record.name}.${record.namespace}`),
  });
  // A gone node's will of a tenant broker is published through that broker here, built now if need be.
  if (cluster !== undefined) {
    cluster.openBroker = (scope) => {
      if (scope === "default") return true;
      const dot = scope.indexOf(".");
      const [name, namespace] = [scope.slice(0, dot), scope.slice(dot + 1)];
      if (dot <= 0 || !registry.hasBroker(namespace, name)) return false;
      registry.broker(namespace, name);
      return true;
    };
  }
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
  // A clustered node reads the cluster's retained messages before clients can subscribe (issue 12).
  await cluster?.caughtUp();
  const routers: Router[] = [];
  const listeners: BoundListener[] = [];
  const closeAll = async () => {
    for (const bound of listeners) await bound.close().catch(() => {});
    await cluster?.close();
  };
  for (const l of config.listeners) {
    let bound: { namespace: string; broker: string } | undefined;
    if (l.broker !== undefined) {
      const [b, ns] = l.broker.toLowerCase().split(".") as [string, string];
      bound = { namespace: ns, broker: b };
    }
    const tenancy = () => config.admin.listeners.length > 0 || registry.listNamespaces().length > 0;
    const router = new Router(broker, registry, bound, tenancy);
    const refusals = eventLogHook(events, undefined);
    router.onRefused = (clientId, conn, reasonCode, reason) => refusals.onEvent!("connect_refused", clientId, conn, reasonCode, reason);
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
  // The store's words without its path, for /stats (the start-up line adds the path).
  const storeMode = storage === undefined ? "memory (not durable)" : `sqlite (${storage.mode}${storage.mode === "batched" ? ` ${storage.windowMs} ms` : ""})`;
  const app = createAdminApp(registry, {
    authFailures,
    // Clustered: clients and sessions are listed from every node, and reached on theirs (issue 12).
    cluster: cluster?.adminView((query) => answerNodeQuery(registry, cluster.link.nodeId, query)),
    accountId: config.admin.accountId,
    corsOrigins: config.admin.corsOrigins,
    defaultBroker: broker,
    endpointPort: endpoint?.port,
    endpointScheme: endpoint?.protocol === "tls" ? "mqtts" : endpoint?.protocol === "tcp" ? "mqtt" : endpoint?.protocol,
  });
  const http = createHttpApp(app, {
    registry,
    metricsPublic: config.admin.metricsPublic,
    authFailures,
    accountId: config.admin.accountId,
    facts: {
      storeMode,
      // nodes_seen is the start-up roll call's figure for now.
      cluster: cluster && (() => ({ node_id: cluster.link.nodeId, connected: cluster.link.connected, nats_server: cluster.link.server ?? null, nodes_seen: cluster.nodesSeen() ?? null })),
    },
    dashboard: config.admin.dashboard ? { app: createDashboardApp(), paths: DASHBOARD_PATHS } : undefined,
    ready: () => ready,
    unready: () => cluster?.unready(),
    metrics: {
      brokers: () => [broker, ...registry.instances()].map(meteredBroker),
      lag,
      gc,
      commits,
      hookLatency,
      startedAt,
      ceilingRefusals: () => registry.ceilingRefusals(),
      adminAuth: () => authFailures,
      memoryBudget,
      cluster: cluster?.link,
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
  // Connections are file descriptors: the server says when their limit is low or nearly spent.
  const openFiles = new OpenFilesWatch(logger, () => {
    let n = broker.stats.connectionsCurrent;
    for (const b of registry.instances()) n += b.stats.connectionsCurrent;
    return n;
  });
  openFiles.announce();
  let ticks = 0;
  // The core keeps no timers: time-driven work runs from here.
  const tick = () => {
    const now = Date.now();
    broker.tick(now);
    registry.tick();
    for (const r of routers) r.tick(now);
    events.flush();
    if (++ticks % 20 === 0) openFiles.check(); // every 5 s
  };
  if (listeners[0] !== undefined) cluster?.settle(listeners[0].port);
  // The start-up line says how many nodes answered (issue 12).
  await cluster?.countNodes();
  const stopTicking = host.every(250, tick);
  tick();
  ready = true;
  let closing: Promise<void> | undefined;
  const storeDescription = storage === undefined ? storeMode : `${storeMode} at ${storage.path}`;
  return {
    broker,
    registry,
    listeners,
    storage,
    storeDescription,
    cluster,
    generatedAdminToken,
    close() {
      closing ??= (async () => {
        ready = false;
        stopTicking();
        lag.stop();
        gc.stop();
        // The broker goes first: it refuses new connections from now on and sends
        // DISCONNECT 0x8B to each client. Only then do the listeners stop, since
        // some runtimes cut open sockets when a listener stops, and a listener's
        // close may wait for sockets that end only once disconnected.
        await Promise.all([broker.close(), registry.close()]);
        await cluster?.close();
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

// A tenant broker is named `<broker>.<namespace>` (neither part may hold a dot); the default broker has no namespace.
function meteredBroker(broker: Broker): MeteredBroker {
  const dot = broker.name.indexOf(".");
  return dot < 0 ? { namespace: "", name: broker.name, broker } : { namespace: broker.name.slice(dot + 1), name: broker.name.slice(0, dot), broker };
}
