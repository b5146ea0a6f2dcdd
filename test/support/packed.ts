// Packs the workspace packages the way a publisher does (`npm pack` runs each
// package's prepack: tsup builds dist/ and package.json points at it) and
// installs the tarballs into a fresh directory outside the repository, the way
// a user does. Used by test/install/.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/** The repository. */
export const ROOT = join(import.meta.dirname, "../..");

/** The repository's node_modules/.bin: Node 24, Bun, Deno, tsup. */
export const BIN = join(ROOT, "node_modules/.bin");

/** The workspace packages, as the root package.json's `workspaces` globs find them. */
export const WORKSPACES = ["packages", "adapters"].flatMap((group) => readdirSync(join(ROOT, group)).map((name) => `${group}/${name}`));

/**
 * The environment for npm and the installed packages: the repository's
 * node_modules/.bin first on PATH (Node 24), and none of the npm_* variables
 * of an enclosing `npm test`, which would aim npm back at this workspace.
 */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith("npm_")));
  return { ...env, PATH: [BIN, process.env.PATH ?? ""].join(delimiter) };
}

/** PATH without any node_modules/.bin: what a shell on this machine has, before npm adds the repository's Node 24. */
export const SYSTEM_PATH = (process.env.PATH ?? "").split(delimiter).filter((dir) => dir && !dir.includes("node_modules")).join(delimiter);

/** The machine's own Node (the first on {@link SYSTEM_PATH}; 20 on Debian), if it has one. */
export const SYSTEM_NODE = SYSTEM_PATH.split(delimiter).map((dir) => join(dir, "node")).find((path) => existsSync(path));

/** Runs a command to its end; resolves with its exit code (1 on a timeout) and everything it printed. */
export function run(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: options.cwd, env: options.env ?? cleanEnv(), timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, output: stdout + stderr });
    });
  });
}

/** Like {@link run}, but throws with the command's output when it fails. */
export async function mustRun(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<string> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} (in ${options.cwd}) exited with ${r.code}:\n${r.output}`);
  return r.output;
}

/**
 * `npm pack`s every workspace package into `dest` and resolves to the tarballs.
 * It packs a copy of the workspace (its node_modules linked to the
 * repository's), because prepack rewrites package.json while it runs and the
 * tests running beside this one import the repository's packages.
 */
export async function packWorkspaces(dest: string): Promise<string[]> {
  const stage = mkdtempSync(join(tmpdir(), "edgemq-stage-"));
  const skip = (path: string) => !/\/(node_modules|dist)(\/|$)/.test(path);
  for (const path of ["tsconfig.json", "LICENSE", "scripts/pack", "packages", "adapters"]) {
    cpSync(join(ROOT, path), join(stage, path), { recursive: true, filter: skip });
  }
  // No "workspaces" here: as a workspace, npm would read every package's
  // package.json while packing one, including one that a parallel prepack is rewriting.
  writeFileSync(join(stage, "package.json"), JSON.stringify({ private: true, type: "module" }));
  symlinkSync(join(ROOT, "node_modules"), join(stage, "node_modules"));
  mkdirSync(dest, { recursive: true });
  // Two at a time: each build is mostly tsup's .d.ts pass, on one core.
  const queue = [...WORKSPACES];
  const worker = async () => {
    for (let dir = queue.shift(); dir !== undefined; dir = queue.shift()) {
      await mustRun("npm", ["pack", "--pack-destination", dest, "--silent"], { cwd: join(stage, dir), timeoutMs: 120_000 });
    }
  };
  try {
    await Promise.all([worker(), worker()]);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return readdirSync(dest).filter((f) => f.endsWith(".tgz")).map((f) => join(dest, f));
}

/**
 * A fresh directory outside the repository with the tarballs installed by npm
 * with production dependencies only (third-party ones from npm's cache or the
 * registry).
 */
export async function installTarballs(tarballs: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "edgemq-installed-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "edgemq-installed", private: true, type: "module" }));
  await mustRun("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline", ...tarballs], { cwd: dir, timeoutMs: 120_000 });
  return dir;
}
