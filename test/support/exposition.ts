// Reads Prometheus text exposition (0.0.4) as a scraper would, and checks the
// naming rules that make it valid OpenMetrics too.

/** One family: its TYPE, HELP and samples (name with suffix, labels, value). */
export interface Family {
  type: string;
  help: string | undefined;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

const SUFFIXES: Record<string, string[]> = { counter: ["_total"], histogram: ["_bucket", "_sum", "_count"], gauge: [""] };

/** Parses exposition text into families; throws on a sample no TYPE announced, or a family announced twice. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const typed = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][\w:]*) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      const f = families.get(name) ?? { type: "untyped", help: undefined, samples: [] };
      families.set(name, f);
      if (kind === "TYPE") {
        if (typed.has(name)) throw new Error(`family ${name} has two TYPE lines`);
        typed.add(name);
        f.type = rest;
      } else {
        if (f.help !== undefined) throw new Error(`family ${name} has two HELP lines`);
        f.help = rest;
      }
      continue;
    }
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample: ${line}`);
    const [, name, rawLabels, value] = m as unknown as [string, string, string | undefined, string];
    const owner = [...families.entries()].find(([f, fam]) => (SUFFIXES[fam.type] ?? [""]).some((s) => name === f + s) || (fam.type === "counter" && name === f));
    if (owner === undefined) throw new Error(`sample ${name} belongs to no announced family`);
    const labels: Record<string, string> = {};
    for (const l of (rawLabels ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    owner[1].samples.push({ name, labels, value: Number(value) });
  }
  return families;
}

/**
 * The naming rules broken by a scrape (empty when none): every family has
 * HELP and TYPE, counters end in `_total`, and no family's name is another's
 * plus a suffix that OpenMetrics reserves (`edgemq_connections` beside
 * `edgemq_connections_total` is the collision this catches).
 */
export function namingProblems(families: Map<string, Family>): string[] {
  const problems: string[] = [];
  const names = [...families.keys()];
  for (const [name, f] of families) {
    if (f.help === undefined) problems.push(`${name} has no HELP`);
    if (f.type === "untyped") problems.push(`${name} has no TYPE`);
    if (f.type === "counter" && !name.endsWith("_total")) problems.push(`counter ${name} does not end in _total`);
    if (f.type !== "counter" && name.endsWith("_total")) problems.push(`${f.type} ${name} ends in _total`);
    const base = f.type === "counter" ? name.slice(0, -"_total".length) : name;
    for (const other of names) {
      if (other === name) continue;
      if (other === base) problems.push(`${other} collides with ${name}`);
      for (const s of ["_total", "_created", "_bucket", "_sum", "_count", "_info"]) {
        if (other === base + s || other === name + s) problems.push(`${other} collides with ${name}`);
      }
    }
  }
  return problems;
}

/** One sample's value, by family and exact labels, or undefined. */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    const s = f.samples.find((x) => x.name === name && Object.keys(labels).length === Object.keys(x.labels).length && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    if (s) return s.value;
  }
  return undefined;
}
