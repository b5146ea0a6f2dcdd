import { fileValueAt } from "./config-file.ts";
import type { ConfigFile } from "./config-types.ts";
import type { FlagValues } from "./parse-argv.ts";
import type { EnvValues } from "./read-env.ts";
import { flagOf, type ServerOption } from "./server-option.ts";
import { option } from "./option-table.ts";

/**
 * The options' values from their three sources: a flag overrides the
 * environment, which overrides the config file; then the default. Each value
 * is read and checked as its option's type says, when it is first asked for.
 */
export class OptionValues {
  readonly #flags: FlagValues;
  readonly #env: EnvValues;
  readonly #file: ConfigFile;

  constructor(flags: FlagValues, env: EnvValues, file: ConfigFile) {
    this.#flags = flags;
    this.#env = env;
    this.#file = file;
  }

  /** The value set by a flag, the environment or the file; undefined when none sets it. */
  given<T = unknown>(name: string): T | undefined {
    const o = option(name) as ServerOption<T>;
    const text = this.#fromText(o);
    const value = text !== undefined ? text : this.#fromFile(o);
    return value === undefined ? undefined : this.#check(o, value);
  }

  /** The value set anywhere, else the option's default. */
  get<T = unknown>(name: string): T {
    const o = option(name) as ServerOption<T>;
    const value = this.given<T>(name);
    return (value === undefined && o.default !== undefined ? this.#check(o, o.default) : value) as T;
  }

  /** The environment variable's value alone (undefined when it is not set), read and checked. */
  fromEnv<T = unknown>(name: string): T | undefined {
    const o = option(name) as ServerOption<T>;
    const text = this.#env.get(o.name);
    return text === undefined ? undefined : this.#check(o, this.#read(o, text, "env"));
  }

  /** Whether the flag itself was given (a switch, or any flag). */
  flagged(name: string): boolean {
    return this.#flags.has(name);
  }

  /** Every value the flag was given, in order (for a repeatable flag). */
  flagTexts(name: string): readonly string[] {
    return this.#flags.get(name) ?? [];
  }

  // The flag's last value, else the environment's.
  #fromText<T>(o: ServerOption<T>): T | undefined {
    const flag = this.#flags.get(o.name)?.at(-1);
    if (flag !== undefined) return this.#read(o, flag, "flag");
    const env = this.#env.get(o.name);
    return env === undefined ? undefined : this.#read(o, env, "env");
  }

  // Text as the option's type reads it. A switch's flag is simply true; its only
  // text is its variable's, so a message about that text names the variable.
  #read<T>(o: ServerOption<T>, text: string, from: "flag" | "env"): T {
    if (o.type.kind === "switch" && from === "flag") return true as T;
    return o.type.fromText(text, o.type.kind === "switch" ? o.env! : flagOf(o));
  }

  // The file's value, already checked for its shape when the file was read; null counts as absent unless the key keeps it.
  #fromFile<T>(o: ServerOption<T>): T | undefined {
    if (o.file === undefined) return undefined;
    const raw = fileValueAt(this.#file, o.file.path);
    const value = o.file.read !== undefined ? o.file.read(raw) : raw;
    return (value === null && o.file.keepsNull ? value : value ?? undefined) as T | undefined;
  }

  #check<T>(o: ServerOption<T>, value: T): T {
    return o.type.check !== undefined ? o.type.check(value, flagOf(o)) : value;
  }
}
