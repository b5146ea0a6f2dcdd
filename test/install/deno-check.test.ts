// Deno type-checks the code it runs with its own, stricter web types
// (`deno task check`): the core and the Deno adapter with everything it imports.
import { join } from "node:path";
import { expect, it } from "vitest";
import { BIN, cleanEnv, ROOT, run } from "../support/packed.ts";

it("deno check passes for the core and the Deno adapter (deno task check)", async () => {
  const r = await run(join(BIN, "deno"), ["check", "packages/core/src/mod.ts", "adapters/deno/src/main.ts"], { cwd: ROOT, env: { ...cleanEnv(), NO_COLOR: "1" }, timeoutMs: 180_000 });
  expect(r.output).not.toMatch(/error/i);
  expect(r.code).toBe(0);
}, 180_000);
