import { deliverAdminToken, tokenDeliveryLine } from "./admin-token-file.ts";
import { describeStartup } from "./build-broker.ts";
import { ConfigError, configWarnings, resolveConfig, type ServerConfig, USAGE } from "./config.ts";
import { describe, ListenError } from "./listen-error.ts";
import { Logger } from "./logger.ts";
import { type RunningServer, type RuntimeHost, serve } from "./run.ts";

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
  // Not errors (other tools' EDGEMQ_ variables share the environment), but a misspelt setting should not pass unseen.
  for (const warning of configWarnings(host.env)) host.error(`edgemq: warning: ${warning}`);
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
    // A listener or the cluster that cannot start says what to do in its own words.
    const own = e instanceof ListenError || (e as Error).name === "ClusterConnectError";
    logger.log("error", `edgemq: ${own ? (e as Error).message : `cannot start: ${describe(e)}`}`);
    return host.exit(1);
  }
  if (server.generatedAdminToken !== undefined) {
    // Shown once (only its hash is kept; with the memory store every start is a first start),
    // and never into the log stream, which collectors keep and many people read.
    // Said whatever the log level: without it nobody could use the API.
    try {
      const delivery = deliverAdminToken(server.generatedAdminToken, config.data.dir, host);
      logger.log(logger.enabled("info") ? "info" : "error", tokenDeliveryLine(delivery), logger.format === "json" && "file" in delivery ? { path: delivery.file } : undefined);
    } catch (e) {
      logger.error(`edgemq: cannot write the generated admin API token: ${(e as Error).message ?? e}; give the server a writable --data directory, or set your own with --admin-token`);
      await server.close();
      return host.exit(1);
    }
  }
  // Last, so that whoever waits for this line has everything before it.
  // Printed whatever the log level: it says where the server is (and tests wait for it).
  logger.log(logger.enabled("info") ? "info" : "error", describeStartup(config, host.runtime, server.listeners, server.storeDescription, server.cluster?.describe()),
    logger.format === "json"
      ? { runtime: host.runtime, store: server.storeDescription, listeners: server.listeners.map((l) => `${l.protocol}://${l.host}:${l.port}`).join(" "), ...(server.cluster ? { cluster: server.cluster.describe() } : {}) }
      : undefined);
  let stopping = false;
  host.onSignal(async (signal) => {
    if (stopping) return; // a second Ctrl-C while closing changes nothing
    stopping = true;
    logger.info(`edgemq: ${signal} received, shutting down`, { signal });
    await server.close();
    host.exit(0);
  });
}
