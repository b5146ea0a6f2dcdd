import { readFileSync } from "node:fs";
import type { RuntimeHost } from "@edgemq/server";
import { nodeHost } from "./serve.ts";

/**
 * Everything `runMain` needs on Node: listeners, files, signals, exit and the
 * console, for these command-line arguments. `node adapters/node` and
 * `edgemq serve` both start the server through it; `overrides` lets the
 * latter learn the exit code instead of exiting.
 */
export function nodeRuntimeHost(args: string[], overrides: Partial<RuntimeHost> = {}): RuntimeHost {
  return {
    ...nodeHost,
    runtime: `node ${process.versions.node}`,
    args,
    env: process.env,
    readFile: (path) => readFileSync(path, "utf8"),
    onSignal(handler) {
      process.on("SIGINT", () => handler("SIGINT"));
      process.on("SIGTERM", () => handler("SIGTERM"));
    },
    exit: (code) => process.exit(code),
    log: (line) => console.log(line),
    error: (line) => console.error(line),
    ...overrides,
  };
}
