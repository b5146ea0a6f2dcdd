/** One module a file imports: the specifier as written, where it is, and whether only types come from it. */
export interface ImportRef {
  specifier: string;
  /** 1-based line of the specifier. */
  line: number;
  /** `import type …` / `export type … from`: erased at run time, but still a dependency of the design. */
  typeOnly: boolean;
}

// A regex, not a parser: static imports and re-exports are statements that start a
// line (their clause may span lines); dynamic imports name a string literal.
// Comment lines (`//`, ` * `) are skipped for dynamic imports; a statement-shaped
// line inside a block comment would still count, which this codebase does not have.
const STATIC = /^[ \t]*(?:import|export)(\s+type)?\s+(?:[\w$*{},\s]*?\s*from\s*)?(["'])([^"'\n]+)\2/gm;
const DYNAMIC = /\bimport\(\s*(["'])([^"'\n]+)\1\s*\)/g;

/** Every `import`/`export … from` specifier and every `import("…")` of a string literal in `source`. */
export function parseImports(source: string): ImportRef[] {
  const lineStarts = [0];
  for (let i = source.indexOf("\n"); i >= 0; i = source.indexOf("\n", i + 1)) lineStarts.push(i + 1);
  const lineAt = (index: number) => {
    let lo = 0, hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const refs: ImportRef[] = [];
  for (const m of source.matchAll(STATIC)) {
    const at = m.index + m[0].lastIndexOf(m[2]!, m[0].length - 2);
    refs.push({ specifier: m[3]!, line: lineAt(at), typeOnly: m[1] !== undefined });
  }
  for (const m of source.matchAll(DYNAMIC)) {
    const line = lineAt(m.index);
    const text = source.slice(lineStarts[line - 1], m.index).trimStart();
    if (text.startsWith("//") || text.startsWith("*")) continue;
    refs.push({ specifier: m[2]!, line, typeOnly: false });
  }
  return refs.sort((a, b) => a.line - b.line);
}
