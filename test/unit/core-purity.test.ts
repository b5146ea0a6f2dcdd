import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// packages/core must run unchanged on Node, Bun, Deno and in browsers: web
// standards only, and no clock or timer (time comes in as an argument).
const CORE = join(import.meta.dirname, "../../packages/core/src");
const FORBIDDEN: [RegExp, string][] = [
  [/from\s+["']node:/, "a node: import"],
  [/import\(\s*["']node:/, "a dynamic node: import"],
  [/\bBuffer\b/, "Buffer"],
  [/\bprocess\./, "process"],
  [/\b(setTimeout|setInterval|setImmediate|queueMicrotask)\s*\(/, "a timer"],
  [/\bDate\.now\s*\(|\bnew Date\s*\(|\bperformance\.now\s*\(/, "the clock"],
  [/\b(Deno|Bun)\./, "a runtime-specific global"],
  [/\brequire\s*\(/, "require()"],
  [/from\s+["'](?!\.)/, "a package import (core has zero dependencies)"],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

describe("packages/core purity", () => {
  const files = sourceFiles(CORE);

  it("has source files to check", () => {
    expect(files.length).toBeGreaterThan(10);
  });

  for (const [pattern, what] of FORBIDDEN) {
    it(`uses no ${what} in any core file`, () => {
      const offenders = files.filter((f) => {
        // Comments may mention these words; only code counts.
        const code = readFileSync(f, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
        return pattern.test(code);
      });
      expect(offenders).toEqual([]);
    });
  }

  it("declares no dependencies in its package.json", () => {
    const pkg = JSON.parse(readFileSync(join(CORE, "../package.json"), "utf8"));
    expect(pkg.dependencies ?? {}).toEqual({});
  });
});
