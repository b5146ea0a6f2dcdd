import { CliError } from "./errors.ts";
import type { Io } from "./io.ts";

/**
 * A secret (a password) from the terminal, not echoed, when a person is
 * there; else the first line of standard input. Never from a flag, which
 * would land in the shell's history and in `ps`.
 */
export async function readSecret(io: Io, prompt: string): Promise<string> {
  const secret = io.interactive ? await io.askSecret(prompt) : firstLine(await readAll(io.stdin));
  if (secret === "") throw new CliError(io.interactive ? "no password given" : "no password on standard input: pipe it in (printf '%s\\n' \"$PASSWORD\" | edgemq …) or run at a terminal to be asked");
  return secret;
}

function firstLine(text: string): string {
  const end = text.search(/\r?\n/);
  return end < 0 ? text : text.slice(0, end);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk as Uint8Array);
  return text;
}
