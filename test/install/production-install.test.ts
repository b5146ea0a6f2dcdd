// A production install from a clone, as the README gives it:
// `npm ci --omit=dev && npm start`, on a machine whose own Node may be too old
// (20 on Debian): the root's one production dependency is Node 24 itself.
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mosquittoPub, mosquittoSub } from "../support/clients.ts";
import { cleanEnv, mustRun, ROOT, SYSTEM_PATH } from "../support/packed.ts";
import { startBroker } from "../support/server.ts";

const clone = mkdtempSync(join(tmpdir(), "edgemq-clone-"));
// The machine's PATH only: the production install must bring the Node it runs on.
const env = { ...cleanEnv(), PATH: SYSTEM_PATH };

beforeAll(async () => {
  // What a clone holds that the install and start read (no node_modules, no dist).
  for (const path of ["package.json", "package-lock.json", "LICENSE", "packages", "adapters"]) {
    cpSync(join(ROOT, path), join(clone, path), { recursive: true, filter: (p) => !/\/(node_modules|dist)(\/|$)/.test(p) });
  }
  await mustRun("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: clone, env, timeoutMs: 180_000 });
}, 200_000);

afterAll(() => rmSync(clone, { recursive: true, force: true }));

describe("a production install (npm ci --omit=dev)", () => {
  it("leaves out the development tools but brings Node 24", async () => {
    expect(await mustRun(join(clone, "node_modules/.bin/node"), ["--version"], { cwd: clone, env })).toMatch(/^v24\./);
    for (const dev of ["vitest", "typescript", "tsup", "bun", "deno"]) expect(existsSync(join(clone, "node_modules", dev)), dev).toBe(false);
  });

  it("starts a broker with `npm start` that mosquitto_pub and mosquitto_sub use, until Ctrl-C", async () => {
    const server = await startBroker([], {}, { command: { argv: ["npm", "start", "--"], cwd: clone, env, group: true } });
    try {
      expect(server.output()).toMatch(/^(\S+ info )?edgemq 0\.1\.0 on node 24\.\S+ listening on tcp:\/\/127\.0\.0\.1:\d+/m);
      expect(await mosquittoPub(["-p", String(server.port), "-t", "prod/hello", "-m", "hi", "-q", "1", "-r"])).toEqual({ code: 0, output: "" });
      const sub = mosquittoSub(["-p", String(server.port), "-t", "prod/#", "-v", "-C", "1", "-W", "5"]);
      expect(await sub.exited).toBe(0);
      expect(sub.lines()).toEqual(["prod/hello hi"]);
    } finally {
      await server.stop("SIGINT");
    }
    expect(server.output()).toContain("SIGINT received, shutting down");
  });
});
