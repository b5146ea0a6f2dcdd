// `node adapters/node [options]`: start edgemq on Node.
import { readFileSync } from "node:fs";
import { describeStartup } from "../../../packages/server/src/build-broker.ts";
import { ConfigError, resolveConfig, USAGE } from "../../../packages/server/src/config.ts";
import { startServer } from "./serve.ts";

async function main(): Promise<number> {
  let config;
  try {
    config = resolveConfig(process.argv.slice(2), process.env, (p) => readFileSync(p, "utf8"));
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`edgemq: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (config === "help") {
    console.log(USAGE);
    return 0;
  }
  let server;
  try {
    server = await startServer(config);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const hint = err.code === "EADDRINUSE" ? " (another process uses that port: stop it or pick another with --port)"
      : err.code === "EACCES" ? " (ports below 1024 need privileges: pick another with --port)"
      : err.code === "ENOENT" ? " (check the certificate and key paths)" : "";
    console.error(`edgemq: cannot start: ${err.message}${hint}`);
    return 1;
  }
  console.log(describeStartup(config, `node ${process.versions.node}`, server.listeners, server.broker.store.name));
  const stop = async (signal: string) => {
    console.log(`edgemq: ${signal} received, shutting down`);
    await server.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
  return -1; // keep running
}

const code = await main();
if (code >= 0) process.exit(code);
