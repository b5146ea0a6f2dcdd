// The CLI's flag parser (packages/cli/src/args.ts): node:util's parseArgs
// splits the words, and the messages say what is wrong and how to fix it.
import { describe, expect, it } from "vitest";
import { parseArgs } from "../../packages/cli/src/args.ts";
import { UsageError } from "../../packages/cli/src/errors.ts";
import type { CommandSpec } from "../../packages/cli/src/spec.ts";

const SPEC: CommandSpec = {
  path: ["thing", "make"],
  summary: "makes a thing",
  args: [{ name: "<name>", description: "the thing's name" }, { name: "<extra>", description: "more", optional: true }],
  flags: [
    { name: "namespace", aliases: ["ns"], value: "<ns>", required: true, description: "the namespace" },
    { name: "topic", short: "t", value: "<topic>", repeatable: true, description: "a topic" },
    { name: "qos", short: "q", value: "<qos>", choices: ["0", "1", "2"], description: "the QoS" },
    { name: "role", value: "<role>", choices: ["Admin", "User"], description: "a role" },
    { name: "expiration", value: "<s>", description: "a lifetime" },
    { name: "yes", short: "y", description: "do not ask" },
  ],
  async run() {},
};

const parse = (argv: string[]) => parseArgs(SPEC, argv);
const message = (argv: string[]): string => {
  try {
    parse(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).command).toBe("thing make");
    return (e as Error).message;
  }
  throw new Error(`${argv.join(" ")} parsed`);
};

describe("the CLI's flag parser", () => {
  it("reads --flag value, --flag=value, aliases, short flags in each form and repeated flags", () => {
    const p = parse(["a", "--ns", "acme", "-t", "x", "-ty", "-t=z", "--topic=w", "-q", "1", "-y"]);
    expect(p.arg("<name>")).toBe("a");
    expect(p.string("namespace")).toBe("acme");
    expect(p.strings("topic")).toEqual(["x", "y", "z", "w"]);
    expect(p.string("qos")).toBe("1");
    expect(p.has("yes")).toBe(true);
  });

  it("takes a negative number as a value and as an argument, and everything after -- as arguments", () => {
    const p = parse(["--namespace", "n", "--expiration", "-1", "-5", "--", "--yes"]);
    expect(p.string("expiration")).toBe("-1");
    expect(p.positionals).toEqual(["-5", "--yes"]);
    expect(p.has("yes")).toBe(false);
  });

  it("keeps a choice in its own spelling whatever the case given", () => {
    expect(parse(["a", "--ns", "n", "--role", "admin"]).string("role")).toBe("Admin");
  });

  it("names an unknown flag, suggests the close one and lists the short flags", () => {
    expect(message(["a", "--namepsace", "n"])).toBe('unknown flag --namepsace for "edgemq thing make" (did you mean "--namespace"?)');
    expect(message(["a", "-x"])).toBe('unknown flag -x for "edgemq thing make" (its short flags: -t -q -y)');
    expect(message(["a", "-xt", "v"])).toBe('unknown flag -xt for "edgemq thing make" (its short flags: -t -q -y)');
  });

  it("says how to give a value that is missing or that starts with a dash", () => {
    expect(message(["a", "--namespace"])).toBe("--namespace needs a value: --namespace <ns>");
    expect(message(["a", "--ns", "--yes"])).toBe('--ns needs a value: --ns <ns> (for a value that starts with "-", write --ns=--yes)');
    expect(message(["a", "--ns", "n", "-t", "--"])).toBe('-t needs a value: -t <topic> (for a value that starts with "-", write -t=--)');
  });

  it("refuses a value given to a switch, even one grouped behind its letter", () => {
    expect(message(["a", "--ns", "n", "--yes=no"])).toBe('--yes is a switch and takes no value (remove "=no")');
    expect(message(["a", "--ns", "n", "-yq"])).toBe('-y is a switch and takes no value (remove "=q")');
  });

  it("refuses a flag given twice unless it is repeatable, and a value outside the choices", () => {
    expect(message(["a", "--ns", "n", "--ns", "m"])).toBe("--ns is given twice; give it once");
    expect(message(["a", "--ns", "n", "-q", "3"])).toBe('-q must be one of 0, 1, 2, not "3"');
  });

  it("names a missing argument, an extra one and a missing required flag", () => {
    expect(message(["--ns", "n"])).toBe("missing <name>, the thing's name; usage: edgemq thing make <name> [<extra>]");
    expect(message(["a", "b", "c", "--ns", "n"])).toBe('unexpected argument "c"; usage: edgemq thing make <name> [<extra>]');
    expect(message(["a"])).toBe("missing --namespace <ns>: the namespace");
  });
});
