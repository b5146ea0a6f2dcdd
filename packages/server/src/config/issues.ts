import type { z } from "zod";
import { orList, show } from "./value-types.ts";
import { closest } from "./suggest.ts";

// How a message names what a value should have been.
const EXPECTED: Record<string, string> = {
  string: "a string", number: "a number", int: "a whole number", boolean: "true or false", array: "a list", object: "an object", null: "null",
};

/** Words for the issues a schema leaves to zod's defaults, worded to follow the place they name (`edgemq.json: data.dir`). */
export const ERROR_MAP: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case "invalid_type": {
      const want = EXPECTED[iss.expected] ?? iss.expected;
      return iss.input === undefined ? `is missing: it needs ${want}` : `must be ${want}, got ${show(iss.input)}`;
    }
    case "invalid_value":
      return `must be ${orList(iss.values.map((v) => JSON.stringify(v)))}, got ${show(iss.input)}`;
    case "too_small":
      return iss.origin === "array" ? `must list at least ${iss.minimum}` : iss.origin === "string" ? "must not be empty" : `must be at least ${iss.minimum}, got ${show(iss.input)}`;
    case "too_big":
      return `must be at most ${iss.maximum}, got ${show(iss.input)}`;
    default:
      return undefined;
  }
};

/** A key path as the messages write it: `acl.rules[0].topics`. */
export function pathText(path: readonly PropertyKey[]): string {
  return path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join("");
}

// What zod 4 keeps of a schema's definition, as far as finding a key's schema needs.
interface Def { type: string; innerType?: z.ZodType; in?: z.ZodType; shape?: Record<string, z.ZodType>; element?: z.ZodType }

// The schema at a path of the value it checks, through optional, nullable, pipes, objects and arrays.
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let at: z.ZodType | undefined = schema;
  for (let i = 0; at !== undefined; ) {
    const def: Def = (at as unknown as { def: Def }).def;
    if (def.innerType !== undefined) at = def.innerType;
    else if (def.type === "pipe") at = def.in;
    else if (i === path.length) return at;
    else if (def.type === "object") at = def.shape![String(path[i++])];
    else if (def.type === "array") at = (i++, def.element);
    else return undefined;
  }
  return undefined;
}

/** The keys an object schema at `path` takes. */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const at = schemaAt(schema, path) as unknown as { def: { type: string; shape?: object } } | undefined;
  return at?.def.type === "object" ? Object.keys(at.def.shape!).filter((k) => k !== "$schema") : [];
}

/** An unknown key's problem: its place, a likely meant key, and the keys allowed there. */
export function unknownKey(where: string, key: string, known: readonly string[], noun = "a setting"): string {
  const meant = closest(key, known);
  const fix = meant !== undefined ? `did you mean "${meant}"?` : "remove it, or use one of";
  return meant !== undefined ? `${where} is not ${noun}: ${fix} (allowed here: ${known.join(", ")})` : `${where} is not ${noun}: ${fix} ${known.join(", ")}`;
}

/**
 * The problems in a failed parse, one line each. `where` names the place of a
 * path (`edgemq.json: limits.maxQos`, or `--port` for a flag's value); `schema`
 * is what was parsed, to list the keys allowed where an unknown key is.
 */
export function issueProblems(issues: readonly z.core.$ZodIssue[], where: (path: readonly PropertyKey[]) => string, schema: z.ZodType): string[] {
  return issues.flatMap((iss) => {
    if (iss.code !== "unrecognized_keys") return [`${where(iss.path)} ${iss.message}`];
    const known = keysAt(schema, iss.path);
    return iss.keys.map((key) => unknownKey(where([...iss.path, key]), key, known));
  });
}
