import { parseArgs } from "node:util";
import type { ServerOption } from "./server-option.ts";
import { closest } from "./suggest.ts";

/** Each flag given, by option name, with its values in order (a switch has one empty value per use). */
export type FlagValues = ReadonlyMap<string, readonly string[]>;

// The example value a "needs a value" message suggests.
const example = (flag: string) => (flag === "--port" ? "1883" : "<value>");

/**
 * Reads the command line against the options: `--flag value`, `--flag=value`
 * and switches, through node:util's parseArgs (the CLI's parser too). A word
 * that is no option and a value that is missing go into `problems`, each
 * saying what to do, and reading goes on: every mistake is reported at once.
 */
export function parseArgv(argv: readonly string[], options: readonly ServerOption[], problems: string[]): FlagValues {
  const config: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const o of options) {
    const type = o.type.kind === "switch" ? "boolean" : "string";
    config[o.name] = o.short === undefined ? { type } : { type, short: o.short };
  }
  // Lenient, so that the messages are ours: each names the word and the fix.
  const { tokens } = parseArgs({ args: [...argv], options: config, strict: false, allowPositionals: true, tokens: true });
  const known = new Map(options.map((o) => [o.name, o]));
  const flags = new Map<string, string[]>();
  let unknownAt = -2;
  const reported = new Set<number>();
  for (const token of tokens) {
    const word = argv[token.index]!;
    // The word after an unknown flag is likely its value: the flag's problem is the one to report.
    if (token.kind === "positional" && token.index === unknownAt + 1) continue;
    const o = token.kind === "option" ? known.get(token.name) : undefined;
    // A short flag is only ever alone ("-h"): "-hx" or "-h=x" is no option.
    if (token.kind !== "option" || o === undefined || (!token.rawName.startsWith("--") && word !== token.rawName)) {
      // "-hx" is one word however many tokens parseArgs makes of it.
      if (reported.has(token.index)) continue;
      reported.add(token.index);
      const flag = word.startsWith("--") ? word.split("=")[0]! : word;
      if (token.kind === "option" && !word.includes("=")) unknownAt = token.index;
      const meant = flag.startsWith("--") ? closest(flag.slice(2), [...known.keys()]) : undefined;
      problems.push(`unknown option "${flag}"${meant === undefined ? "" : ` (did you mean --${meant}?)`}; run with --help to see the options`);
      continue;
    }
    let value = "";
    if (o.type.kind !== "switch") {
      // parseArgs takes the next word whatever it is; one that is a flag means the value was forgotten.
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith("--"))) {
        problems.push(`${token.rawName} needs a value, e.g. ${token.rawName} ${example(token.rawName)}`);
        if (token.value === undefined) continue;
        // The word taken as its value is a flag of its own: read on from it.
        for (const [name, values] of parseArgv(argv.slice(token.index + 1), options, problems)) flags.set(name, [...(flags.get(name) ?? []), ...values]);
        break;
      }
      value = token.value;
    }
    flags.set(o.name, [...(flags.get(o.name) ?? []), value]);
  }
  return flags;
}
