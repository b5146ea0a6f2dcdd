/**
 * @module
 * edgemq on Bun: `startServer(config)` to embed a broker, `listen` to wire a
 * listener to a broker of your own.
 */
export { listen } from "./listen.ts";
export { startServer } from "./serve.ts";
export { Broker } from "@edgemq/core";
export { resolveConfig, type ServerConfig } from "@edgemq/server";
