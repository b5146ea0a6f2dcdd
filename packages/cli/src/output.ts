import type { ParsedArgs } from "./parsed-args.ts";
import type { Io } from "./io.ts";

/** Prints a value as pretty JSON (what `--json` prints: the `result` of the API's envelope). */
export function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

/** Prints `result` as JSON with `--json`, else the text made for people. */
export function emit(io: Io, input: ParsedArgs, result: unknown, forPeople: () => string): void {
  if (input.has("json")) printJson(io, result);
  else io.out(forPeople());
}
