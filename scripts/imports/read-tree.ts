import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { SourceTree } from "./workspace.ts";

// Installed or built copies are not the workspace's own code.
const SKIP = new Set(["node_modules", "dist"]);
const WANTED = /\.(ts|mts|js|mjs)$|(^|\/)package\.json$/;

/** The code files and package.json files under `folders` of `root`, by repository-relative path. */
export function readTree(root: string, folders: readonly string[]): SourceTree {
  const tree = new Map<string, string>();
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      if (entry.name.startsWith(".") || SKIP.has(entry.name)) continue;
      const path = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && WANTED.test(path)) tree.set(path, readFileSync(join(root, path), "utf8"));
    }
  };
  for (const folder of folders) walk(folder);
  return tree;
}
