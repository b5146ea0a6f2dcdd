// @edgemq/core is ready for JSR: `deno publish --dry-run` type-checks it,
// finds no slow types (every public symbol has an explicit type) and lists the
// files it would publish. The dry run works offline: the core has no
// dependencies to fetch and nothing is sent to jsr.io.
import { join } from "node:path";
import { expect, it } from "vitest";
import { BIN, cleanEnv, ROOT, run } from "../support/packed.ts";

it("deno publish --dry-run passes for @edgemq/core, with its LICENSE and without slow types", async () => {
  // --allow-dirty: the suite runs on work in progress; what is checked is the code, not the git state.
  const r = await run(join(BIN, "deno"), ["publish", "--dry-run", "--allow-dirty"], { cwd: join(ROOT, "packages/core"), env: { ...cleanEnv(), NO_COLOR: "1" }, timeoutMs: 120_000 });
  expect(r.output).toContain("Simulating publish of @edgemq/core@0.1.0");
  expect(r.output).toContain("/LICENSE");
  expect(r.output).toContain("packages/core/src/mod.ts");
  expect(r.output).toContain("Success Dry run complete");
  expect(r.code).toBe(0);
}, 120_000);
