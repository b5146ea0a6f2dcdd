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
    process.on("SIGINT", () => handler("SIGINT"));
    process.on("SIGTERM", () => handler("SIGTERM"));
  },
  exit: (code) => process.exit(code),
  log: (line) => console.log(line),
  error: (line) => console.error(line),
});
