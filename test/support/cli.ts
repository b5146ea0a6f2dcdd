// Runs the `edgemq` binary (node_modules/.bin/edgemq, linked by npm install) as a
// process, the way an operator does, for the CLI's scenario tests.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "node_modules/.bin");
const EDGEMQ = join(BIN, "edgemq");

/** How a run of the binary ended. */
export interface CliResult { code: number | null; stdout: string; stderr: string }

/** A running `edgemq`: `done` resolves with its exit code and output; stdout()/stderr() so far. */
export interface CliProcess { child: ChildProcess; done: Promise<CliResult>; stderr(): string; stdout(): string }

// The CLI's environment: none of the caller's EDGEMQ_* settings, and the project's Node first on PATH (the bin's shebang is `env node`).
function cliEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("EDGEMQ_")) env[k] = v;
  return { ...env, PATH: `${BIN}:${process.env.PATH ?? ""}`, ...extra };
}

/** Starts `edgemq args…`; `input`, when given, is written to its standard input, which is then closed. */
export function startCli(args: string[], env: Record<string, string> = {}, input?: string): CliProcess {
  const child = spawn(EDGEMQ, args, { cwd: ROOT, env: cliEnv(env), stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
  if (input !== undefined) child.stdin!.end(input);
  let stdout = "", stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const kill = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const done = new Promise<CliResult>((resolve) => child.once("close", (code) => {
    clearTimeout(kill);
    resolve({ code, stdout, stderr });
  }));
  return { child, done, stderr: () => stderr, stdout: () => stdout };
}

/** Runs `edgemq args…` and waits for it to exit. */
export const runCli = (args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> => startCli(args, env, input).done;

/** Waits until `check` holds, polling, for at most `ms`. */
export async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
