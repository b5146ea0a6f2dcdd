// A Node edgemq cannot run on gets one line saying what to install, exit code 1
// and no stack trace, from every way of starting edgemq on Node. It uses the
// machine's own Node (the first on PATH outside node_modules, 20 on Debian);
// where that Node is new enough, the same commands must simply work.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error launch.js is plain JavaScript on purpose (an old Node must parse it) and has no types.
import { supportsNode } from "../../adapters/node/launch.js";
import { ROOT, run, SYSTEM_NODE } from "../support/packed.ts";

const systemNode = SYSTEM_NODE;
if (systemNode === undefined) throw new Error("no node on PATH outside node_modules: these tests need the machine's own Node (Debian: apt-get install nodejs)");
const version = execFileSync(systemNode, ["--version"], { encoding: "utf8" }).trim().slice(1);
const tooOld = !supportsNode(version);
const oneLine = `edgemq needs Node 24 or 22.18+ (node:sqlite); this is Node ${version} — install Node 24, or run \`npm install\` (or \`npm ci --omit=dev\`) in the clone to get it; npm start and npx then use it\n`;

describe(`the machine's Node (${systemNode}, ${version})`, () => {
  it(tooOld ? "gets one line and exit code 1 from `node adapters/node`" : "starts the broker with `node adapters/node --help`", async () => {
    const r = await run(systemNode, [join(ROOT, "adapters/node"), "--help"], { cwd: ROOT, env: { PATH: process.env.PATH } });
    if (tooOld) expect(r).toEqual({ code: 1, output: oneLine });
    else expect(r).toMatchObject({ code: 0, output: expect.stringContaining("Usage: edgemq") });
  });

  it(tooOld ? "gets one line and exit code 1 from the edgemq command" : "runs the edgemq command", async () => {
    const r = await run(systemNode, [join(ROOT, "packages/cli/bin/edgemq.js"), "--version"], { cwd: ROOT, env: { PATH: process.env.PATH } });
    if (tooOld) expect(r).toEqual({ code: 1, output: oneLine });
    else expect(r).toEqual({ code: 0, output: "edgemq 0.1.0\n" });
  });
});
