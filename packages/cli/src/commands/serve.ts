import type { CommandSpec } from "../spec.ts";

// The server's modules load only when serve runs, so the admin commands start quickly.
const loadServer = async () => ({
  ...(await import("@edgemq/node/runtime-host")),
  ...(await import("@edgemq/server")),
});

/** `edgemq serve [server flags]`: the server itself on Node, exactly as `node adapters/node` starts it. */
export const SERVE_COMMAND: CommandSpec = {
  path: ["serve"],
  summary: "start an edgemq server (MQTT listeners, and the admin API with --admin-port)",
  details: "Takes the same flags as `node adapters/node`; Ctrl-C stops it.",
  flags: [],
  passthrough: true,
  examples: ["edgemq serve --port 1883 --admin-port 8080"],
  async run(input, io) {
    const args = [...input.positionals];
    const { nodeRuntimeHost, runMain, USAGE } = await loadServer();
    if (args.includes("--help") || args.includes("-h")) {
      io.out(USAGE.replace(/^Usage: edgemq /, "Usage: edgemq serve "));
      return 0;
    }
    // The server exits through the host; here that ends the command with its code, and the bin exits.
    return new Promise<number>((resolve) => {
      void runMain(nodeRuntimeHost(args, { exit: resolve })).catch((e: unknown) => {
        io.err(`edgemq: the server stopped on an unexpected error: ${(e as Error)?.message ?? String(e)}`);
        resolve(1);
      });
    });
  },
};
