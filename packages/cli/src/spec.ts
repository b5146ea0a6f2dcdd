import type { ParsedArgs } from "./parsed-args.ts";
import type { Io } from "./io.ts";

/** A flag a command takes: `--name <value>`, or a switch when it has no `value`. */
export interface FlagSpec {
  /** The long name without dashes: `namespace` is `--namespace`. */
  name: string;
  /** A one-letter form without the dash: `n` is `-n`. */
  short?: string;
  /** Other long names, e.g. wrangler's `ns` for `namespace`. */
  aliases?: readonly string[];
  /** The value's placeholder in help, e.g. `<ns>`; absent for a switch such as `--json`. */
  value?: string;
  /** May be given more than once; every value is kept. */
  repeatable?: boolean;
  /** The command cannot run without it. */
  required?: boolean;
  /** The values allowed (matched ignoring case, kept in this spelling). */
  choices?: readonly string[];
  /** Shown under "Global flags" in help rather than with the command's own. */
  global?: boolean;
  /** One line for help. */
  description: string;
}

/** A positional argument, such as a namespace's `<name>`. */
export interface ArgSpec {
  name: string;
  description: string;
  optional?: boolean;
  /** The values it may take, for shell completion (e.g. the shells of `completion`). */
  choices?: readonly string[];
}

/** One runnable command, e.g. `broker create`. */
export interface CommandSpec {
  /** The words that name it: `["broker", "create"]`. */
  path: readonly string[];
  /** One line for help and command lists. */
  summary: string;
  /** A paragraph for its own help: what it calls, what it prints. */
  details?: string;
  args?: readonly ArgSpec[];
  flags: readonly FlagSpec[];
  examples?: readonly string[];
  /** Takes the rest of the command line as is, unparsed (`serve` hands it to the server). */
  passthrough?: boolean;
  /** Runs it; resolves to the exit code (0 when nothing is returned). */
  run(input: ParsedArgs, io: Io): Promise<number | void>;
}

/** A group of commands under one word, e.g. `broker`. */
export interface GroupSpec {
  name: string;
  /** Other words for it (`brokers`). */
  aliases?: readonly string[];
  summary: string;
  commands: readonly CommandSpec[];
}
