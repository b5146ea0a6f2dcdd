import type { ParsedArgs } from "../parsed-args.ts";
import type { FlagSpec } from "../spec.ts";
import { formatTable } from "../table.ts";

/** `--preset` and the repeatable `--limit name=value` of `broker create` and `broker update`. */
export const LIMIT_FLAGS: readonly FlagSpec[] = [
  { name: "preset", value: "<full|cloudflare>", choices: ["full", "cloudflare"], description: "full (the server's settings) or cloudflare (Cloudflare Pub/Sub's limits and feature table)" },
  {
    name: "limit", value: "<name=value>", repeatable: true,
    description: "one of the broker's limits, e.g. max_message_size=65536 (repeatable; update only: name=default returns it to the preset's value); see the README's table",
  },
];

/**
 * The body fields `--preset` and `--limit` give: `preset`, and `limits` by
 * API name. Values are whole numbers (or `default`, as null, for update);
 * the server checks names and ranges and says which is wrong.
 */
export function limitFields(input: ParsedArgs, allowDefault: boolean): { preset?: string; limits?: Record<string, number | null> } {
  const out: { preset?: string; limits?: Record<string, number | null> } = {};
  const preset = input.string("preset");
  if (preset !== undefined) out.preset = preset;
  const given = input.strings("limit");
  if (given.length > 0) {
    const limits: Record<string, number | null> = {};
    for (const item of given) {
      const m = /^\s*([a-z_]+)\s*=\s*(\S+)\s*$/.exec(item);
      if (m === null) throw input.usage(`--limit takes name=value, such as max_message_size=65536, not "${item}"`);
      const [, name, value] = m as unknown as [string, string, string];
      if (allowDefault && /^default$/i.test(value)) limits[name] = null;
      else if (/^\d+$/.test(value)) limits[name] = Number(value);
      else throw input.usage(`--limit ${name} needs a whole number${allowDefault ? " or \"default\"" : ""}, not "${value}"`);
    }
    out.limits = limits;
  }
  return out;
}

/** A broker's effective limits as a two-column table, for `broker describe`. */
export function limitsTable(limits: Record<string, number> | undefined): string {
  if (limits === undefined) return "";
  return formatTable(Object.entries(limits), [{ header: "limit", value: ([k]) => k }, { header: "value", value: ([, v]) => String(v) }]);
}
