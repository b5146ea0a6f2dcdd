// `deno task start [options]`, or `deno run --allow-net --allow-read --allow-env adapters/deno/src/main.ts [options]`
// (plus --allow-write --allow-sys with --data): start edgemq on Deno.
/// <reference path="./runtime.d.ts" />
import { runMain } from "@edgemq/server";
import { explainDenoPermission } from "./permissions.ts";
import { denoHost } from "./serve.ts";

try {
  await runMain({
    ...denoHost,
    runtime: `deno ${Deno.version.deno}`,
    args: Deno.args,
    env: Deno.env.toObject(),
    readFile(path) {
      try {
        return Deno.readTextFileSync(path);
      } catch (e) {
        // The config file's reader reports only the message, so say here that Deno refused it.
        throw new Error(explainDenoPermission(e) ?? (e as Error).message, { cause: e });
      }
    },
    onSignal(handler) {
      Deno.addSignalListener("SIGINT", () => handler("SIGINT"));
      Deno.addSignalListener("SIGTERM", () => handler("SIGTERM"));
    },
    exit: (code) => Deno.exit(code),
    log: (line) => console.log(line),
    error: (line) => console.error(line),
    explainError: explainDenoPermission,
  });
} catch (e) {
  // Refused before runMain could report it (Deno.env without --allow-env).
  const line = explainDenoPermission(e);
  if (line === undefined) throw e;
  console.error(`edgemq: ${line}`);
  Deno.exit(2);
}
