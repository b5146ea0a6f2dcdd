// Zod's issues as the envelope's errors: every problem of a request at once,
// each naming its field (`limits.max_message_size`, `properties.userProperties[0]`)
// and the fix, in the words the admin API has always used.
import { z } from "@hono/zod-openapi";
import { TenancyError } from "@edgemq/tenancy";
import { type ApiMessage, ApiError, ErrorCode } from "./envelope.ts";
import { kind } from "./validate.ts";

/** How error messages speak of a field: what it must be, how a wrong value is shown, and (for an object) an unknown key. */
export interface FieldWords {
  /** What the value must be: `a whole number from 1 to 100`. */
  rule: string;
  /** Show a wrong value as JSON (`not "aws"`, `not 63`) rather than in words (`not the string "aws"`). */
  json?: boolean;
  /** The message for an unknown key of this object, instead of `unknown field "k" in …; it takes …`. */
  unknown?: (key: string) => string;
}

/** What a field must be, as error messages say it; kept beside the schema it describes. */
export const RULES = z.registry<FieldWords>();

/** The schema, with the words for what its value must be. */
export function rule<T extends z.ZodType>(schema: T, text: string, words: Omit<FieldWords, "rule"> = {}): T {
  RULES.add(schema, { rule: text, ...words });
  return schema;
}

/**
 * The schema, also checked by a function of the tenancy package that throws a
 * TenancyError (so the API and the registry apply one rule); its message,
 * which names the field, becomes the issue's.
 */
export function checkedBy<T extends z.ZodType>(schema: T, check: (value: z.output<T>) => unknown): T {
  return schema.superRefine((value, ctx) => {
    try {
      check(value);
    } catch (e) {
      if (!(e instanceof TenancyError)) throw e;
      ctx.addIssue({ code: "custom", message: e.message, input: value });
    }
  }) as unknown as T;
}

/**
 * Runs checks that each refuse with a 400 {@link ApiError}, collecting every
 * refusal (with its own code) instead of stopping at the first; `done()`
 * throws them together as one {@link ValidationError}.
 */
export class Problems {
  readonly #errors: ApiMessage[] = [];

  /** The check's value, or undefined when it refused (the refusal is kept). */
  check<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 400) throw e;
      this.#errors.push({ code: e.code, message: e.message });
      return undefined;
    }
  }

  /** Throws every refusal kept, if any. */
  done(): void {
    if (this.#errors.length > 0) throw new ValidationError(this.#errors);
  }
}

/** A 400 with every problem of a request. */
export class ValidationError extends Error {
  readonly errors: ApiMessage[];
  constructor(errors: ApiMessage[]) {
    super(errors.map((e) => e.message).join("; "));
    this.name = "ValidationError";
    this.errors = errors;
  }
}

type Def = { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType>; element?: z.ZodType; in?: z.ZodType; options?: z.ZodType[] };
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;

const WRAPPERS = ["optional", "nullable", "default", "prefault", "readonly", "nonoptional"];

// The schema at a path, unwrapped step by step; `visit` sees each schema at the path's end, outermost first.
function walk(root: z.ZodType, path: readonly PropertyKey[], visit: (node: z.ZodType) => boolean): void {
  let node: z.ZodType | undefined = root;
  let i = 0;
  while (node !== undefined) {
    if (i === path.length && visit(node)) return;
    const def = defOf(node);
    if (WRAPPERS.includes(def.type)) node = def.innerType;
    else if (def.type === "pipe") node = def.in;
    else if (def.type === "union") node = def.options!.find((o) => ["object", "array"].includes(defOf(o).type));
    else if (i === path.length) return;
    else if (def.type === "object") node = def.shape![String(path[i++])];
    else if (def.type === "array") (node = def.element, i++);
    else return;
  }
}

// The words of the schema at a path (the outermost one that has some).
function wordsAt(root: z.ZodType, path: readonly PropertyKey[]): FieldWords | undefined {
  let found: FieldWords | undefined;
  walk(root, path, (node) => (found = RULES.get(node)) !== undefined);
  return found;
}

// The fields an object at a path takes.
function fieldsAt(root: z.ZodType, path: readonly PropertyKey[]): string[] {
  let found: string[] = [];
  walk(root, path, (node) => {
    const def = defOf(node);
    if (def.type === "object") found = Object.keys(def.shape!);
    return def.type === "object";
  });
  return found;
}

/** A field's path as messages name it: `limits.max_message_size`, `properties.userProperties[0]`. */
export function fieldName(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}

const TYPE_WORDS: Record<string, string> = {
  string: "a string", number: "a number", int: "a whole number", boolean: "true or false", object: "an object", array: "an array",
};

// The rule an issue breaks when its schema names none: from the issue itself.
function fallbackRule(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type": return TYPE_WORDS[issue.expected] ?? `of type ${issue.expected}`;
    case "invalid_value": return `one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "too_small": return issue.origin === "string" ? `at least ${issue.minimum} characters long` : issue.origin === "array" ? `a list of at least ${issue.minimum}` : `at least ${issue.minimum}`;
    case "too_big": return issue.origin === "string" ? `at most ${issue.maximum} characters long` : issue.origin === "array" ? `a list of at most ${issue.maximum}` : `at most ${issue.maximum}`;
    case "invalid_format": return `in the ${issue.format} format`;
    default: return "valid";
  }
}

/**
 * Every issue as an envelope error (code 1001): `<field> is required: <rule>`,
 * `<field> must be <rule>, not <value>`, `unknown field "<k>" in <where>; it takes <fields>`,
 * or a check's own message. `show` words a value (a body's `the string "x"`, a query's `"x"`).
 */
export function issueMessages(root: z.ZodType, issues: readonly z.core.$ZodIssue[], what: string, show: (v: unknown) => string = kind): ApiMessage[] {
  const out: string[] = [];
  for (const issue of issues) {
    const name = fieldName(issue.path);
    // A check's own message names its field; a refinement marked breaksRule is worded from the field's rule.
    if (issue.code === "custom" && issue.params?.breaksRule !== true) out.push(issue.message);
    else if (issue.code === "unrecognized_keys") {
      const fields = fieldsAt(root, issue.path);
      const unknown = wordsAt(root, issue.path)?.unknown;
      for (const k of issue.keys) out.push(unknown?.(k) ?? `unknown field "${k}" in ${name === "" ? what : name}; it takes ${fields.join(", ")}`);
    } else {
      const words = wordsAt(root, issue.path);
      const text = words?.rule ?? fallbackRule(issue);
      const input = (issue as { input?: unknown }).input;
      const shown = words?.json ? JSON.stringify(input) : show(input);
      out.push(input === undefined && issue.code === "invalid_type" ? `${name} is required: ${text}` : `${name} must be ${text}, not ${shown}`);
    }
  }
  return [...new Set(out)].map((message) => ({ code: ErrorCode.Invalid, message }));
}

/** The value of a schema's base type (`number`, `boolean`...), under optional, nullable and default. */
export function baseType(schema: z.ZodType): string {
  let def = defOf(schema);
  while (def.innerType !== undefined && WRAPPERS.includes(def.type)) def = defOf(def.innerType);
  if (def.type === "pipe" && def.in !== undefined) return baseType(def.in);
  return def.type;
}

/** Parses a value with a schema; throws a {@link ValidationError} with every issue. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, what: string, show?: (v: unknown) => string): z.output<T> {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return r.data;
  throw new ValidationError(issueMessages(schema, r.error.issues, what, show));
}
