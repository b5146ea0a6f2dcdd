/**
 * Configuration problems, each worded to say where it is (a flag, a variable,
 * the file and key), what is wrong and how to fix it; all of them at once, so
 * a start-up names every mistake. The command line exits with code 2.
 */
export class ConfigError extends Error {
  /** Every problem, one line each. */
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const list = typeof problems === "string" ? [problems] : problems;
    super(list.length === 1 ? list[0]! : `${list.length} problems in the configuration; fix them all, then start again:\n${list.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = list;
  }
}

/** Runs `step`, keeping its ConfigError's problems in `problems` (other errors go on); undefined when it failed. */
export function collect<T>(problems: string[], step: () => T): T | undefined {
  try {
    return step();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems);
    return undefined;
  }
}
