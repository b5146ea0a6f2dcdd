import { ConfigError } from "./config-error.ts";
import type { ConfigFile } from "./config-types.ts";
import { FILE_SECTIONS } from "./file-sections.ts";
import { SERVER_OPTIONS } from "./option-table.ts";

/** The value at a dotted key path of the config file (`data.dir`), if any. */
export function fileValueAt(file: object, path: string): unknown {
  let at: unknown = file;
  for (const key of path.split(".")) {
    if (typeof at !== "object" || at === null) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** Every key path the config file may hold: its own sections', then the options' (`data.dir`...). */
export function fileKeyPaths(): string[] {
  return [...FILE_SECTIONS.map((s) => s.path), ...SERVER_OPTIONS.flatMap((o) => (o.file === undefined ? [] : [o.file.path]))];
}

/** The keys allowed directly under `prefix` (top level when empty), in the order they are declared. */
export function keysUnder(prefix: string): string[] {
  const depth = prefix === "" ? 0 : prefix.split(".").length;
  const below = fileKeyPaths().filter((p) => prefix === "" || p.startsWith(`${prefix}.`));
  return [...new Set(below.map((p) => p.split(".")[depth]!))];
}

// Every object of settings must hold only known keys: a misspelt key would otherwise be ignored.
function checkObjects(data: Record<string, unknown>, path: string): void {
  const known = keysUnder("");
  for (const key of Object.keys(data)) {
    if (!known.includes(key)) throw new ConfigError(`${path}: unknown setting "${key}"; known settings are ${known.join(", ")}`);
  }
  for (const section of FILE_SECTIONS) {
    if (section.object === undefined) continue;
    const value = fileValueAt(data, section.path);
    if (value === undefined) continue;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new ConfigError(`${path}: "${section.path}" must be an object, like ${section.object.example}`);
    }
    const keys = keysUnder(section.path);
    for (const key of Object.keys(value)) {
      if (!keys.includes(key)) throw new ConfigError(`${path}: unknown ${section.path} setting "${key}"; known ${section.path} settings are ${keys.join(", ")}`);
    }
  }
}

/** Parses and checks a JSON config file's text: its keys, and each value's shape (the values themselves are checked with the flags'). */
export function parseConfigFile(text: string, path: string): ConfigFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path} is not valid JSON (${(e as Error).message}); fix the syntax or pass a different --config`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new ConfigError(`${path} must hold a JSON object, like {"listeners": [...]}`);
  const file = data as Record<string, unknown>;
  checkObjects(file, path);
  for (const o of SERVER_OPTIONS) {
    const value = o.file === undefined ? undefined : fileValueAt(file, o.file.path);
    const problem = value === undefined ? undefined : o.file?.problem?.(value);
    if (problem !== undefined) throw new ConfigError(`${path}: ${problem}`);
  }
  for (const section of FILE_SECTIONS) {
    const value = fileValueAt(file, section.path);
    if (value !== undefined) section.check?.(value, path);
  }
  return file as ConfigFile;
}
