import { API_FLAGS } from "../api-flags.ts";
import { completionScript, type Shell, SHELLS } from "../completion.ts";
import type { CommandSpec, GroupSpec } from "../spec.ts";

/** The flags taken before any command: the admin API's globals and --version. */
const TOP_FLAGS = [...API_FLAGS, { name: "version", description: "print the version" }];

/**
 * `edgemq completion bash|zsh|fish`: a shell completion script, generated
 * from the command specs that `tree` returns when it runs (the tree lists
 * this command too, so it is passed in rather than imported).
 */
export const completionCommand = (tree: () => { groups: readonly GroupSpec[]; singles: readonly CommandSpec[] }): CommandSpec => ({
  path: ["completion"],
  summary: "print a shell completion script for bash, zsh or fish",
  details: "The script is generated from the command line's own commands and flags, so it always matches this version. It completes commands, subcommands, flags and the values of flags that have a fixed set (such as -q) or name a file.",
  args: [{ name: "<shell>", description: `the shell: ${SHELLS.join(", ")}`, choices: SHELLS }],
  flags: [{ name: "help", short: "h", description: "show help for the command" }],
  examples: [
    "source <(edgemq completion bash)    # in ~/.bashrc",
    "source <(edgemq completion zsh)     # in ~/.zshrc, after compinit",
    "edgemq completion fish > ~/.config/fish/completions/edgemq.fish",
  ],
  async run(input, io) {
    const shell = input.arg("<shell>").toLowerCase();
    if (!(SHELLS as readonly string[]).includes(shell)) throw input.usage(`no completion for "${input.arg("<shell>")}": give one of ${SHELLS.join(", ")}`);
    io.out(completionScript(shell as Shell, { ...tree(), topFlags: TOP_FLAGS }).trimEnd());
  },
});
