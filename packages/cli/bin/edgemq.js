#!/usr/bin/env node
// `npx edgemq …`: the command line, in TypeScript that Node 24 runs as is.
// This file stays plain JavaScript so that an older Node gets a clear message
// instead of a syntax error from the first type annotation.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major < 24 && !(major === 22 && minor >= 18) && !(major === 23 && minor >= 6))) {
  console.error(`edgemq: this is Node ${process.versions.node}; the command line needs Node 24 (it runs TypeScript natively). Run it as "npx edgemq" from the repository, which uses the project's Node, or put node_modules/.bin first on PATH.`);
  process.exit(1);
}
// "edgemq broker list | head -1" closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => process.exit(e.code === "EPIPE" ? 0 : 1));
}
const { main } = await import("../src/main.ts");
const code = await main(process.argv.slice(2));
// Exit once stdout and stderr have drained, so piped output is never cut short
// and no leftover socket keeps the process alive.
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
