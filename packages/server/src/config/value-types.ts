import { z } from "zod";

/**
 * What an option's value is: one zod schema that a flag's value, a variable's
 * value and the config file's value all must pass (so a rule is written once),
 * and how a flag's or a variable's text becomes the schema's input.
 */
export interface ValueType<T> {
  /** `switch` takes no text on the command line; the others take a value (`list`: one or more, comma-separated). */
  readonly kind: "switch" | "text" | "whole number" | "choice" | "list";
  /** The value's placeholder in help, such as `<n>`; none for a switch. */
  readonly placeholder?: string;
  /** The values allowed, for a choice. */
  readonly choices?: readonly string[];
  /** What the value must be, wherever it comes from; its messages follow the place named (`--port needs...`). */
  readonly schema: z.ZodType<T>;
  /** Text as the schema's input ("8080" as 8080); text that cannot be read goes as it is, for the schema to refuse by name. */
  fromText(text: string): unknown;
}

/** A value as messages quote it: `"abc"`, `3`, `nothing`. */
export function show(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value) ?? String(value);
}

/** `a`, `a or b`, `a, b or c`: how the messages list choices. */
export function orList(items: readonly string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}

/** A whole number from `min` to `max`, as a schema. */
export function wholeNumberSchema(min: number, max: number): z.ZodNumber {
  const range = (i: { input?: unknown }) => `must be between ${min} and ${max}, got ${show(i.input)}`;
  return z.number({ error: (i) => `needs a whole number, got ${show(i.input)}` }).int().min(min, { error: range }).max(max, { error: range });
}

/** A flag that takes no value; its environment variable (and the file) says true or false. */
export const SWITCH: ValueType<boolean> = {
  kind: "switch",
  schema: z.boolean({ error: (i) => `must be true or false, got ${show(i.input)}` }),
  fromText(text) {
    if (/^(1|true|yes|on)$/i.test(text)) return true;
    if (/^(0|false|no|off)$/i.test(text)) return false;
    return text;
  },
};

/** A whole number from `min` to `max`. */
export function wholeNumber(min: number, max: number, placeholder = "<n>"): ValueType<number> {
  return { kind: "whole number", placeholder, schema: wholeNumberSchema(min, max), fromText: (text) => (/^\d+$/.test(text) ? Number(text) : text) };
}

/** A TCP port: 0 to 65535, 0 picking a free one. */
export const PORT: ValueType<number> = wholeNumber(0, 65535);

/** Any text, or text that `schema` checks (and perhaps normalises). */
export function text(placeholder: string, schema: z.ZodType<string> = z.string()): ValueType<string> {
  return { kind: "text", placeholder, schema, fromText: (t) => t };
}

/** One of a few words, written as they are listed. */
export function choice<const C extends string>(choices: readonly [C, ...C[]], placeholder = `<${choices.join("|")}>`): ValueType<C> {
  const schema = z.enum(choices, { error: (i) => `must be ${orList(choices)}, got ${show(i.input)}` }) as unknown as z.ZodType<C>;
  return { kind: "choice", placeholder, choices, schema, fromText: (t) => t };
}

/** A list: in the file a JSON array, on the command line comma-separated (and the flag repeatable). */
export function list<T>(placeholder: string, item: z.ZodType<T>): ValueType<T[]> {
  const split = (t: string) => t.split(",").map((s) => s.trim()).filter((s) => s !== "");
  return { kind: "list", placeholder, schema: z.array(item), fromText: split };
}
