// The architecture check (scripts/check-imports.ts) on this repository, and
// proof that it catches what it is for: each planted problem below is a tiny
// in-memory tree that breaks one rule, and the check must report it.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CHECKED_FOLDERS, CORE_LAYERS, checkRepositoryTree, summary } from "../../scripts/check-imports.ts";
import { checkTree, type Finding, type FindingKind, formatFinding } from "../../scripts/imports/check-tree.ts";
import { parseImports } from "../../scripts/imports/parse-imports.ts";
import { readTree } from "../../scripts/imports/read-tree.ts";

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "node_modules/.bin");

const PACKAGE_KINDS: FindingKind[] = ["relative-cross-package", "outside-package", "not-exported", "self-import", "unresolved", "undeclared-dependency"];
const of = (findings: Finding[], ...kinds: FindingKind[]) => findings.filter((f) => kinds.includes(f.kind)).map(formatFinding);

describe("the import check on this repository", () => {
  const tree = readTree(ROOT, CHECKED_FOLDERS);
  const findings = checkRepositoryTree(tree);

  it("reads every package and adapter of the workspace and their code", () => {
    const manifests = [...tree.keys()].filter((p) => p.endsWith("/package.json")).sort();
    expect(manifests).toEqual([
      "adapters/bun/package.json", "adapters/deno/package.json", "adapters/node/package.json",
      "packages/admin/package.json", "packages/cli/package.json", "packages/cluster-nats/package.json", "packages/core/package.json", "packages/credentials/package.json",
      "packages/dashboard/package.json",
      "packages/server/package.json", "packages/store-sqlite/package.json", "packages/tenancy/package.json",
    ]);
    expect([...tree.keys()].filter((p) => p.endsWith(".ts")).length).toBeGreaterThan(100);
  });

  it("finds no import cycle among the files of packages/ and adapters/", () => {
    expect(of(findings, "cycle")).toEqual([]);
  });

  it("finds no workspace packages that depend on each other in a circle", () => {
    expect(of(findings, "package-cycle")).toEqual([]);
  });

  it("finds every package importing other packages only by name, through their exports map, as declared dependencies", () => {
    expect(of(findings, ...PACKAGE_KINDS)).toEqual([]);
  });

  it("finds every core file importing only its own folder or a lower layer of the layer table", () => {
    expect(of(findings, "core-layer", "core-unknown-folder")).toEqual([]);
  });

  it("prints every finding and a summary as a command, and exits 1 exactly when there is a finding", () => {
    const r = spawnSync(join(BIN, "node"), [join(ROOT, "scripts/check-imports.ts")], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe("");
    const files = [...tree.keys()].filter((p) => !p.endsWith("package.json")).length;
    expect(r.stdout).toBe([...findings.map(formatFinding), summary(findings, files)].join("\n") + "\n");
    expect(r.status).toBe(findings.length > 0 ? 1 : 0);
  });
});

// A package.json for a planted tree.
const manifest = (name: string, exports: Record<string, string>, dependencies: string[] = []) =>
  JSON.stringify({ name, version: "0.1.0", exports, dependencies: Object.fromEntries(dependencies.map((d) => [d, "0.1.0"])) });

// A core with a file in each folder of the layer table, each importing the rank below; mod.ts on top.
const CORE: Record<string, string> = {
  "packages/core/package.json": manifest("@edgemq/core", { ".": "./src/mod.ts", "./testing": "./src/testing.ts" }),
  "packages/core/src/codec/packet.ts": `export type Packet = { type: string };\n`,
  "packages/core/src/transport/duplex.ts": `import type { Packet } from "../codec/packet.ts";\nexport type Duplex = { last?: Packet };\n`,
  "packages/core/src/model/message.ts": `import type { Duplex } from "../transport/duplex.ts";\nexport type Message = { via?: Duplex };\n`,
  "packages/core/src/policy/hook.ts": `import type { Message } from "../model/message.ts";\nexport type Hook = (m: Message) => boolean;\n`,
  "packages/core/src/store/store.ts": `import type { Message } from "../model/message.ts";\nexport type Store = { save(m: Message): void };\n`,
  "packages/core/src/connection/connection.ts": `import type { Hook } from "../policy/hook.ts";\nimport type { Store } from "../store/store.ts";\nexport type Connection = { hook: Hook; store: Store };\n`,
  "packages/core/src/broker/broker.ts": `import type { Connection } from "../connection/connection.ts";\nimport { helper } from "./helper.ts";\nexport class Broker { c?: Connection; h = helper; }\n`,
  "packages/core/src/broker/helper.ts": `export const helper = 1;\n`,
  "packages/core/src/mod.ts": `export * from "./broker/broker.ts";\nexport type * from "./codec/packet.ts";\n`,
  "packages/core/src/testing.ts": `export { Broker as TestBroker } from "./broker/broker.ts";\n`,
};
const SERVER: Record<string, string> = {
  "packages/server/package.json": manifest("@edgemq/server", { ".": "./src/mod.ts" }, ["@edgemq/core"]),
  "packages/server/src/mod.ts": `export * from "./run.ts";\n`,
  "packages/server/src/run.ts": `import { Broker } from "@edgemq/core";\nexport const run = () => new Broker();\n`,
};

function check(files: Record<string, string>): Finding[] {
  return checkTree(new Map(Object.entries(files)), CORE_LAYERS);
}

describe("the import check, on planted problems", () => {
  it("reports nothing for a tree that keeps every rule", () => {
    expect(check({ ...CORE, ...SERVER }).map(formatFinding)).toEqual([]);
  });

  it("reports a cycle of three files with every file on it, counting a type-only import", () => {
    const findings = check({
      ...CORE, ...SERVER,
      "packages/server/src/a.ts": `import { b } from "./b.ts";\nexport const a = b;\n`,
      "packages/server/src/b.ts": `// b needs c\nimport { c } from "./c.ts";\nexport const b = c;\n`,
      "packages/server/src/c.ts": `import type { A } from "./types.ts";\nimport type {\n  a,\n} from "./a.ts";\nexport const c = 1;\n`,
      "packages/server/src/types.ts": `export type A = 1;\n`,
    });
    expect(findings.map((f) => f.kind)).toEqual(["cycle"]);
    expect(findings[0]!.members).toEqual(["packages/server/src/a.ts", "packages/server/src/b.ts", "packages/server/src/c.ts"]);
    expect(findings[0]!.message).toContain("packages/server/src/a.ts:1 → packages/server/src/b.ts:2 → packages/server/src/c.ts:4 → packages/server/src/a.ts");
  });

  it("reports a file that imports itself as a cycle", () => {
    const findings = check({ ...CORE, "packages/core/src/broker/helper.ts": `export { x } from "./helper.ts";\nexport const helper = 1;\n` });
    expect(findings.map((f) => [f.kind, f.members])).toEqual([["cycle", ["packages/core/src/broker/helper.ts"]]]);
  });

  it("reports a core file that imports a higher layer, with its file and line", () => {
    const findings = check({
      ...CORE,
      "packages/core/src/codec/packet.ts": `export type Packet = { type: string };\nimport { Broker } from "../broker/broker.ts";\nexport const b = Broker;\n`,
    });
    // The upward import also closes a cycle through the layers above it.
    expect(of(findings, "core-layer")).toEqual([
      "packages/core/src/codec/packet.ts:2: codec/ (rank 0) imports broker/broker.ts (broker/, rank 5), a higher layer: "
      + "move what it needs down to codec/ or below (shared vocabulary belongs in model/), or turn the dependency round",
    ]);
  });

  it("reports a type-only upward import in the core like any other", () => {
    const findings = check({
      ...CORE,
      "packages/core/src/model/message.ts": `import type { Duplex } from "../transport/duplex.ts";\nimport type { Connection } from "../connection/connection.ts";\nexport type Message = { via?: Duplex; c?: Connection };\n`,
    });
    expect(of(findings, "core-layer")).toEqual([expect.stringMatching(/^packages\/core\/src\/model\/message\.ts:2: model\/ \(rank 2\) imports connection\/connection\.ts .*a higher layer.*type-only import counts too/)]);
  });

  it("reports policy/ and store/ importing each other although they share a rank", () => {
    const findings = check({
      ...CORE,
      "packages/core/src/store/store.ts": `import type { Message } from "../model/message.ts";\nimport type { Hook } from "../policy/hook.ts";\nexport type Store = { save(m: Message): void; h?: Hook };\n`,
    });
    expect(of(findings, "core-layer")).toEqual([expect.stringMatching(/^packages\/core\/src\/store\/store\.ts:2: store\/ \(rank 3\) imports policy\/hook\.ts \(policy\/, also rank 3\)/)]);
  });

  it("reports a core file that imports the core's entry point or another package", () => {
    const findings = check({
      ...CORE, ...SERVER,
      "packages/core/src/broker/helper.ts": `import type { Packet } from "../mod.ts";\nimport { run } from "@edgemq/server";\nexport const helper = run;\n`,
    });
    expect(of(findings, "core-layer")).toEqual([
      expect.stringMatching(/^packages\/core\/src\/broker\/helper\.ts:1: .*imports mod\.ts, the core's entry point/),
      expect.stringMatching(/^packages\/core\/src\/broker\/helper\.ts:2: .*imports packages\/server\/src\/mod\.ts, outside the core/),
    ]);
  });

  it("reports a core folder that the layer table lacks, once, and says where to add it", () => {
    const findings = check({
      ...CORE,
      "packages/core/src/session/one.ts": `import type { Packet } from "../codec/packet.ts";\nexport type One = Packet;\n`,
      "packages/core/src/session/two.ts": `import type { One } from "./one.ts";\nexport type Two = One;\n`,
    });
    expect(of(findings, "core-unknown-folder")).toEqual([
      "packages/core/src/session/: session/ is not in the core's layer table: add it to the layer table in scripts/check-imports.ts",
    ]);
  });

  it("reports a relative import into another package and names the package to import instead", () => {
    const findings = check({
      ...CORE, ...SERVER,
      "packages/server/src/run.ts": `import { Broker } from "@edgemq/core";\nimport type { Packet } from "../../core/src/codec/packet.ts";\nexport const run = (p?: Packet) => new Broker();\n`,
    });
    expect(of(findings, "relative-cross-package")).toEqual([
      `packages/server/src/run.ts:2: imports "../../core/src/codec/packet.ts", a file of @edgemq/core, by relative path: import "@edgemq/core" instead `
      + "(export what is missing from its entry point) and list it in packages/server/package.json dependencies",
    ]);
  });

  it("reports an adapter's deep relative import and a dynamic one the same way", () => {
    const findings = check({
      ...CORE, ...SERVER,
      "adapters/node/package.json": manifest("@edgemq/node", { ".": "./src/mod.ts" }, ["@edgemq/server"]),
      "adapters/node/src/mod.ts": `export { run } from "../../../packages/server/src/run.ts";\nexport const load = () => import("../../../packages/core/src/mod.ts");\n`,
    });
    expect(of(findings, "relative-cross-package").map((f) => f.split(": imports")[0])).toEqual(["adapters/node/src/mod.ts:1", "adapters/node/src/mod.ts:2"]);
  });

  it("reports a relative import that leaves every package, and one of a file that does not exist", () => {
    const findings = check({
      ...CORE, ...SERVER,
      "packages/server/src/run.ts": `import { Broker } from "@edgemq/core";\nimport "../../../scripts/x.ts";\nimport "./gone.ts";\nexport const run = () => new Broker();\n`,
    });
    expect(findings.map((f) => [f.kind, f.line])).toEqual([["outside-package", 2], ["unresolved", 2], ["unresolved", 3]]);
  });

  it("reports an @edgemq import past the exports map, or of a package that does not exist", () => {
    const findings = check({
      ...CORE, ...SERVER,
      "packages/server/src/run.ts": `import { Broker } from "@edgemq/core/src/broker/broker.ts";\nimport "@edgemq/nothing";\nexport const run = () => new Broker();\n`,
    });
    expect(of(findings, "not-exported")).toEqual([
      `packages/server/src/run.ts:1: imports "@edgemq/core/src/broker/broker.ts", which is not in the exports map of @edgemq/core (., ./testing in packages/core/package.json): `
      + "import one of its entry points, and export what is missing from it",
      `packages/server/src/run.ts:2: imports "@edgemq/nothing", but no workspace package is named @edgemq/nothing`,
    ]);
  });

  it("reports an @edgemq import that the importing package.json does not declare", () => {
    const findings = check({ ...CORE, ...SERVER, "packages/server/package.json": manifest("@edgemq/server", { ".": "./src/mod.ts" }) });
    expect(of(findings, "undeclared-dependency")).toEqual([
      `packages/server/src/run.ts:1: imports "@edgemq/core", but packages/server/package.json does not list @edgemq/core in its dependencies: add "@edgemq/core": "0.1.0" so npm, Bun and Deno link it`,
    ]);
  });

  it("reports packages that depend on each other in a circle even when no file cycle shows it", () => {
    const findings = check({
      ...CORE, ...SERVER,
      "packages/admin/package.json": manifest("@edgemq/admin", { ".": "./src/mod.ts" }, ["@edgemq/server"]),
      "packages/admin/src/mod.ts": `export const admin = 1;\n`,
      // Neither mod.ts re-exports the file that imports the other package, so only the packages form a circle.
      "packages/admin/src/uses-server.ts": `import { run } from "@edgemq/server";\nexport const x = run;\n`,
      "packages/server/package.json": manifest("@edgemq/server", { ".": "./src/mod.ts" }, ["@edgemq/core", "@edgemq/admin"]),
      "packages/server/src/uses-admin.ts": `import { admin } from "@edgemq/admin";\nexport const y = admin;\n`,
    });
    expect(findings.map((f) => [f.kind, f.members])).toEqual([["package-cycle", ["@edgemq/admin", "@edgemq/server"]]]);
  });

  it("reads imports spread over lines, re-exports, side-effect and dynamic imports, and skips commented-out ones", () => {
    const source = [
      `import { a,`, `  b } from "./ab.ts";`, `export * from "./all.ts";`, `export type { T } from "./t.ts";`, `import "./effect.ts";`,
      `const m = await import("./lazy.ts");`, `// const n = await import("./commented.ts");`, ` * import("./doc.ts")`,
      `const s = "import x from './in-a-string.ts'";`, `export const from = "x";`,
    ].join("\n");
    expect(parseImports(source)).toEqual([
      { specifier: "./ab.ts", line: 2, typeOnly: false },
      { specifier: "./all.ts", line: 3, typeOnly: false },
      { specifier: "./t.ts", line: 4, typeOnly: true },
      { specifier: "./effect.ts", line: 5, typeOnly: false },
      { specifier: "./lazy.ts", line: 6, typeOnly: false },
    ]);
  });
});
