#!/usr/bin/env node
// `npx edgemq …`: the command line. Plain JavaScript, so that an older Node gets
// one clear line from launch() instead of a syntax error.
import { launch } from "@edgemq/node/launch";

// "edgemq broker list | head -1" closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => process.exit(e.code === "EPIPE" ? 0 : 1));
}
const { main } = await launch(new URL("../", import.meta.url), "mod", { server: process.argv[2] === "serve" });
const code = await main(process.argv.slice(2));
// Exit once stdout and stderr have drained, so piped output is never cut short
// and no leftover socket keeps the process alive.
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
