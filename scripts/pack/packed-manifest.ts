// What a package.json says in the tarball, as opposed to in the repository.
// In the repository every entry point is a TypeScript source (Node 24, Bun and
// Deno run them as they are, and workspace packages are symlinks, so nothing
// is built to develop or test). Node and Deno refuse TypeScript inside
// node_modules, so the tarball carries dist/ (JavaScript and .d.ts, built by
// tsup) and its package.json points there instead.

/** The fields of a package.json that packing reads or rewrites. */
export interface Manifest {
  name: string;
  main?: string;
  exports?: Record<string, string | Record<string, string>>;
  scripts?: Record<string, string>;
  [field: string]: unknown;
}

const SOURCE = /^(?:\.\/)?src\/(.+)\.ts$/;

/** The manifest to pack and the source files tsup builds for it: each `src/x.ts` entry point becomes `dist/x.js` with `dist/x.d.ts`. */
export function packedManifest(source: Manifest): { manifest: Manifest; entries: string[] } {
  const entries: string[] = [];
  const built = (path: string) => {
    const m = SOURCE.exec(path);
    if (!m) return undefined;
    if (!entries.includes(`src/${m[1]}.ts`)) entries.push(`src/${m[1]}.ts`);
    return m[1]!;
  };
  const manifest: Manifest = { ...source };
  if (source.exports) {
    manifest.exports = Object.fromEntries(Object.entries(source.exports).map(([key, value]) => {
      const stem = typeof value === "string" ? built(value) : undefined;
      return [key, stem === undefined ? value : { types: `./dist/${stem}.d.ts`, default: `./dist/${stem}.js` }];
    }));
  }
  if (source.main !== undefined) {
    const stem = built(source.main);
    if (stem !== undefined) manifest.main = `./dist/${stem}.js`;
  }
  // The pack scripts refer to the repository's scripts/, which a tarball does not have.
  delete manifest.scripts;
  return { manifest, entries };
}
