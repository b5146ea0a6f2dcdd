import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "node_modules/.bin");
const SCRIPT = join(ROOT, "test/runtime/core-smoke.ts");

// Each runtime runs the core's TypeScript sources as they are.
const runtimes: [string, string, string[]][] = [
  // Node's permission model: the script may read the sources and nothing else.
  ["node", join(BIN, "node"), ["--permission", `--allow-fs-read=${ROOT}/packages/core/*`, `--allow-fs-read=${ROOT}/test/runtime/*`, SCRIPT]],
  ["bun", join(BIN, "bun"), ["run", SCRIPT]],
  // No --allow-* flag at all: any file, network, environment or clock-precision access would fail.
  ["deno", join(BIN, "deno"), ["run", "--no-prompt", "--no-config", SCRIPT]],
];

describe("packages/core on every runtime", () => {
  for (const [name, cmd, args] of runtimes) {
    it(`runs an MQTT exchange through the core broker on ${name}, straight from the TypeScript sources`, () => {
      const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout.trim().split("\n").at(-1)!)).toEqual({
        got: ["connack", "suback", "publish"],
        acks: ["connack", "puback"],
        closedByKeepAlive: true,
        roundTrip: "pingreq",
      });
    });
  }
});
