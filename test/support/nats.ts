// Starts real nats-server processes (Debian's, /usr/sbin/nats-server) with
// JetStream on loopback ports and a throwaway store directory, alone or as a
// cluster of several joined by routes, and stops them after the test file.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One running nats-server. */
export interface RunningNats {
  /** Its client URL, `nats://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** Its HTTP monitoring port (/connz, /subsz). */
  monitorPort: number;
  output(): string;
  stop(): Promise<void>;
  /** Kills it with `signal` (SIGKILL: it dies as a crashed server does), keeping its JetStream store for {@link restart}. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again, killed, on the same ports, routes and store; resolves once it is ready. */
  restart(): Promise<RunningNats>;
  /** Sends `signal` and returns at once (SIGSTOP freezes it, SIGCONT wakes it). */
  signal(signal: NodeJS.Signals): void;
}

const started = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of started) if (child.exitCode === null) child.kill("SIGKILL");
});

import { freePort } from "./ports.ts";

export { freePort };

function runNats(args: string[], port: number, monitorPort: number, dir: string): Promise<RunningNats> {
  const child = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(port), "-m", String(monitorPort), "-js", "-sd", dir, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  started.add(child);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  let keep = false;
  const exited = new Promise<void>((r) => child.once("close", () => {
    started.delete(child);
    if (!keep) rmSync(dir, { recursive: true, force: true });
    r();
  }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`nats-server did not start within 10 s; it printed:\n${out}`));
    }, 10_000);
    const onData = () => {
      if (!out.includes("Server is ready")) return;
      clearTimeout(timer);
      resolve({
        url: `nats://127.0.0.1:${port}`, port, monitorPort,
        output: () => out,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
          await exited;
        },
        kill: async (signal = "SIGKILL") => {
          keep = true;
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          await exited;
        },
        restart: () => runNats(args, port, monitorPort, dir),
        signal: (signal) => void child.kill(signal),
      });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run nats-server (${e.message}): install it (apt-get install nats-server; .ci/run does)`));
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code} before it was ready; it printed:\n${out}`));
    });
  });
}

/** Starts one nats-server with JetStream (and any further flags, such as --user and --pass), on `port` when given (a server started again where one was stopped). */
export async function startNats(args: string[] = [], port?: number): Promise<RunningNats> {
  return runNats(args, port ?? (await freePort()), await freePort(), mkdtempSync(join(tmpdir(), "edgemq-nats-")));
}

/** Starts `size` nats-servers with JetStream joined as one NATS cluster (routes between all of them). */
export async function startNatsCluster(size = 3): Promise<RunningNats[]> {
  const routes: number[] = [];
  for (let i = 0; i < size; i++) routes.push(await freePort());
  const routeList = routes.map((p) => `nats-route://127.0.0.1:${p}`).join(",");
  return Promise.all(routes.map(async (routePort, i) => runNats(
    ["-n", `edgemq-test-${i}`, "--cluster_name", "edgemq-test", "--cluster", `nats://127.0.0.1:${routePort}`, "--routes", routeList],
    await freePort(), await freePort(), mkdtempSync(join(tmpdir(), "edgemq-nats-")),
  )));
}

/** The subjects a client connection named `name` holds on `nats` (from its /connz monitoring page). */
export async function natsSubjects(nats: RunningNats, name: string): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${nats.monitorPort}/connz?subs=1`);
  const body = (await res.json()) as { connections?: { name?: string; subscriptions_list?: string[] }[] };
  return (body.connections ?? []).filter((c) => c.name === name).flatMap((c) => c.subscriptions_list ?? []).sort();
}
