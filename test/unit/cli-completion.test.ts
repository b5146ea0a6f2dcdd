// `edgemq completion bash|zsh|fish`: scripts generated from the command
// line's own specs. The bash one is run through bash's completion machinery
// (COMP_WORDS, COMP_CWORD, COMPREPLY) as bash would when Tab is pressed.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GROUPS, type Io, main, SINGLE_COMMANDS } from "@edgemq/cli";

// Runs `edgemq args…` in process and returns its exit code and output.
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "", err = "";
  const io: Io = {
    env: {}, stdin: process.stdin, interactive: false,
    out: (t) => void (out += `${t}\n`), err: (t) => void (err += `${t}\n`),
    ask: async () => "", askSecret: async () => "", onInterrupt: () => {},
  };
  const code = await main(args, io);
  return { code, out, err };
}

const hasShell = (shell: string) => spawnSync("sh", ["-c", `command -v ${shell}`]).status === 0;

async function scriptFile(shell: string): Promise<string> {
  const r = await run(["completion", shell]);
  expect(r).toMatchObject({ code: 0, err: "" });
  const file = join(mkdtempSync(join(tmpdir(), "edgemq-completion-")), `edgemq.${shell}`);
  writeFileSync(file, r.out);
  return file;
}

// What bash's completion offers for a command line whose last word is being typed.
function complete(file: string, words: string[]): string[] {
  const array = words.map((w) => `'${w}'`).join(" ");
  const r = spawnSync("bash", ["-c", `source '${file}'; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _edgemq; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: "utf8" });
  expect(r.stderr).toBe("");
  return r.stdout.split("\n").filter(Boolean);
}

describe("shell completion", () => {
  it("writes a bash script that bash accepts and that completes commands, subcommands, flags and their values", async () => {
    const file = await scriptFile("bash");
    expect(spawnSync("bash", ["-n", file]).status).toBe(0);
    expect(complete(file, ["edgemq", ""])).toEqual(expect.arrayContaining([...GROUPS.map((g) => g.name), ...SINGLE_COMMANDS.map((c) => c.path[0]!), "--version"]));
    expect(complete(file, ["edgemq", "bro"])).toEqual(["broker"]);
    expect(complete(file, ["edgemq", "broker", "re"])).toEqual(["revoke", "retained"]);
    expect(complete(file, ["edgemq", "--url", "http://x", "na"])).toEqual(["namespace"]);
    expect(complete(file, ["edgemq", "pub", "-h", "localhost", "-t", "a", "--p"])).toEqual(["--port", "--password", "--pw", "--protocol-version"]);
    expect(complete(file, ["edgemq", "pub", "-q", ""])).toEqual(["0", "1", "2"]);
    expect(complete(file, ["edgemq", "sub", "-V", "mqttv"])).toEqual(["mqttv5", "mqttv311"]);
    expect(complete(file, ["edgemq", "broker", "create", "x", "--preset", ""])).toEqual(["full", "cloudflare"]);
    expect(complete(file, ["edgemq", "pub", "--cafile", file.slice(0, -3)])).toEqual([file]);
    expect(complete(file, ["edgemq", "completion", ""])).toEqual(expect.arrayContaining(["bash", "zsh", "fish"]));
    // A flag's value is not taken for a command word: "-h localhost" after pub is the host.
    expect(complete(file, ["edgemq", "pub", "-h", "localhost", "-V", ""])).toEqual(["5", "311", "mqttv5", "mqttv311", "3.1.1"]);
  });

  it("writes zsh and fish scripts that name every command and flag, and that zsh and fish accept where installed", async () => {
    for (const shell of ["zsh", "fish"]) {
      const file = await scriptFile(shell);
      const text = (await run(["completion", shell])).out;
      for (const g of GROUPS) for (const c of g.commands) expect(text, `${shell}: ${c.path.join(" ")}`).toContain(c.path.at(-1)!);
      for (const c of SINGLE_COMMANDS) expect(text).toContain(c.path[0]!);
      expect(text).toMatch(shell === "fish" ? /complete -c edgemq -n '__edgemq_path pub' -s V -l protocol-version -x -a '5 311 mqttv5 mqttv311 3\.1\.1'/ : /bashcompinit[\s\S]*complete -F _edgemq edgemq/);
      if (hasShell(shell)) expect(spawnSync(shell, ["-n", file]).status, `${shell} -n`).toBe(0);
    }
    // The zsh script is the bash one through bashcompinit, so bash's check covers its body.
    const zsh = await scriptFile("zsh");
    expect(spawnSync("bash", ["-n", zsh]).status).toBe(0);
  });

  it("names the shells it knows when given another, with exit 2", async () => {
    const r = await run(["completion", "powershell"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe('edgemq: no completion for "powershell": give one of bash, zsh, fish (see: edgemq completion --help)\n');
  });
});
