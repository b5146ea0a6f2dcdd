import { FILE_SECTIONS } from "./file-sections.ts";
import { SERVER_OPTIONS } from "./option-table.ts";

/** The value at a dotted key path of the config file (`data.dir`), if any. */
export function fileValueAt(file: object, path: string): unknown {
  let at: unknown = file;
  for (const key of path.split(".")) {
    if (typeof at !== "object" || at === null) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** Every key path the config file may hold: its own sections', then the options' (`data.dir`...). */
export function fileKeyPaths(): string[] {
  return [...FILE_SECTIONS.map((s) => s.path), ...SERVER_OPTIONS.flatMap((o) => (o.file === undefined ? [] : [o.file.path]))];
}

/** The keys allowed directly under `prefix` (top level when empty), in the order they are declared. */
export function keysUnder(prefix: string): string[] {
  const depth = prefix === "" ? 0 : prefix.split(".").length;
  const below = fileKeyPaths().filter((p) => prefix === "" || p.startsWith(`${prefix}.`));
  return [...new Set(below.map((p) => p.split(".")[depth]!))];
}
