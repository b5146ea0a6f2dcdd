import { parseArgs as tokenizeArgs } from "node:util";
import { UsageError } from "./errors.ts";
import { ParsedArgs } from "./parsed-args.ts";
import type { CommandSpec, FlagSpec } from "./spec.ts";
import { didYouMean } from "./suggest.ts";

/** The full name of a command, e.g. `edgemq broker create`. */
export function commandName(spec: Pick<CommandSpec, "path">): string {
  return ["edgemq", ...spec.path].join(" ");
}

/** How a flag is written in messages: `--namespace <ns>`. */
export function flagUsage(flag: FlagSpec): string {
  return flag.value === undefined ? `--${flag.name}` : `--${flag.name} ${flag.value}`;
}

// A value that is really the next flag: "--namespace --json" forgot the namespace.
// Negative numbers ("--expiration -1") and a lone "-" are values.
function looksLikeFlag(token: string): boolean {
  return token.startsWith("-") && token !== "-" && !/^-\d+$/.test(token);
}

type Token = NonNullable<ReturnType<typeof tokenizeArgs>["tokens"]>[number];

// node:util's parseArgs splits the words: which are flags, which word is a
// flag's value, where "--" ends the flags. Lenient (strict: false), so that
// the messages below, not its own, say what is wrong.
function tokenize(spec: CommandSpec, argv: readonly string[]): Token[] {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const f of spec.flags) {
    const type = f.value === undefined ? "boolean" : "string";
    options[f.name] = f.short === undefined ? { type } : { type, short: f.short };
    for (const a of f.aliases ?? []) options[a] = { type };
  }
  return tokenizeArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true }).tokens;
}

/**
 * Parses `argv` (the words after the command's name) against its spec:
 * `--flag value`, `--flag=value`, `-f value`, switches, repeated flags and `--`.
 * Throws a {@link UsageError} naming the unknown flag, missing value or argument.
 */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const command = spec.path.join(" ");
  // Every long name and alias; parseArgs has already turned a known short letter into its flag's name.
  const byName = new Map<string, FlagSpec>();
  for (const f of spec.flags) for (const n of [f.name, ...(f.aliases ?? [])]) byName.set(n, f);
  const values = new Map<string, string[]>();
  const positionals: string[] = [];

  const put = (flag: FlagSpec, written: string, value: string) => {
    const list = values.get(flag.name) ?? [];
    if (list.length > 0 && !flag.repeatable) {
      throw new UsageError(`${written} is given twice; give it once`, command);
    }
    if (flag.choices !== undefined) {
      const match = flag.choices.find((c) => c.toLowerCase() === value.toLowerCase());
      if (match === undefined) throw new UsageError(`${written} must be one of ${flag.choices.join(", ")}, not "${value}"`, command);
      value = match;
    }
    list.push(value);
    values.set(flag.name, list);
  };

  // One word may come back as several tokens ("-yq" as -y and -q); the word is judged once, by its first.
  let judged = -1;
  for (const token of tokenize(spec, argv)) {
    if (token.kind === "option-terminator") continue;
    if (token.kind === "positional") {
      positionals.push(token.value);
      continue;
    }
    if (token.index === judged) continue;
    judged = token.index;
    const word = argv[token.index]!;
    // "-1" is a negative number, not a flag named 1.
    if (!looksLikeFlag(word)) {
      positionals.push(word);
      continue;
    }
    const isLong = token.rawName.startsWith("--");
    const written = token.rawName;
    const flag = byName.get(token.name);
    if (flag === undefined) {
      if (isLong) {
        const names = spec.flags.flatMap((f) => [f.name, ...(f.aliases ?? [])]);
        throw new UsageError(`unknown flag ${written} for "${commandName(spec)}"${didYouMean(token.name, names, "--")}`, command);
      }
      const letters = spec.flags.filter((f) => f.short !== undefined).map((f) => `-${f.short}`);
      throw new UsageError(`unknown flag ${word} for "${commandName(spec)}"${letters.length > 0 ? ` (its short flags: ${letters.join(" ")})` : ""}`, command);
    }
    // What follows the flag in the same word: "--json=yes", "-tvalue", "-t=value"; for a short
    // switch, the letters grouped behind it ("-yq"), which are not taken as flags of their own.
    const rest = isLong ? (token.inlineValue ? token.value : undefined) : word.length > 2 ? word.slice(2).replace(/^=/, "") : undefined;
    if (flag.value === undefined) {
      if (rest !== undefined) throw new UsageError(`${written} is a switch and takes no value (remove "=${rest}")`, command);
      put(flag, written, "");
      continue;
    }
    if (rest !== undefined) {
      put(flag, written, rest);
      continue;
    }
    // parseArgs takes the next word whatever it is; one that looks like a flag means the value was forgotten.
    const next = token.value;
    if (next === undefined || looksLikeFlag(next)) {
      // Where -h is not help (pub and sub, as in mosquitto), a bare -h most likely wanted help.
      const help = written === "-h" && next === undefined ? "; for help, use --help" : "";
      throw new UsageError(`${written} needs a value: ${written} ${flag.value}${next === undefined ? "" : ` (for a value that starts with "-", write ${written}=${next})`}${help}`, command);
    }
    put(flag, written, next);
  }

  const args = spec.args ?? [];
  const usage = [commandName(spec), ...args.map((a) => (a.optional ? `[${a.name}]` : a.name))].join(" ");
  const missingArg = args.find((a, i) => !a.optional && positionals[i] === undefined);
  if (missingArg !== undefined) {
    throw new UsageError(`missing ${missingArg.name}, ${missingArg.description}; usage: ${usage}`, command);
  }
  if (positionals.length > args.length) {
    const extra = positionals[args.length]!;
    throw new UsageError(args.length === 0
      ? `unexpected argument "${extra}": ${commandName(spec)} takes no arguments, only flags`
      : `unexpected argument "${extra}"; usage: ${usage}`, command);
  }
  for (const f of spec.flags) {
    if (f.required && !values.has(f.name)) throw new UsageError(`missing ${flagUsage(f)}: ${f.description}`, command);
  }
  return new ParsedArgs(spec, positionals, values);
}
