/** A configuration problem, worded to say what is wrong and how to fix it (the command line exits with code 2). */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}
