import { describe, expect, it } from "vitest";
import { packedManifest } from "../../scripts/pack/packed-manifest.ts";
// @ts-expect-error launch.js is plain JavaScript on purpose (an old Node must parse it) and has no types.
import { SUPPORTED_NODE, supportsNode } from "../../adapters/node/launch.js";

describe("a packed package.json", () => {
  it("points every TypeScript entry point at its built JavaScript and .d.ts, and lists the sources tsup builds", () => {
    const { manifest, entries } = packedManifest({
      name: "@edgemq/x", main: "src/main.ts",
      exports: { ".": "./src/mod.ts", "./codec": "./src/codec/mod.ts", "./launch": "./launch.js" },
      scripts: { prepack: "node ../../scripts/pack/prepack.ts" },
    });
    expect(manifest.exports).toEqual({
      ".": { types: "./dist/mod.d.ts", default: "./dist/mod.js" },
      "./codec": { types: "./dist/codec/mod.d.ts", default: "./dist/codec/mod.js" },
      "./launch": "./launch.js",
    });
    expect(manifest.main).toBe("./dist/main.js");
    expect(entries).toEqual(["src/mod.ts", "src/codec/mod.ts", "src/main.ts"]);
    expect(manifest.scripts).toBeUndefined();
  });

  it("leaves a plain JavaScript main alone and builds nothing for it", () => {
    const { manifest, entries } = packedManifest({ name: "@edgemq/y", main: "./start.js", exports: { ".": "./src/mod.ts" } });
    expect(manifest.main).toBe("./start.js");
    expect(entries).toEqual(["src/mod.ts"]);
  });
});

describe("the Node versions edgemq runs on", () => {
  it("are 22.18 and later 22.x releases, and 24 onwards, as engines says", () => {
    expect(SUPPORTED_NODE).toBe("^22.18.0 || >=24");
    for (const v of ["22.18.0", "22.21.1", "24.0.0", "24.21.0", "25.2.0"]) expect(supportsNode(v), v).toBe(true);
    for (const v of ["20.20.2", "22.5.0", "22.17.1", "23.11.0", "18.0.0"]) expect(supportsNode(v), v).toBe(false);
  });
});
