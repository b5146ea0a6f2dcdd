// `bun run adapters/bun [options]`: start edgemq on Bun.
/// <reference path="./runtime.d.ts" />
import { readFileSync } from "node:fs";
import { runMain } from "@edgemq/server";
import { bunHost } from "./serve.ts";

await runMain({
  ...bunHost,
  runtime: `bun ${Bun.version}`,
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
