import { posix } from "node:path";
import { coreLayer, type LayerTable, layerProblem } from "./core-layers.ts";
import { type Cycle, findCycles } from "./find-cycles.ts";
import { type ImportRef, parseImports } from "./parse-imports.ts";
import { packageOf, type SourceTree, splitBareSpecifier, type WorkspacePackage, workspacePackages } from "./workspace.ts";

/** What kind of problem a finding is. */
export type FindingKind =
  | "cycle" | "package-cycle" | "relative-cross-package" | "outside-package" | "unresolved" | "self-import"
  | "not-exported" | "undeclared-dependency" | "core-layer" | "core-unknown-folder";

/** One problem, at a file and line (line 0 when it is about a folder or a set of files). */
export interface Finding {
  kind: FindingKind;
  file: string;
  line: number;
  message: string;
  /** For cycles: every file (or package) on it. */
  members?: string[];
}

const CODE = /\.(ts|mts|js|mjs)$/;

interface Edge { from: string; to: string; ref: ImportRef }

/** Every import cycle, cross-package reach and core layer violation among the code files of `tree`. */
export function checkTree(tree: SourceTree, layers: LayerTable): Finding[] {
  const packages = workspacePackages(tree);
  const byName = new Map(packages.map((p) => [p.name, p]));
  const findings: Finding[] = [];
  const edges: Edge[] = [];
  const at = (file: string, ref: ImportRef, kind: FindingKind, message: string) => findings.push({ kind, file, line: ref.line, message });

  for (const [file, source] of tree) {
    if (!CODE.test(file)) continue;
    const own = packageOf(file, packages);
    for (const ref of parseImports(source)) {
      const spec = ref.specifier;
      if (spec.startsWith(".")) {
        const to = posix.join(posix.dirname(file), spec);
        const target = packageOf(to, packages);
        if (own && target && target !== own) {
          at(file, ref, "relative-cross-package", `imports "${spec}", a file of ${target.name}, by relative path: import "${target.name}" instead `
            + `(export what is missing from its entry point) and list it in ${own.dir}/package.json dependencies`);
        } else if (own && !target) {
          at(file, ref, "outside-package", `imports "${spec}", outside every workspace package: a package imports only its own files, and other packages by name`);
        }
        if (tree.has(to)) edges.push({ from: file, to, ref });
        else at(file, ref, "unresolved", `imports "${spec}", but ${to} does not exist`);
        continue;
      }
      const { name, subpath } = splitBareSpecifier(spec);
      const target = byName.get(name);
      if (!target) {
        // Another package of the workspace's own scope that does not exist is a typo or a missing package.json.
        const scope = name.startsWith("@") ? name.slice(0, name.indexOf("/") + 1) : undefined;
        if (scope && packages.some((p) => p.name.startsWith(scope))) at(file, ref, "not-exported", `imports "${spec}", but no workspace package is named ${name}`);
        continue;
      }
      if (target === own) {
        at(file, ref, "self-import", `imports its own package by name ("${spec}"): within a package, import files by relative path`);
        continue;
      }
      const entry = target.exports.get(subpath);
      if (!entry) {
        at(file, ref, "not-exported", `imports "${spec}", which is not in the exports map of ${name} (${[...target.exports.keys()].join(", ")} in ${target.dir}/package.json): `
          + `import one of its entry points, and export what is missing from it`);
        continue;
      }
      if (own && !own.dependencies.has(name)) {
        at(file, ref, "undeclared-dependency", `imports "${spec}", but ${own.dir}/package.json does not list ${name} in its dependencies: add "${name}": "0.1.0" so npm, Bun and Deno link it`);
      }
      if (tree.has(entry)) edges.push({ from: file, to: entry, ref });
      else at(file, ref, "unresolved", `imports "${spec}", but its entry point ${entry} does not exist`);
    }
  }

  findings.push(...fileCycles(edges), ...packageCycles(edges, packages), ...coreLayers(tree, edges, layers));
  return findings;
}

// A file-level cycle, shown as the shortest loop with the line of each import on it.
function fileCycles(edges: readonly Edge[]): Finding[] {
  const graph = adjacency(edges.map((e) => [e.from, e.to]));
  return findCycles(graph).map((cycle) => {
    const hops = cycle.example.slice(0, -1).map((file, i) => `${file}:${lineOf(edges, file, cycle.example[i + 1]!)}`);
    return {
      kind: "cycle", file: cycle.example[0]!, line: 0, members: cycle.nodes,
      message: `import cycle through ${cycle.nodes.length} file${cycle.nodes.length === 1 ? "" : "s"}: ${hops.join(" → ")} → ${cycle.example[0]}. `
        + `Break it: move what both sides need into a file that both import, or pass it in from above`,
    } satisfies Finding;
  });
}

// Packages that need each other, even where no single file cycle shows it.
function packageCycles(edges: readonly Edge[], packages: readonly WorkspacePackage[]): Finding[] {
  const pairs: [string, string][] = [];
  for (const e of edges) {
    const a = packageOf(e.from, packages), b = packageOf(e.to, packages);
    if (a && b && a !== b) pairs.push([a.name, b.name]);
  }
  return findCycles(adjacency(pairs)).map((cycle: Cycle) => ({
    kind: "package-cycle", file: cycle.example[0]!, line: 0, members: cycle.nodes,
    message: `packages depend on each other in a circle: ${cycle.example.join(" → ")}. Turn one dependency round (a hook or an interface the lower package defines)`,
  }));
}

function coreLayers(tree: SourceTree, edges: readonly Edge[], layers: LayerTable): Finding[] {
  const findings: Finding[] = [];
  const unknown = new Set<string>();
  for (const file of [...tree.keys()].sort()) {
    const layer = CODE.test(file) ? coreLayer(file, layers) : undefined;
    if (layer?.kind === "unknown" && !unknown.has(layer.folder)) {
      unknown.add(layer.folder);
      findings.push({
        kind: "core-unknown-folder", file: `${layers.root}/${layer.folder}/`, line: 0,
        message: `${layer.folder}/ is not in the core's layer table: add it to the layer table in scripts/check-imports.ts`,
      });
    }
  }
  for (const e of edges) {
    const problem = layerProblem(e.from, e.to, layers);
    if (problem) findings.push({ kind: "core-layer", file: e.from, line: e.ref.line, message: problem + (e.ref.typeOnly ? " (a type-only import counts too)" : "") });
  }
  return findings;
}

function adjacency(pairs: Iterable<readonly [string, string]>): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [from, to] of pairs) {
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from)!.add(to);
  }
  return graph;
}

function lineOf(edges: readonly Edge[], from: string, to: string): number {
  return edges.find((e) => e.from === from && e.to === to)?.ref.line ?? 0;
}

/** `file:line: message`, then the members of a cycle one to a line. */
export function formatFinding(f: Finding): string {
  const where = f.line > 0 ? `${f.file}:${f.line}` : f.file;
  const members = f.members && f.members.length > 2 ? f.members.map((m) => `\n    ${m}`).join("") : "";
  return `${where}: ${f.message}${members}`;
}
