// The packages as users get them: packed by `npm pack` (tsup builds dist/),
// installed from the tarballs into a directory outside the repository with
// production dependencies only, then used on Node, Bun and Deno.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mosquittoPub, mosquittoSub } from "../support/clients.ts";
// @ts-expect-error launch.js is plain JavaScript on purpose (an old Node must parse it) and has no types.
import { supportsNode } from "../../adapters/node/launch.js";
import { BIN, cleanEnv, installTarballs, mustRun, packWorkspaces, ROOT, run, SYSTEM_NODE, SYSTEM_PATH, WORKSPACES } from "../support/packed.ts";
import { startBroker } from "../support/server.ts";

const packed = mkdtempSync(join(tmpdir(), "edgemq-tarballs-"));
let tarballs: string[] = [];
let app = "";

beforeAll(async () => {
  tarballs = await packWorkspaces(packed);
  app = await installTarballs(tarballs);
  copyFileSync(join(ROOT, "test/fixtures/packed-exchange.mjs"), join(app, "exchange.mjs"));
}, 240_000);

afterAll(() => {
  for (const dir of [packed, app]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the packed packages", () => {
  it("are one tarball per workspace package, each carrying JavaScript, .d.ts and a LICENSE but no TypeScript sources", async () => {
    expect(tarballs).toHaveLength(WORKSPACES.length);
    for (const tarball of tarballs) {
      const files = (await mustRun("tar", ["tzf", tarball], { cwd: app })).split("\n");
      // A package without prepack and files (a new workspace package) would ship src/*.ts, which Node and Deno refuse in node_modules.
      expect(files.filter((f) => /^package\/dist\/.+\.js$/.test(f)), tarball).not.toEqual([]);
      expect(files.filter((f) => /^package\/dist\/.+\.d\.ts$/.test(f)), tarball).not.toEqual([]);
      expect(files, tarball).toContain("package/LICENSE");
      expect(files.filter((f) => f.startsWith("package/src/")), tarball).toEqual([]);
    }
    const core = await mustRun("tar", ["tzf", tarballs.find((t) => t.includes("edgemq-core-"))!], { cwd: app });
    expect(core).toContain("package/dist/mod.js");
    expect(core).toContain("package/dist/mod.d.ts");
    // The dashboard's Try it page loads mqtt.js's browser bundle from the server: prepack puts it in the tarball.
    const dashboard = await mustRun("tar", ["tzf", tarballs.find((t) => t.includes("edgemq-dashboard-"))!], { cwd: app });
    expect(dashboard).toContain("package/static/mqtt.min.js");
  });

  it("point their exports at dist/ once installed, with types beside the code", () => {
    const manifest = JSON.parse(readFileSync(join(app, "node_modules/@edgemq/core/package.json"), "utf8"));
    expect(manifest.exports["."]).toEqual({ types: "./dist/mod.d.ts", default: "./dist/mod.js" });
    expect(manifest.engines.node).toBe("^22.18.0 || >=24");
    expect(manifest.scripts).toBeUndefined();
    for (const entry of ["mod", "codec/mod", "testing"]) expect(existsSync(join(app, `node_modules/@edgemq/core/dist/${entry}.d.ts`))).toBe(true);
  });

  it("let Node import Broker from @edgemq/core and run an MQTT exchange", async () => {
    expect(await mustRun(join(BIN, "node"), ["exchange.mjs"], { cwd: app })).toBe("received packed/hello from the tarball\n");
  });

  it("let Bun import Broker from @edgemq/core and run an MQTT exchange", async () => {
    expect(await mustRun(join(BIN, "bun"), ["exchange.mjs"], { cwd: app })).toBe("received packed/hello from the tarball\n");
  });

  it("let Deno import Broker from @edgemq/core through node_modules, with no permissions, and run an MQTT exchange", async () => {
    expect(await mustRun(join(BIN, "deno"), ["run", "--no-prompt", "exchange.mjs"], { cwd: app })).toBe("received packed/hello from the tarball\n");
  });

  it("tell a Node too old for them, in one line, to install Node 24 (or, on a new enough machine Node, run)", async () => {
    const r = await run(SYSTEM_NODE!, ["node_modules/.bin/edgemq", "--version"], { cwd: app, env: { PATH: SYSTEM_PATH } });
    const version = (await mustRun(SYSTEM_NODE!, ["--version"], { cwd: app })).trim().slice(1);
    if (supportsNode(version)) expect(r).toEqual({ code: 0, output: "edgemq 0.1.0\n" });
    else expect(r).toEqual({ code: 1, output: `edgemq needs Node 24 or 22.18+ (node:sqlite); this is Node ${version} — install Node 24\n` });
  });

  it("start a broker from @edgemq/bun on Bun and from @edgemq/deno on Deno, each serving mosquitto clients", async () => {
    const commands = [
      [join(BIN, "bun"), "node_modules/@edgemq/bun"],
      [join(BIN, "deno"), "run", "--no-prompt", "--allow-net", "--allow-read", "--allow-env", "node_modules/@edgemq/deno/dist/main.js"],
    ];
    for (const argv of commands) {
      const server = await startBroker([], {}, { command: { argv, cwd: app, env: cleanEnv() } });
      try {
        expect(server.output()).toMatch(new RegExp(`^(\\S+ info )?edgemq 0\\.1\\.0 on ${argv[0]!.endsWith("bun") ? "bun" : "deno"} `, "m"));
        expect(await mosquittoPub(["-p", String(server.port), "-t", "packed/runtime", "-m", "hi", "-q", "1", "-r"])).toEqual({ code: 0, output: "" });
        const sub = mosquittoSub(["-p", String(server.port), "-t", "packed/#", "-v", "-C", "1", "-W", "5"]);
        expect(await sub.exited).toBe(0);
        expect(sub.lines()).toEqual(["packed/runtime hi"]);
      } finally {
        expect(await server.stop()).toBe(0);
      }
    }
  });

  it("start a broker with `npx edgemq serve` that mosquitto_pub and mosquitto_sub use, until Ctrl-C", async () => {
    const server = await startBroker([], {}, { command: { argv: ["npx", "edgemq", "serve"], cwd: app, env: cleanEnv(), group: true } });
    try {
      expect(server.output()).toMatch(/^(\S+ info )?edgemq 0\.1\.0 on node 24\.\S+ listening on tcp:\/\/127\.0\.0\.1:\d+/m);
      const pub = await mosquittoPub(["-p", String(server.port), "-t", "packed/hello", "-m", "hi", "-q", "1", "-r"]);
      expect(pub).toEqual({ code: 0, output: "" });
      const sub = mosquittoSub(["-p", String(server.port), "-t", "packed/#", "-v", "-C", "1", "-W", "5"]);
      expect(await sub.exited).toBe(0);
      expect(sub.lines()).toEqual(["packed/hello hi"]);
    } finally {
      await server.stop("SIGINT");
    }
    expect(server.output()).toContain("SIGINT received, shutting down");
    expect((await mosquittoPub(["-p", String(server.port), "-t", "packed/hello", "-m", "after"])).code).not.toBe(0);
  });
});
