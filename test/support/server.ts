// Starts edgemq as a child process on a free port, the way a user would, and
// stops it after the test. EDGEMQ_TEST_RUNTIME picks node (default), bun or deno.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWebSocketBridge } from "./ws-bridge.ts";

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "node_modules/.bin");

/** A running edgemq process. */
export interface RunningBroker {
  host: string;
  port: number;
  url: string;
  /** Ports of the other listeners by protocol, as the start-up line names them (e.g. `tls`). */
  ports: Record<string, number>;
  /** Everything the process printed so far. */
  output(): string;
  /** Sends a signal and waits for the exit; resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  process: ChildProcess;
}

// Every broker a test started, so that none outlives its test file even when
// an assertion fails before the test's own stop().
const started = new Map<ChildProcess, (signal: NodeJS.Signals) => void>();
process.once("exit", () => {
  for (const [child, kill] of started) if (child.exitCode === null) kill("SIGKILL");
});

/** The runtime under test. */
export const RUNTIME = (process.env.EDGEMQ_TEST_RUNTIME ?? "node") as "node" | "bun" | "deno";

/**
 * The transport under test. With `ws`, the broker also listens for WebSocket;
 * `url` is its ws:// address (for mqtt.js), and `port` is a local bridge that
 * carries TCP-only clients (mosquitto_pub/sub, RawClient) over WebSocket.
 */
export const TRANSPORT = (process.env.EDGEMQ_TEST_TRANSPORT ?? "tcp") as "tcp" | "ws";

function command(args: string[], runtime = RUNTIME): [string, string[]] {
  switch (runtime) {
    case "bun": return [join(BIN, "bun"), ["run", join(ROOT, "adapters/bun"), ...args]];
    case "deno": return [join(BIN, "deno"), ["run", "-A", join(ROOT, "adapters/deno/src/main.ts"), ...args]];
    default: return [join(BIN, "node"), [join(ROOT, "adapters/node"), ...args]];
  }
}

/** A command that starts edgemq some other way (`npx edgemq serve` in an install, `npm start` in a clone); the flags follow `argv`. */
export interface StartCommand {
  argv: string[];
  cwd: string;
  /** The whole environment (the `env` argument is added to it), when the test's own must not leak in. */
  env?: NodeJS.ProcessEnv;
  /**
   * Signal the whole process group, as Ctrl-C in a terminal does: `npx` and
   * `npm start` run the server under `sh -c`, which dies of SIGTERM without
   * passing it on. `stop()` then resolves to the server's (npm's) exit code.
   */
  group?: boolean;
}

/**
 * Starts edgemq with the given flags (plus `--port 0` unless a port is
 * given) and resolves once its start-up line names the bound port.
 */
export function startBroker(
  args: string[] = [], env: Record<string, string> = {}, options: { autoPort?: boolean; fileSizeLimitKb?: number; openFilesLimit?: number; runtime?: typeof RUNTIME; command?: StartCommand } = {},
): Promise<RunningBroker> {
  // Tests of --port, EDGEMQ_PORT or a config file's listeners pass autoPort: false.
  const auto = !args.includes("--port") && options.autoPort !== false;
  let full = auto ? ["--port", "0", ...args] : args;
  const bridged = auto && TRANSPORT === "ws";
  if (bridged) full = [...full, "--ws-port", "0"];
  // A test of several processes may run each on its own runtime (the cluster's nodes); an installed edgemq brings its own command.
  let [cmd, argv] = options.command ? [options.command.argv[0]!, [...options.command.argv.slice(1), ...full]] : command(full, options.runtime);
  // A cap on the size of any file the broker writes (a disk that fills up, without root):
  // writes past it fail with EFBIG, SIGXFSZ being ignored by the shell and so by the runtime it execs.
  if (options.fileSizeLimitKb !== undefined) [cmd, argv] = ["sh", ["-c", `trap "" XFSZ; ulimit -f ${options.fileSizeLimitKb} && exec "$0" "$@"`, cmd, ...argv]];
  // A low open-file limit (every connection is a descriptor), as a default systemd or shell limit of 1,024 is.
  if (options.openFilesLimit !== undefined) [cmd, argv] = ["sh", ["-c", `ulimit -n ${options.openFilesLimit} && exec "$0" "$@"`, cmd, ...argv]];
  const group = options.command?.group === true;
  const child = spawn(cmd, argv, { cwd: options.command?.cwd ?? ROOT, env: { ...(options.command?.env ?? process.env), ...env }, stdio: ["ignore", "pipe", "pipe"], detached: group });
  const kill = (signal: NodeJS.Signals) => {
    try {
      if (group) process.kill(-child.pid!, signal);
      else child.kill(signal);
    } catch {
      // The group is gone already.
    }
  };
  started.set(child, kill);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => {
    started.delete(child);
    resolve(code);
  }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      kill("SIGKILL");
      reject(new Error(`edgemq did not start within 15 s; it printed:\n${out}`));
    }, 15_000);
    const onData = () => {
      const m = /listening on tcp:\/\/([^:\s]+):(\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      const host = m[1]!, tcpPort = Number(m[2]);
      const ports: Record<string, number> = {};
      for (const l of out.matchAll(/(\w+):\/\/[^\s,|]+:(\d+)/g)) ports[l[1]!] ??= Number(l[2]);
      const bridge = bridged ? startWebSocketBridge(`ws://${host}:${ports.ws}/mqtt`) : undefined;
      void (async () => {
        const b = await bridge;
        const port = b ? b.port : tcpPort;
        resolve({
        host, port, url: b ? `ws://${host}:${ports.ws}/mqtt` : `mqtt://${host}:${port}`, ports, process: child,
        output: () => out,
        stop: async (signal = "SIGTERM") => {
          if (child.exitCode === null && child.signalCode === null) kill(signal);
          const t = setTimeout(() => kill("SIGKILL"), 5000);
          const code = await exited;
          clearTimeout(t);
          // The bridge goes last, so that what the broker sent on its way out arrives.
          await b?.close();
          return code;
        },
        });
      })();
    };
    child.stdout!.on("data", onData);
    child.once("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`edgemq exited with ${code} before listening; it printed:\n${out}`));
    });
  });
}

/** Runs edgemq expecting it to exit at once (bad flags, refused config); returns code and output. */
export function runBrokerExpectingExit(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const [cmd, argv] = command(args);
  const child = spawn(cmd, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000); // a bound, not a wait: a loaded machine starts slowly
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output: out });
    });
  });
}

/**
 * The admin API token a server generated at start. The log names only the
 * 0600 file the token went to (never the token), so it is read from there.
 */
export function generatedAdminToken(output: string): string {
  const m = /admin API token \(Admin, all namespaces\) written to (.+?) \(mode 0600\)/.exec(output);
  if (!m) throw new Error(`no admin token file in the start-up output:\n${output}`);
  return readFileSync(m[1]!, "utf8").trim();
}

/** Writes a JSON config file (or the text given) to a fresh temporary folder; returns its path. */
export function writeConfig(config: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), "edgemq-config-")), "edgemq.json");
  writeFileSync(path, typeof config === "string" ? config : JSON.stringify(config));
  return path;
}
