import { readFileSync } from "node:fs";
import { API_FLAGS } from "./api-flags.ts";
import { parseArgs } from "./args.ts";
import { ParsedArgs } from "./parsed-args.ts";
import { GROUPS, SINGLE_COMMANDS } from "./commands/command-tree.ts";
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from "./errors.ts";
import { commandHelp, groupHelp, topHelp } from "./help.ts";
import { type Io, processIo } from "./io.ts";
import type { CommandSpec, GroupSpec } from "./spec.ts";
import { didYouMean } from "./suggest.ts";

/** The CLI's version, from its package.json. */
export const VERSION: string = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

// Global flags that take a value, so that "edgemq --url http://x namespace list" does not read the URL as a command.
const GLOBAL_VALUE_FLAGS = new Set(API_FLAGS.filter((f) => f.value !== undefined).map((f) => `--${f.name}`));

const isFlag = (token: string) => token.startsWith("-") && token !== "-";

function findGroup(word: string): GroupSpec | undefined {
  const w = word.toLowerCase();
  return GROUPS.find((g) => g.name === w || (g.aliases ?? []).includes(w));
}

function findSingle(word: string): CommandSpec | undefined {
  return SINGLE_COMMANDS.find((c) => c.path[0] === word.toLowerCase());
}

// The indices of the words that name the command (group and subcommand, or one word), skipping global flags.
function commandWords(argv: readonly string[], max: number): number[] {
  const found: number[] = [];
  for (let i = 0; i < argv.length && found.length < max; i++) {
    const token = argv[i]!;
    if (token === "--") break;
    if (isFlag(token)) {
      if (GLOBAL_VALUE_FLAGS.has(token)) i++;
      continue;
    }
    found.push(i);
    // The word after pub, sub or serve is theirs, not a subcommand.
    if (found.length === 1 && (findSingle(token) !== undefined || findGroup(token) === undefined)) break;
  }
  return found;
}

// "-h" asks for help except where, as in mosquitto_pub/sub, it is the host.
function wantsHelp(argv: readonly string[], spec?: CommandSpec): boolean {
  const end = argv.indexOf("--");
  const shortHelp = spec === undefined || spec.flags.some((f) => f.name === "help" && f.short === "h");
  return (end === -1 ? argv : argv.slice(0, end)).some((t) => t === "--help" || (t === "-h" && shortHelp));
}

/**
 * Runs the command line `argv` (without `node` and the script) and resolves
 * to the exit code: 0 done, 1 the API, network or broker failed, 2 a usage
 * error. Every failure is printed as one line on stderr.
 */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (e) {
    return report(e, io);
  }
}

async function dispatch(argv: readonly string[], io: Io): Promise<number> {
  const singles = SINGLE_COMMANDS.map((c) => c.path[0]!);
  const words = commandWords(argv, 2);
  const first = words[0] === undefined ? undefined : argv[words[0]]!;

  if (first === undefined) {
    // -V is the program's version only here, alone: after pub and sub it is the MQTT version, as in mosquitto.
    if (argv.includes("--version") || (argv.length === 1 && argv[0] === "-V")) {
      io.out(`edgemq ${VERSION}`);
      return EXIT_OK;
    }
    if (wantsHelp(argv)) {
      io.out(topHelp(GROUPS, SINGLE_COMMANDS, API_FLAGS));
      return EXIT_OK;
    }
    if (argv.length > 0) throw new UsageError(`no command given, only flags (${argv.join(" ")}); give a command such as edgemq namespace list`);
    io.err(topHelp(GROUPS, SINGLE_COMMANDS, API_FLAGS));
    throw new UsageError("no command given: pick one of the commands above");
  }

  if (first.toLowerCase() === "help") {
    return dispatch([...argv.filter((_, i) => i !== words[0]), "--help"], io);
  }

  const single = findSingle(first);
  if (single !== undefined) {
    const rest = argv.filter((_, i) => i !== words[0]);
    if (single.passthrough) {
      if (words[0] !== 0) throw new UsageError(`put the server's flags after "serve": edgemq serve ${argv.filter((_, i) => i !== words[0]).join(" ")}`, "serve");
      return (await single.run(new ParsedArgs(single, rest, new Map()), io)) ?? EXIT_OK;
    }
    return runCommand(single, rest, io);
  }

  const group = findGroup(first);
  if (group === undefined) {
    const names = [...GROUPS.map((g) => g.name), ...singles, "help"];
    throw new UsageError(`unknown command "${first}"${didYouMean(first, names)}; the commands are ${[...GROUPS.map((g) => g.name), ...singles].join(", ")}`);
  }
  const subIndex = words[1];
  if (subIndex === undefined) {
    if (wantsHelp(argv)) {
      io.out(groupHelp(group));
      return EXIT_OK;
    }
    throw new UsageError(`"edgemq ${group.name}" needs a command: ${group.commands.map((c) => c.path.at(-1)).join(", ")}`, group.name);
  }
  const subWord = argv[subIndex]!;
  const command = group.commands.find((c) => c.path.at(-1) === subWord.toLowerCase());
  if (command === undefined) {
    const names = group.commands.map((c) => c.path.at(-1)!);
    throw new UsageError(`unknown command "${group.name} ${subWord}"${didYouMean(subWord, names, `${group.name} `)}; "edgemq ${group.name}" has ${names.join(", ")}`, group.name);
  }
  return runCommand(command, argv.filter((_, i) => i !== words[0] && i !== subIndex), io);
}

async function runCommand(spec: CommandSpec, rest: readonly string[], io: Io): Promise<number> {
  if (wantsHelp(rest, spec)) {
    io.out(commandHelp(spec));
    return EXIT_OK;
  }
  return (await spec.run(parseArgs(spec, rest), io)) ?? EXIT_OK;
}

// One line on stderr for every failure, and the exit code that says whose it was.
function report(e: unknown, io: Io): number {
  if (e instanceof UsageError) {
    io.err(`edgemq: ${e.message} (see: edgemq ${e.command === "" ? "" : `${e.command} `}--help)`);
    return EXIT_USAGE;
  }
  if (e instanceof CliError) {
    io.err(`edgemq: ${e.message}`);
    return EXIT_FAILURE;
  }
  const message = (e as Error)?.message ?? String(e);
  io.err(`edgemq: unexpected error: ${message}${io.env.EDGEMQ_DEBUG ? `\n${(e as Error)?.stack ?? ""}` : " (set EDGEMQ_DEBUG=1 to see where)"}`);
  return EXIT_FAILURE;
}
