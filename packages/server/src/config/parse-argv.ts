import { parseArgs } from "node:util";
import { ConfigError } from "./config-error.ts";
import type { ServerOption } from "./server-option.ts";

/** Each flag given, by option name, with its values in order (a switch has one empty value per use). */
export type FlagValues = ReadonlyMap<string, readonly string[]>;

// The example value a "needs a value" message suggests.
const example = (flag: string) => (flag === "--port" ? "1883" : "<value>");

/**
 * Reads the command line against the options: `--flag value`, `--flag=value`
 * and switches, through node:util's parseArgs (the CLI's parser too). Throws
 * a ConfigError for a word that is no option and for a value that is missing.
 */
export function parseArgv(argv: readonly string[], options: readonly ServerOption[]): FlagValues {
  const config: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const o of options) {
    const type = o.type.kind === "switch" ? "boolean" : "string";
    config[o.name] = o.short === undefined ? { type } : { type, short: o.short };
  }
  // Lenient, so that the messages are ours: each names the word and the fix.
  const { tokens } = parseArgs({ args: [...argv], options: config, strict: false, allowPositionals: true, tokens: true });
  const known = new Map(options.map((o) => [o.name, o]));
  const flags = new Map<string, string[]>();
  for (const token of tokens) {
    const word = argv[token.index]!;
    const o = token.kind === "option" ? known.get(token.name) : undefined;
    // A short flag is only ever alone ("-h"): "-hx" or "-h=x" is no option.
    if (token.kind !== "option" || o === undefined || (!token.rawName.startsWith("--") && word !== token.rawName)) {
      throw new ConfigError(`unknown option "${word.startsWith("--") ? word.split("=")[0] : word}"; run with --help to see the options`);
    }
    let value = "";
    if (o.type.kind !== "switch") {
      // parseArgs takes the next word whatever it is; one that is a flag means the value was forgotten.
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith("--"))) {
        throw new ConfigError(`${token.rawName} needs a value, e.g. ${token.rawName} ${example(token.rawName)}`);
      }
      value = token.value;
    }
    flags.set(o.name, [...(flags.get(o.name) ?? []), value]);
  }
  return flags;
}
