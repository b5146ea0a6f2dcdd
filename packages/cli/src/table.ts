/** A column of a table: its header and how to read its cell from a row. */
export interface Column<T> {
  header: string;
  value(row: T): unknown;
}

/** A value as one cell of text: `-` for nothing, lists joined by commas, objects as JSON. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === "") return "-";
  if (Array.isArray(value)) return value.length === 0 ? "-" : value.map(cell).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  // One row per record: a newline or tab inside a value would break the columns.
  return String(value).replace(/[\r\n\t]+/g, " ");
}

/** Rows as aligned plain-text columns under upper-case headers, two spaces apart, no trailing spaces. */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const grid = [columns.map((c) => c.header.toUpperCase()), ...rows.map((r) => columns.map((c) => cell(c.value(r))))];
  const widths = columns.map((_, i) => Math.max(...grid.map((line) => line[i]!.length)));
  return grid.map((line) => line.map((text, i) => (i === line.length - 1 ? text : text.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n");
}

/** One record as `label: value` lines, the values aligned. */
export function formatDetails(pairs: readonly (readonly [string, unknown])[]): string {
  const width = Math.max(...pairs.map(([label]) => label.length)) + 1;
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${cell(value)}`.trimEnd()).join("\n");
}
