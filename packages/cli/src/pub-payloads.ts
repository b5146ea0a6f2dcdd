import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import type { ParsedArgs } from "./parsed-args.ts";
import type { FlagSpec } from "./spec.ts";

/** The ways `pub` takes its payload, as mosquitto_pub's: exactly one of them. */
export const PAYLOAD_FLAGS: readonly FlagSpec[] = [
  { name: "message", short: "m", value: "<text>", description: "the payload" },
  { name: "file", short: "f", value: "<path>", description: "send a file's bytes as the payload" },
  { name: "null-message", short: "n", description: "send an empty (zero-length) payload; with -r it clears the topic's retained message" },
  { name: "stdin-line", short: "l", description: "send each line of standard input as its own message (an empty line as an empty payload), until its end" },
  { name: "stdin-file", short: "s", description: "send all of standard input as one message" },
];

/** Where the payloads come from: a fixed list, or standard input's lines as they arrive. */
export type Payloads = { kind: "fixed"; payloads: Buffer[] } | { kind: "lines" };

/** Reads the payload flags; a usage error unless exactly one is given, or when -f cannot be read. */
export async function payloadsOf(input: ParsedArgs, stdin: NodeJS.ReadableStream): Promise<Payloads> {
  const given = PAYLOAD_FLAGS.filter((f) => input.has(f.name));
  if (given.length !== 1) {
    const named = given.map((f) => `-${f.short}`).join(", ");
    throw input.usage(`${given.length === 0 ? "no payload" : `only one payload source at a time, not ${named}`}: give -m <text>, -f <file>, -n (empty), -l (lines of standard input) or -s (all of standard input)`);
  }
  switch (given[0]!.name) {
    case "message": return { kind: "fixed", payloads: [Buffer.from(input.string("message")!, "utf8")] };
    case "null-message": return { kind: "fixed", payloads: [Buffer.alloc(0)] };
    case "stdin-line": return { kind: "lines" };
    case "stdin-file": {
      const chunks: Buffer[] = [];
      for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      return { kind: "fixed", payloads: [Buffer.concat(chunks)] };
    }
    default: {
      const file = input.string("file")!;
      try {
        return { kind: "fixed", payloads: [readFileSync(file)] };
      } catch (e) {
        throw input.usage(`cannot read -f ${file}: ${(e as Error).message}`);
      }
    }
  }
}

/** Standard input's lines, each as a payload without its line ending, as they arrive. */
export async function* stdinLines(stdin: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  for await (const line of createInterface({ input: stdin, crlfDelay: Infinity })) yield Buffer.from(line, "utf8");
}
