// Runs the README's walkthroughs the way a person does: in a clone (a fresh
// directory that links to this checkout's files, so data directories the
// walkthroughs create start empty and never land in the checkout), with a
// shell whose PATH has no node_modules/.bin (npm puts it there for `npm test`,
// but a person's shell does not have it), servers in the background and
// clients in another shell. Everything started is killed at the end.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { README_PORTS } from "./readme-blocks.ts";

const ROOT = join(import.meta.dirname, "../..");

import { freePort } from "./ports.ts";

export { freePort };

/** A process started by a walkthrough, with everything it printed. */
interface Started { child: ChildProcess; output: () => string; exited: Promise<number | null> }

/** A directory that looks like a clone, the ports that stand in for the README's, and the shell environment. */
export class ReadmeSandbox {
  readonly dir = mkdtempSync(join(tmpdir(), "edgemq-readme-"));
  readonly clone = join(this.dir, "edgemq");
  readonly ports = new Map<number, number>();
  private readonly started: Started[] = [];

  static async create(): Promise<ReadmeSandbox> {
    const box = new ReadmeSandbox();
    for (const port of README_PORTS) box.ports.set(port, await freePort());
    mkdirSync(box.clone);
    // Every top-level entry but dotfiles and data directories left by a person's own runs.
    for (const name of readdirSync(ROOT)) {
      if (name.startsWith(".") || existsSync(join(ROOT, name, "edgemq.db"))) continue;
      symlinkSync(join(ROOT, name), join(box.clone, name));
    }
    // mosquitto_pub and mosquitto_sub read default options from $XDG_CONFIG_HOME: the default port.
    mkdirSync(join(box.dir, "config"));
    for (const tool of ["mosquitto_pub", "mosquitto_sub"]) writeFileSync(join(box.dir, "config", tool), `-p ${box.ports.get(1883)}\n`);
    return box;
  }

  /** The environment of a person's shell: no npm, vite or vitest variables, no node_modules/.bin on the PATH. */
  env(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v === undefined || /^(npm_|VITEST|EDGEMQ_|NODE_ENV$|NODE_OPTIONS$|NODE$|INIT_CWD$|TEST$|BASE_URL$|MODE$|DEV$|PROD$|SSR$)/.test(k)) continue;
      env[k] = v;
    }
    env.PATH = (process.env.PATH ?? "").split(delimiter).filter((p) => !p.includes("node_modules")).join(delimiter);
    env.XDG_CONFIG_HOME = join(this.dir, "config");
    // The default MQTT port, for `npm start` with no --port.
    env.EDGEMQ_PORT = String(this.ports.get(1883));
    return env;
  }

  /** Starts a shell running `script` in the clone, in its own process group. */
  start(script: string, shellFlags: string[]): Started {
    const path = join(this.dir, `script-${this.started.length}.sh`);
    writeFileSync(path, script);
    const child = spawn("bash", [...shellFlags, path], { cwd: this.clone, env: this.env(), detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    // "exit", not "close": background processes of the script keep its pipes open.
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : null))));
    const started = { child, output: () => out, exited };
    this.started.push(started);
    return started;
  }

  /**
   * Starts a server block in the background and waits until `ports` accept
   * connections and the server printed its start-up line (the last thing it
   * prints at start, after the admin token is in place).
   */
  async startServer(text: string, ports: number[]): Promise<Started> {
    const server = this.start(text + "\n", ["-euo", "pipefail"]);
    const deadline = Date.now() + 30_000;
    for (const port of ports) {
      while (!(await accepts(port)) || !/listening on /.test(server.output())) {
        const code = await Promise.race([server.exited, sleep(100).then(() => "running" as const)]);
        if (code !== "running") throw new Error(`the server block exited (${code}) before port ${port} accepted connections; it printed:\n${server.output()}`);
        if (Date.now() > deadline) throw new Error(`nothing listened on port ${port} 30 s after the server block started; it printed:\n${server.output()}`);
      }
    }
    return server;
  }

  /**
   * Runs a client script to its end (at most `ms`); `watch` sees the output as
   * it grows and may stop the script (a failed step should not leave later
   * steps waiting on it). Resolves to its exit code (null if cut short) and output.
   */
  async run(script: string, shellFlags: string[], ms: number, watch?: (output: string) => "stop" | void): Promise<{ code: number | null; output: string }> {
    const client = this.start(script, shellFlags);
    let aborted = false;
    const watcher = setInterval(() => {
      if (aborted || watch?.(client.output()) !== "stop") return;
      aborted = true;
      try { process.kill(-client.child.pid!, "SIGKILL"); } catch { /* already gone */ }
    }, 100);
    const code = await Promise.race([client.exited, sleep(ms).then(() => "timeout" as const)]).finally(() => clearInterval(watcher));
    if (aborted) return { code: null, output: `${client.output()}\nreadme-test: stopped early: a step failed` };
    if (code === "timeout") return { code: null, output: `${client.output()}\nreadme-test: the walkthrough did not finish within ${ms / 1000} s` };
    await sleep(300); // the last output of background processes
    return { code, output: client.output() };
  }

  /** The output of every server started so far, for failure messages. */
  serverOutput(): string {
    return this.started.slice(0, -1).map((s) => s.output()).join("\n");
  }

  /** Stops every process group started (SIGTERM, then SIGKILL after 5 s) and removes the directory. */
  async close(): Promise<void> {
    await Promise.all(this.started.map(async ({ child, exited }) => {
      const kill = (signal: NodeJS.Signals) => { try { process.kill(-child.pid!, signal); } catch { /* already gone */ } };
      kill("SIGTERM");
      await Promise.race([exited, sleep(5000)]);
      // The group may outlive its shell (a background broker): make sure none is left.
      kill("SIGKILL");
    }));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => { socket.destroy(); resolve(true); });
    socket.once("error", () => resolve(false));
  });
}
