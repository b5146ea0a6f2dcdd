/**
 * @module
 * edgemq on Node: `startServer(config)` to embed a broker, `listen` and
 * `toDuplex` to wire sockets to a broker of your own.
 */
export { attach, type Listener, listen, toDuplex } from "./listen.ts";
export { type Server, startServer } from "./serve.ts";
export { nodeRuntimeHost } from "./run-host.ts";
export { Broker } from "@edgemq/core";
export { resolveConfig, type ServerConfig } from "@edgemq/server";
