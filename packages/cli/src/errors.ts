/** Exit code of a command that worked. */
export const EXIT_OK = 0;
/** Exit code when the API, the network or the broker failed or refused. */
export const EXIT_FAILURE = 1;
/** Exit code when the command line itself is wrong (unknown command or flag, missing argument). */
export const EXIT_USAGE = 2;

/** A mistake in the command line: printed with a pointer to `--help`, exit 2. */
export class UsageError extends Error {
  /** The command whose `--help` to suggest, e.g. `broker create`; empty for the top level. */
  readonly command: string;
  constructor(message: string, command = "") {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

/** A failure outside the command line (API answer, network, MQTT broker): one line, exit 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}
