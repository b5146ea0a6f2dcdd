import { keysUnder } from "./config-file.ts";
import { FILE_SECTIONS } from "./file-sections.ts";
import { SERVER_OPTIONS } from "./option-table.ts";
import { flagOf, HELP_SECTIONS, type ServerOption } from "./server-option.ts";

// Descriptions start in the same column within a section, at least this one; a flag
// longer than LONG is followed by two spaces instead, so that one does not push the rest.
const COLUMN = 27;
const LONG = 28;
const WIDTH = 104;

function label(o: ServerOption): string {
  const flag = o.short === undefined ? flagOf(o) : `-${o.short}, ${flagOf(o)}`;
  return o.type.placeholder === undefined ? flag : `${flag} ${o.type.placeholder}`;
}

function sectionLines(options: readonly ServerOption[]): string[] {
  const heads = options.map((o) => `  ${label(o)}`);
  const column = Math.max(COLUMN, ...heads.filter((h) => h.length <= LONG).map((h) => h.length + 2));
  return options.flatMap((o, n) => {
    const head = heads[n]!;
    const at = Math.max(column, head.length + 2);
    const help = typeof o.help === "string" ? [o.help] : o.help;
    return help.map((line, i) => `${i === 0 ? head.padEnd(at) : " ".repeat(at)}${line}`);
  });
}

// Pieces filled into lines of at most WIDTH characters, each piece kept whole.
function fill(pieces: readonly string[]): string[] {
  const lines: string[] = [];
  let line = "";
  for (const piece of pieces) {
    if (line !== "" && line.length + 1 + piece.length > WIDTH) {
      lines.push(line);
      line = piece;
    } else {
      line = line === "" ? piece : `${line} ${piece}`;
    }
  }
  return [...lines, line];
}

// A list as pieces: "a," "b," ... "z." after the words that introduce it.
const listed = (intro: string, items: readonly string[]) => [...intro.split(" "), ...items.map((item, i) => `${item}${i === items.length - 1 ? "." : ","}`)];

// A config file key as help shows it: its summary, or its own keys in braces.
function fileKey(key: string): string {
  const section = FILE_SECTIONS.find((s) => s.path === key);
  if (section?.summary !== undefined) return section.summary;
  return section?.object !== undefined ? `${key} {${keysUnder(key).join(", ")}}` : key;
}

/** The `--help` text: every option by section, the config file's keys and the environment variables, all from the option table. */
export function usageText(): string {
  const lines = ["Usage: edgemq [options]", ""];
  for (const section of HELP_SECTIONS) {
    lines.push(section, ...sectionLines(SERVER_OPTIONS.filter((o) => o.section === section)));
  }
  const env = SERVER_OPTIONS.flatMap((o) => (o.env === undefined ? [] : [o.type.kind === "switch" ? `${o.env} (true/false)` : o.env]));
  lines.push(
    "",
    ...fill(listed("Config file (--config): a JSON object with any of", keysUnder("").map(fileKey))),
    ...fill(listed("Environment:", env)),
    "Flags override the environment, which overrides the file.",
  );
  return lines.join("\n");
}
