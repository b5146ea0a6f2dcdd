import { commandName, flagUsage } from "./args.ts";
import type { CommandSpec, FlagSpec, GroupSpec } from "./spec.ts";

// Two-column lines: labels padded to the widest, so descriptions line up.
function columns(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  return rows.map(([label, text]) => `  ${label.padEnd(width)}   ${text}`.trimEnd());
}

function flagLabel(f: FlagSpec): string {
  const names = [...(f.short !== undefined ? [`-${f.short}`] : []), `--${f.name}`, ...(f.aliases ?? []).map((a) => `--${a}`)];
  return `${names.join(", ")}${f.value !== undefined ? ` ${f.value}` : ""}`;
}

function flagRows(flags: readonly FlagSpec[]): [string, string][] {
  return flags.map((f) => [flagLabel(f), `${f.description}${f.required ? " (required)" : ""}${f.repeatable && !/repeatable/.test(f.description) ? " (repeatable)" : ""}`]);
}

/** The one-line usage of a command: its name, arguments and required flags. */
export function usageLine(spec: CommandSpec): string {
  if (spec.passthrough) return `${commandName(spec)} [server flags]`;
  const args = (spec.args ?? []).map((a) => (a.optional ? `[${a.name}]` : a.name));
  const required = spec.flags.filter((f) => f.required).map(flagUsage);
  return [commandName(spec), ...args, ...required, "[flags]"].join(" ");
}

/** `edgemq <command> --help`: usage, what it does, arguments, flags and examples. */
export function commandHelp(spec: CommandSpec): string {
  const own = spec.flags.filter((f) => !f.global);
  const global = spec.flags.filter((f) => f.global);
  const lines = [`Usage: ${usageLine(spec)}`, "", `${spec.summary[0]!.toUpperCase()}${spec.summary.slice(1)}.`];
  if (spec.details !== undefined) lines.push(spec.details);
  if ((spec.args ?? []).length > 0) lines.push("", "Arguments:", ...columns((spec.args ?? []).map((a) => [a.name, a.description])));
  if (own.length > 0) lines.push("", "Flags:", ...columns(flagRows(own)));
  if (global.length > 0) lines.push("", "Global flags:", ...columns(flagRows(global)));
  if ((spec.examples ?? []).length > 0) lines.push("", "Examples:", ...(spec.examples ?? []).map((e) => `  ${e}`));
  return lines.join("\n");
}

/** `edgemq <group> --help`: the group's commands. */
export function groupHelp(group: GroupSpec): string {
  return [
    `Usage: edgemq ${group.name} <command> [flags]`,
    "",
    `${group.summary[0]!.toUpperCase()}${group.summary.slice(1)}.`,
    "",
    "Commands:",
    // Names and arguments only: the flags are in each command's own help.
    ...columns(group.commands.map((c) => [[...c.path, ...(c.args ?? []).map((a) => a.name)].join(" "), c.summary])),
    "",
    `Run "edgemq ${group.name} <command> --help" for a command's flags.`,
  ].join("\n");
}

/** `edgemq --help`: every command, and the global flags of the admin API commands. */
export function topHelp(groups: readonly GroupSpec[], singles: readonly CommandSpec[], globalFlags: readonly FlagSpec[]): string {
  return [
    "edgemq: manage an edgemq server's namespaces, brokers, credentials and API tokens through its admin API",
    "(the commands of wrangler pubsub), start a server, and publish or subscribe for a quick check.",
    "",
    "Usage: edgemq <command> [subcommand] [flags]",
    "",
    "Commands:",
    ...columns([
      ...groups.map((g): [string, string] => [`${g.name} ${g.commands.map((c) => c.path.at(-1)).join("|")}`, g.summary]),
      ...singles.map((c): [string, string] => [c.path.join(" "), c.summary]),
    ].flatMap(([label, text]) => wrapLabel(label, text))),
    "",
    "Global flags (admin API commands):",
    ...columns(flagRows(globalFlags)),
    "",
    "edgemq --version (or a lone -V) prints the version; after pub and sub, -h is the host and -V the MQTT version, as in mosquitto.",
    "Exit codes: 0 done, 1 the API, network or broker failed or refused, 2 the command line is wrong.",
    "Run \"edgemq <command> --help\" for more, e.g. edgemq broker issue --help.",
  ].join("\n");
}

// A long "a|b|c|…" label goes on its own lines so that the summaries stay in a narrow column.
function wrapLabel(label: string, text: string): [string, string][] {
  if (label.length <= 40) return [[label, text]];
  const [head, rest] = [label.slice(0, label.indexOf(" ")), label.slice(label.indexOf(" ") + 1)];
  const parts = rest.split("|");
  const lines: string[] = [];
  let line = head;
  for (const p of parts) {
    const next = line === head ? `${head} ${p}` : `${line}|${p}`;
    if (next.length > 40 && line !== head) {
      lines.push(`${line}|`);
      line = `${" ".repeat(head.length + 1)}${p}`;
    } else {
      line = next;
    }
  }
  lines.push(line);
  return lines.map((l, i): [string, string] => [l, i === 0 ? text : ""]);
}
