// `node adapters/node [options]`: start edgemq on Node.
import { runMain } from "@edgemq/server";
import { nodeRuntimeHost } from "./run-host.ts";

await runMain(nodeRuntimeHost(process.argv.slice(2)));
