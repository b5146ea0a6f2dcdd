/**
 * @module
 * edgemq's core: zero dependencies, web-standard APIs only.
 */
export * from "./codec/mod.ts";
