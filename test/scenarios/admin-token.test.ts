// The Admin API token a server generates at its first start reaches the
// operator only: a 0600 file (in the data directory, else in a fresh private
// temporary directory) or the terminal, never the log stream.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { ACCOUNT } from "../support/admin-api.ts";
import { RUNTIME, startBroker } from "../support/server.ts";

const ROOT = join(import.meta.dirname, "../..");
const LINE = /edgemq: admin API token \(Admin, all namespaces\) written to (.+?) \(mode 0600\)/;

/** Whether a token opens the admin API of the server on this port. */
async function works(port: number, token: string): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/client/v4/accounts/${ACCOUNT}/pubsub/namespaces`, { headers: { authorization: `Bearer ${token}` } });
  return res.status === 200;
}

describe("the generated admin API token", () => {
  it("goes to <data dir>/admin-token with mode 0600, and the log names the file but never the token", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgemq-token-"));
    const server = await startBroker(["--admin-port", "0", "--sys-interval", "0", "--data", dir]);
    try {
      const path = LINE.exec(server.output())?.[1];
      expect(path).toBe(join(dir, "admin-token"));
      expect(statSync(path!).mode & 0o777).toBe(0o600);
      const token = readFileSync(path!, "utf8").trim();
      expect(token).toMatch(/^emq_/);
      expect(server.output()).not.toContain(token);
      expect(await works(server.ports.http!, token)).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it("goes to a 0600 file in a fresh 0700 temporary directory without a data directory, in JSON logs too", async () => {
    const server = await startBroker(["--admin-port", "0", "--sys-interval", "0", "--log-format", "json"]);
    try {
      const record = server.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).find((r) => LINE.test(r.msg));
      expect(record).toMatchObject({ level: "info", path: expect.stringMatching(/admin-token$/) });
      const path = record.path as string;
      expect(dirname(dirname(path))).toBe(tmpdir());
      expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const token = readFileSync(path, "utf8").trim();
      expect(server.output()).not.toContain(token);
      expect(await works(server.ports.http!, token)).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it("is shown on the terminal once when stderr is one, and the log only says so", async () => {
    // `script` gives the server a pseudo-terminal, as an operator's shell would.
    const cmd = {
      node: `node_modules/.bin/node adapters/node`,
      bun: `node_modules/.bin/bun run adapters/bun`,
      deno: `node_modules/.bin/deno run -A adapters/deno/src/main.ts`,
    }[RUNTIME];
    const child = spawn("script", ["-qfec", `${cmd} --port 0 --admin-port 0 --sys-interval 0`, "/dev/null"], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const exited = new Promise((r) => child.once("close", r));
    try {
      const deadline = Date.now() + 15_000;
      while (!/listening on tcp:\/\/\S+, http:\/\/127\.0\.0\.1:(\d+)/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const token = /shown once, keep it\): (emq_\S+)/.exec(out)?.[1];
      expect(token).toBeDefined();
      expect(out.split(token!).length).toBe(2); // once
      expect(out).toContain("edgemq: admin API token (Admin, all namespaces) shown once on the terminal, not logged");
      const port = Number(/http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
      expect(await works(port, token!)).toBe(true);
    } finally {
      child.stdin.write("\x03"); // Ctrl-C on the terminal
      setTimeout(() => child.kill("SIGKILL"), 5000).unref();
      await exited;
    }
  }, 30_000);
});
