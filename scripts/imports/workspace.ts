import { posix } from "node:path";

/** Files by repository-relative POSIX path (`packages/core/src/mod.ts`) to their text. */
export type SourceTree = ReadonlyMap<string, string>;

/** A workspace package as its package.json describes it. */
export interface WorkspacePackage {
  name: string;
  /** Its folder, repository-relative (`packages/core`). */
  dir: string;
  /** Subpath (`.`, `./codec`) to the file it names, repository-relative. */
  exports: Map<string, string>;
  /** Every package named in dependencies, devDependencies or peerDependencies. */
  dependencies: Set<string>;
}

type ExportTarget = string | { import?: ExportTarget; default?: ExportTarget } | null | undefined;

// A conditional export names its file under "import" or "default"; edgemq's are plain strings.
function exportFile(target: ExportTarget): string | undefined {
  if (typeof target === "string") return target;
  if (target && typeof target === "object") return exportFile(target.import ?? target.default);
  return undefined;
}

/** The packages of `tree`: one for every package.json in it. */
export function workspacePackages(tree: SourceTree): WorkspacePackage[] {
  const packages: WorkspacePackage[] = [];
  for (const [path, text] of tree) {
    if (posix.basename(path) !== "package.json") continue;
    const json = JSON.parse(text) as {
      name?: string; main?: string; exports?: ExportTarget | Record<string, ExportTarget>;
      dependencies?: object; devDependencies?: object; peerDependencies?: object;
    };
    if (!json.name) continue;
    const dir = posix.dirname(path);
    const raw = json.exports ?? json.main;
    const map: Record<string, ExportTarget> =
      typeof raw === "object" && raw !== null && Object.keys(raw).some((k) => k.startsWith(".")) ? raw as Record<string, ExportTarget> : { ".": raw as ExportTarget };
    const exports = new Map<string, string>();
    for (const [subpath, target] of Object.entries(map)) {
      const file = exportFile(target);
      if (file) exports.set(subpath, posix.join(dir, file));
    }
    const dependencies = new Set([json.dependencies, json.devDependencies, json.peerDependencies].flatMap((d) => Object.keys(d ?? {})));
    packages.push({ name: json.name, dir, exports, dependencies });
  }
  return packages;
}

/** The package whose folder holds `path`, the innermost if folders nest. */
export function packageOf(path: string, packages: readonly WorkspacePackage[]): WorkspacePackage | undefined {
  let best: WorkspacePackage | undefined;
  for (const p of packages) {
    if (path.startsWith(p.dir + "/") && (!best || p.dir.length > best.dir.length)) best = p;
  }
  return best;
}

/** `@scope/name/sub` → the package named `@scope/name` and the subpath `./sub` (or `.`). */
export function splitBareSpecifier(specifier: string): { name: string; subpath: string } {
  const parts = specifier.split("/");
  const size = specifier.startsWith("@") ? 2 : 1;
  const rest = parts.slice(size).join("/");
  return { name: parts.slice(0, size).join("/"), subpath: rest ? `./${rest}` : "." };
}
