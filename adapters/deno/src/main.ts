// `deno run --allow-net --allow-read --allow-env adapters/deno/src/main.ts [options]`: start edgemq on Deno.
/// <reference path="./runtime.d.ts" />
import { runMain } from "@edgemq/server";
import { denoHost } from "./serve.ts";

await runMain({
  ...denoHost,
  runtime: `deno ${Deno.version.deno}`,
  args: Deno.args,
  env: Deno.env.toObject(),
  readFile: (path) => Deno.readTextFileSync(path),
  onSignal(handler) {
    Deno.addSignalListener("SIGINT", () => handler("SIGINT"));
    Deno.addSignalListener("SIGTERM", () => handler("SIGTERM"));
  },
  exit: (code) => Deno.exit(code),
  log: (line) => console.log(line),
  error: (line) => console.error(line),
});
