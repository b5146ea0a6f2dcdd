// Deno runs edgemq only with the permissions its command line grants. The
// README's `deno task start` grants what --data needs (node:sqlite writes the
// data directory; the store reads the user id and host name), and a command
// without one is told which flag it lacks, not that the disk is at fault.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { explainDenoPermission } from "../../adapters/deno/src/permissions.ts";
import { mosquittoPub, mosquittoSub } from "../support/clients.ts";
import { BIN, cleanEnv, ROOT, run } from "../support/packed.ts";
import { startBroker } from "../support/server.ts";

const dirs: string[] = [];
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "edgemq-deno-data-"));
  dirs.push(dir);
  return join(dir, "data");
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const GRANTS = "run with --allow-write or use `deno task start`, which grants what edgemq needs (--allow-net --allow-read --allow-write --allow-env --allow-sys)";

describe("edgemq on Deno with --data", () => {
  it("keeps a retained message across a restart when started with `deno task start`", async () => {
    const data = dataDir();
    const start = () => startBroker(["--data", data], {}, { command: { argv: [join(BIN, "deno"), "task", "start"], cwd: ROOT, env: cleanEnv(), group: true } });
    const first = await start();
    expect(first.output()).toContain(`store: sqlite (fsync) at ${data}/edgemq.db`);
    expect(await mosquittoPub(["-p", String(first.port), "-t", "deno/kept", "-m", "across", "-q", "1", "-r"])).toEqual({ code: 0, output: "" });
    await first.stop("SIGINT");
    const second = await start();
    try {
      const sub = mosquittoSub(["-p", String(second.port), "-t", "deno/#", "-v", "-C", "1", "-W", "5"]);
      expect(await sub.exited).toBe(0);
      expect(sub.lines()).toEqual(["deno/kept across"]);
    } finally {
      await second.stop("SIGINT");
    }
  });

  it("says which permission is missing when the command lacks --allow-write, with exit code 1", async () => {
    const data = dataDir();
    const r = await run(join(BIN, "deno"), ["run", "--no-prompt", "--allow-net", "--allow-read", "--allow-env", "adapters/deno/src/main.ts", "--port", "0", "--data", data], { cwd: ROOT });
    // A log line: its time and level first.
    expect({ code: r.code, output: r.output.replace(/^\S+ error /, "") }).toEqual({ code: 1, output: `edgemq: cannot start: Deno denied write access to "${data}": ${GRANTS}\n` });
  });

  it("says --allow-sys is missing when only it is (the store reads the user id and the host name)", async () => {
    const r = await run(join(BIN, "deno"), ["run", "--no-prompt", "--allow-net", "--allow-read", "--allow-env", "--allow-write", "adapters/deno/src/main.ts", "--port", "0", "--data", dataDir()], { cwd: ROOT });
    expect(r.code).toBe(1);
    expect(r.output.replace(/^\S+ error /, "")).toMatch(/^edgemq: cannot start: Deno denied sys access to "\w+": run with --allow-sys or use `deno task start`/);
  });

  it("says --allow-env is missing before anything else runs, with exit code 2", async () => {
    const r = await run(join(BIN, "deno"), ["run", "--no-prompt", "--allow-net", "--allow-read", "adapters/deno/src/main.ts", "--port", "0"], { cwd: ROOT });
    expect(r).toEqual({ code: 2, output: "edgemq: Deno denied env access: run with --allow-env or use `deno task start`, which grants what edgemq needs (--allow-net --allow-read --allow-write --allow-env --allow-sys)\n" });
  });
});

describe("explaining a Deno refusal", () => {
  const notCapable = (message: string) => Object.assign(new Error(message), { name: "NotCapable" });

  it("finds Deno's refusal under edgemq's own errors and names the flag", () => {
    const wrapped = new Error("the data directory /srv/mq cannot be created", { cause: notCapable('Requires write access to "/srv/mq", run again with the --allow-write flag') });
    expect(explainDenoPermission(wrapped)).toBe(`Deno denied write access to "/srv/mq": ${GRANTS}`);
  });

  it("leaves every other error, a file system's refusal included, to the usual message", () => {
    expect(explainDenoPermission(Object.assign(new Error("EACCES: permission denied, mkdir '/srv/mq'"), { code: "EACCES" }))).toBeUndefined();
    expect(explainDenoPermission("not an error")).toBeUndefined();
  });
});
