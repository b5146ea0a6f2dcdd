import { fileValueAt } from "./config-file.ts";
import type { ConfigFile } from "./config-types.ts";
import { ERROR_MAP, issueProblems } from "./issues.ts";
import { option, SERVER_OPTIONS } from "./option-table.ts";
import type { FlagValues } from "./parse-argv.ts";
import type { EnvValues } from "./read-env.ts";
import { flagOf, type ServerOption } from "./server-option.ts";

/**
 * The options' values from their three sources: a flag overrides the
 * environment, which overrides the config file; then the default. Every
 * flag's and variable's text is read through its option's schema at once,
 * and each value it refuses is a problem naming where it came from
 * (`--port`, `EDGEMQ_PORT`); the file's values were checked when it was read.
 */
export class OptionValues {
  /** Every value refused, one line each, in the order of the options. */
  readonly problems: string[] = [];
  readonly #texts: FlagValues;
  readonly #flags = new Map<string, unknown[]>();
  readonly #env = new Map<string, unknown>();
  readonly #file: ConfigFile;

  constructor(flags: FlagValues, env: EnvValues, file: ConfigFile) {
    this.#texts = flags;
    this.#file = file;
    for (const o of SERVER_OPTIONS) {
      // A switch's flag is simply true; its only text is its variable's.
      const values = (flags.get(o.name) ?? []).map((text) => (o.type.kind === "switch" ? true : this.#read(o, text, flagOf(o))));
      if (values.length > 0) this.#flags.set(o.name, values);
      const text = env.get(o.name);
      if (text !== undefined) this.#env.set(o.name, this.#read(o, text, o.env!));
    }
  }

  /** The value set by a flag, the environment or the file; undefined when none sets it. A list's flags add up. */
  given<T = unknown>(name: string): T | undefined {
    const o = option(name);
    const flags = this.#flags.get(name);
    if (flags !== undefined) return (o.type.kind === "list" ? flags.flat() : flags.at(-1)) as T;
    if (this.#env.has(name)) return this.#env.get(name) as T;
    return o.file === undefined ? undefined : fileValueAt(this.#file, o.file.path) as T | undefined;
  }

  /** The value set anywhere, else the option's default. */
  get<T = unknown>(name: string): T {
    const value = this.given<T>(name);
    return (value === undefined ? option(name).default : value) as T;
  }

  /** Whether the flag itself was given (a switch, or any flag). */
  flagged(name: string): boolean {
    return this.#texts.has(name);
  }

  /** Every value the flag was given, in order (for a repeatable flag). */
  flagTexts(name: string): readonly string[] {
    return this.#texts.get(name) ?? [];
  }

  // Text through the option's schema; a refused value is a problem named by `label`, and no value.
  #read(o: ServerOption, text: string, label: string): unknown {
    const parsed = o.type.schema.safeParse(o.type.fromText(text), { error: ERROR_MAP });
    if (parsed.success) return parsed.data;
    this.problems.push(...issueProblems(parsed.error.issues, () => label, o.type.schema));
    return undefined;
  }
}
