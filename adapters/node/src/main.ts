// `node adapters/node [options]`: start edgemq on Node.
import { readFileSync } from "node:fs";
import { runMain } from "../../../packages/server/src/run.ts";
import { nodeHost } from "./serve.ts";

await runMain({
  ...nodeHost,
  runtime: `node ${process.versions.node}`,
  args: process.argv.slice(2),
  env: process.env,
  readFile: (path) => readFileSync(path, "utf8"),
  onSignal(handler) {
    let called = false;
    const once = (signal: string) => {
      if (called) return;
      called = true;
      handler(signal);
    };
    process.once("SIGINT", () => once("SIGINT"));
    process.once("SIGTERM", () => once("SIGTERM"));
  },
  exit: (code) => process.exit(code),
  log: (line) => console.log(line),
  error: (line) => console.error(line),
});
