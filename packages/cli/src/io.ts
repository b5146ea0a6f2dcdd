import { createInterface } from "node:readline/promises";

/** Where a command reads its environment and writes its output; the process's own by default. */
export interface Io {
  env: Record<string, string | undefined>;
  /** Writes a line (or several) to standard output. */
  out(text: string): void;
  /** Writes a line to standard error. */
  err(text: string): void;
  /** Standard input, for `pub -l` and `pub -s`. */
  stdin: NodeJS.ReadableStream;
  /** Whether a person is at a terminal to answer a question. */
  interactive: boolean;
  /** Asks a question on the terminal and resolves to the answer. */
  ask(question: string): Promise<string>;
  /** Calls `handler` once on SIGINT or SIGTERM (Ctrl-C ends `sub` cleanly). */
  onInterrupt(handler: () => void): void;
}

/** The running process's environment, standard streams and terminal. */
export function processIo(): Io {
  return {
    env: process.env,
    out: (text) => void process.stdout.write(`${text}\n`),
    err: (text) => void process.stderr.write(`${text}\n`),
    stdin: process.stdin,
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    async ask(question) {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
    onInterrupt(handler) {
      process.once("SIGINT", handler);
      process.once("SIGTERM", handler);
    },
  };
}
