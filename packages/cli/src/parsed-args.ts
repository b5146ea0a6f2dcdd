import { UsageError } from "./errors.ts";

/**
 * The command a line was parsed for: its words and positional arguments.
 * Structural, so that this file needs nothing from spec.ts (which names
 * ParsedArgs in its run signature).
 */
export interface ParsedCommand {
  /** The words that name it: `["broker", "create"]`. */
  readonly path: readonly string[];
  /** Its positional arguments, in order. */
  readonly args?: readonly { readonly name: string }[];
}

/** A command line parsed against a command's flags: typed access, with usage errors that name the flag. */
export class ParsedArgs {
  readonly spec: ParsedCommand;
  readonly positionals: readonly string[];
  readonly #values: Map<string, string[]>;

  constructor(spec: ParsedCommand, positionals: string[], values: Map<string, string[]>) {
    this.spec = spec;
    this.positionals = positionals;
    this.#values = values;
  }

  /** `edgemq broker create`, for messages. */
  get command(): string {
    return this.spec.path.join(" ");
  }

  /** The positional argument with this name (required ones are always there). */
  arg(name: string): string {
    const i = (this.spec.args ?? []).findIndex((a) => a.name === name);
    return this.positionals[i] ?? "";
  }

  /** A flag's value, or undefined when not given. */
  string(name: string): string | undefined {
    return this.#values.get(name)?.at(-1);
  }

  /** Every value of a repeatable flag, in order; comma-separated values are split. */
  strings(name: string, options: { splitCommas?: boolean } = {}): string[] {
    const all = this.#values.get(name) ?? [];
    if (!options.splitCommas) return [...all];
    return all.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
  }

  /** Whether a switch (or any flag) was given. */
  has(name: string): boolean {
    return this.#values.has(name);
  }

  /** A whole-number flag within bounds, or undefined when not given. */
  int(name: string, min: number, max: number): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${v}"`, this.command);
    }
    return Number(v);
  }

  /** A usage error about this command, pointing at its `--help`. */
  usage(message: string): UsageError {
    return new UsageError(message, this.command);
  }
}
