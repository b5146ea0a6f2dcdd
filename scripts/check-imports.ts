// `node scripts/check-imports.ts`: fails (exit 1) when packages/ or adapters/
// have an import cycle, a package reaches into another by relative path or past
// its exports map, or a core file imports a higher layer. test/unit/architecture.test.ts
// runs it, so `npm test` does. Type-only imports count: they are dependencies of
// the design even though they vanish at run time.
import { join } from "node:path";
import type { LayerTable } from "./imports/core-layers.ts";
import { checkTree, type Finding, formatFinding } from "./imports/check-tree.ts";
import { readTree } from "./imports/read-tree.ts";
import type { SourceTree } from "./imports/workspace.ts";

/**
 * The core's layer table, lowest first. A file may import its own folder or a
 * lower rank, never a higher rank or another folder of the same rank; the
 * files directly in packages/core/src (mod.ts, testing.ts) are the top.
 */
export const CORE_LAYERS: LayerTable = {
  root: "packages/core/src",
  ranks: {
    codec: 0, // bytes ⇄ packets
    transport: 1, // the Duplex seam adapters fill in
    model: 2, // shared vocabulary: Message, SubscriptionEntry, ClientInfo, OutgoingRecord, stats
    policy: 3, // hooks and rules; independent of store/
    store: 3, // persistence seam; independent of policy/
    connection: 4, // the per-connection protocol machine
    broker: 5,
  },
};

/** The folders the check covers. */
export const CHECKED_FOLDERS = ["packages", "adapters"] as const;

/** The findings for a tree read by {@link readTree}, under the real layer table. */
export function checkRepositoryTree(tree: SourceTree): Finding[] {
  return checkTree(tree, CORE_LAYERS);
}

/** The report's closing line. */
export function summary(findings: readonly Finding[], files: number): string {
  const cycles = findings.filter((f) => f.kind === "cycle" || f.kind === "package-cycle").length;
  const violations = findings.length - cycles;
  if (findings.length === 0) return `check-imports: no import cycles or violations in ${files} files of ${CHECKED_FOLDERS.join("/ and ")}/`;
  return `check-imports: ${cycles} import cycle${cycles === 1 ? "" : "s"} and ${violations} violation${violations === 1 ? "" : "s"} in ${files} files of ${CHECKED_FOLDERS.join("/ and ")}/`;
}

if (import.meta.main) {
  const root = join(import.meta.dirname, "..");
  const tree = readTree(root, CHECKED_FOLDERS);
  const findings = checkRepositoryTree(tree);
  for (const f of findings) console.log(formatFinding(f));
  console.log(summary(findings, [...tree.keys()].filter((p) => !p.endsWith("package.json")).length));
  process.exitCode = findings.length > 0 ? 1 : 0;
}
