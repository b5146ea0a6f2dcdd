import type { ParsedArgs } from "./parsed-args.ts";
import { CliError } from "./errors.ts";
import type { Io } from "./io.ts";

/** The `--yes` switch of commands that delete. */
export const YES_FLAG = { name: "yes", short: "y", description: "do not ask for confirmation" } as const;

/**
 * Asks before something is deleted, as wrangler does, when a person is at a
 * terminal and `--yes` was not given. Scripts (no terminal) are not asked.
 */
export async function confirm(io: Io, input: ParsedArgs, question: string): Promise<void> {
  if (input.has("yes") || !io.interactive) return;
  const answer = (await io.ask(`${question} [y/N] `)).trim().toLowerCase();
  if (answer !== "y" && answer !== "yes") throw new CliError("cancelled: nothing was deleted (pass --yes to skip this question)");
}
