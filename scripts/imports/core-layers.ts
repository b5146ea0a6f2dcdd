import { posix } from "node:path";

/** The core's layers: its source folder and the rank of each folder in it, lowest first. */
export interface LayerTable {
  /** Repository-relative (`packages/core/src`). */
  root: string;
  /** Folder name (`codec`) to rank; files directly in `root` rank above all. */
  ranks: Readonly<Record<string, number>>;
}

/** Which layer a core file is in: a folder of the table, the entry points directly in the root, or a folder the table lacks. */
export type CoreLayer = { kind: "folder"; folder: string; rank: number } | { kind: "top" } | { kind: "unknown"; folder: string };

/** The layer of `path`, or undefined when it is not a core file. */
export function coreLayer(path: string, table: LayerTable): CoreLayer | undefined {
  if (!path.startsWith(table.root + "/")) return undefined;
  const rest = path.slice(table.root.length + 1);
  if (!rest.includes("/")) return { kind: "top" };
  const folder = rest.slice(0, rest.indexOf("/"));
  const rank = table.ranks[folder];
  return rank === undefined ? { kind: "unknown", folder } : { kind: "folder", folder, rank };
}

/**
 * What is wrong with core file `from` importing `to`, or undefined when it may:
 * a file imports its own folder or a lower rank, never a higher rank, a
 * different folder of the same rank, or anything outside the core. Folders
 * missing from the table are reported on their own, not here.
 */
export function layerProblem(from: string, to: string, table: LayerTable): string | undefined {
  const a = coreLayer(from, table);
  if (!a || a.kind === "top" || a.kind === "unknown") return undefined;
  const b = coreLayer(to, table);
  const here = `${a.folder}/ (rank ${a.rank})`;
  const target = posix.relative(table.root, to);
  if (!b) return `${here} imports ${to}, outside the core: the core is the lowest package and imports no other`;
  if (b.kind === "unknown" || (b.kind === "folder" && b.folder === a.folder)) return undefined;
  if (b.kind === "top") return `${here} imports ${target}, the core's entry point above every layer: import the file that defines what it needs`;
  if (b.rank > a.rank) {
    return `${here} imports ${target} (${b.folder}/, rank ${b.rank}), a higher layer: move what it needs down to ${a.folder}/ or below (shared vocabulary belongs in model/), or turn the dependency round`;
  }
  if (b.rank === a.rank) {
    return `${here} imports ${target} (${b.folder}/, also rank ${b.rank}): folders of the same rank stay independent, so move the shared piece to a lower layer`;
  }
  return undefined;
}
