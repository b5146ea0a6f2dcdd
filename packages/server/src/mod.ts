/**
 * @module
 * The runtime-neutral server layer: configuration and broker assembly shared
 * by the Node, Bun and Deno adapters.
 */
export * from "./config.ts";
export * from "./build-broker.ts";
export * from "./websocket.ts";
export * from "./run.ts";
export * from "./run-main.ts";
export { ListenError } from "./listen-error.ts";
export * from "./bytes.ts";
export * from "./buffered-duplex.ts";
export * from "./listener-errors.ts";
