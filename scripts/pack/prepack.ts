// `npm pack` / `npm publish` in a workspace package (its "prepack" script):
// builds dist/ with tsup and points package.json at it for the tarball. The
// repository's own package.json is kept beside it and put back by postpack.ts,
// so development keeps running the TypeScript sources.
import { copyFileSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { build } from "tsup";
import { BACKUP, LICENSE, MANIFEST, ROOT_LICENSE } from "./paths.ts";
import { type Manifest, packedManifest } from "./packed-manifest.ts";

// A backup left by a pack that died before postpack is the real manifest; never overwrite it with a rewritten one.
if (!existsSync(BACKUP)) copyFileSync(MANIFEST, BACKUP);
const source = JSON.parse(readFileSync(BACKUP, "utf8")) as Manifest;
const { manifest, entries } = packedManifest(source);
if (entries.length === 0) {
  console.error(`prepack: ${source.name} has no src/*.ts entry point in "exports" or "main"; nothing to build`);
  process.exit(1);
}
try {
  // ESM for Node >= 22.18, Bun and Deno; dependencies (the other @edgemq packages too) stay imports, not bundled copies.
  // removeNodeProtocol: false keeps "node:sqlite" and "node:timers" as written: Deno and node:sqlite need the prefix.
  await build({ entry: entries, format: ["esm"], dts: true, clean: true, target: "es2023", outDir: "dist", removeNodeProtocol: false, silent: true });
} catch (e) {
  console.error(`prepack: tsup failed to build ${source.name}: ${(e as Error).message}; package.json is unchanged`);
  process.exit(1);
}
// Written aside and renamed into place, so that nothing reading package.json meanwhile sees half a file.
writeFileSync(`${MANIFEST}.packing`, JSON.stringify(manifest, null, 2) + "\n");
renameSync(`${MANIFEST}.packing`, MANIFEST);
copyFileSync(ROOT_LICENSE, LICENSE);
