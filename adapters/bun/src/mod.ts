/**
 * @module
 * edgemq on Bun: `startServer(config)` to embed a broker, `listen` to wire a
 * TCP, TLS or WebSocket listener to a broker of your own. The Node and Deno
 * adapters export the same names.
 */
export { type Listener, listen } from "./listen.ts";
export { type Server, startServer } from "./serve.ts";
export { Broker } from "@edgemq/core";
export { resolveConfig, type ServerConfig } from "@edgemq/server";
