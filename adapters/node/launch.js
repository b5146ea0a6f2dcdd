// Plain JavaScript on purpose: this is the first edgemq file Node runs (from
// `node adapters/node`, `npm start` and the `edgemq` command), so a Node too old
// for edgemq must be able to parse it and get one clear line, rather than a
// syntax error at a type annotation or a stack trace from node:sqlite.
import { existsSync } from "node:fs";
import { applyGcFlags } from "./gc-flags.js";

/**
 * The Node versions edgemq runs on (also each package.json's `engines`):
 * node:sqlite with `StatementSync.iterate` and `DatabaseSync.isTransaction`
 * (22.16 and 24.0; 23.x lacks the latter), and TypeScript sources without a
 * flag (22.18) for a clone.
 */
export const SUPPORTED_NODE = "^22.18.0 || >=24";

/** Whether a Node version ("24.1.0") is one edgemq runs on. */
export function supportsNode(version) {
  const [major, minor] = version.split(".").map(Number);
  return major >= 24 || (major === 22 && minor >= 18);
}

/**
 * Imports the entry point `name` of the package whose folder is `packageRoot`
 * (a file: URL ending in "/"): src/<name>.ts in a clone, dist/<name>.js in an
 * installed tarball, which carries no src/. On a Node edgemq does not run on,
 * prints one line saying what is needed and exits with code 1 instead. A
 * `server` (the default for "main") on one CPU first restarts itself with the
 * garbage collector's flags for one CPU (gc-flags.js).
 */
export async function launch(packageRoot, name, { server = name === "main" } = {}) {
  const source = new URL(`src/${name}.ts`, packageRoot);
  const fromSource = existsSync(source);
  if (!supportsNode(process.versions.node)) {
    const fix = fromSource
      ? "install Node 24, or run `npm install` (or `npm ci --omit=dev`) in the clone to get it; npm start and npx then use it"
      : "install Node 24";
    console.error(`edgemq needs Node 24 or 22.18+ (node:sqlite); this is Node ${process.versions.node} — ${fix}`);
    process.exit(1);
  }
  // A server on one CPU restarts itself with the garbage collector's flags for one CPU (gc-flags.js).
  if (server) applyGcFlags();
  return import(fromSource ? source.href : new URL(`dist/${name}.js`, packageRoot).href);
}
