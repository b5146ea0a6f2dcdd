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
  /** Asks for a secret on the terminal without echoing what is typed. */
  askSecret(question: string): Promise<string>;
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
    askSecret: (question) => askHidden(question),
    onInterrupt(handler) {
      process.once("SIGINT", handler);
      process.once("SIGTERM", handler);
    },
  };
}

// Reads a line in raw mode, echoing nothing: Enter ends it, Backspace takes a character back, Ctrl-C gives up.
function askHidden(question: string): Promise<string> {
  process.stderr.write(question);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = "";
    const done = (error?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(new Error("cancelled"));
        if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.on("data", onData);
  });
}
