/**
 * @module
 * Test helpers for code built on the core, kept off the main entry point so
 * that they never ship as runtime API: {@link MemoryDuplex}, an in-memory
 * connection to drive a broker without sockets.
 */
export { MemoryDuplex } from "./transport/memory-duplex.ts";
