import { dirname } from "node:path";
import { ConfigError } from "./config-error.ts";
import type { ConfigFile } from "./config-types.ts";
import { resolveFilePaths } from "./file-paths.ts";
import { CONFIG_FILE_SCHEMA } from "./file-schema.ts";
import { ERROR_MAP, issueProblems, pathText } from "./issues.ts";

/**
 * Parses and checks a JSON config file's text against the file's schema:
 * every problem at once, each naming the file and the key path
 * (`edgemq.json: limits.maxQos ...`); its paths resolved against its folder.
 */
export function parseConfigFile(text: string, path: string): ConfigFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path} is not valid JSON (${(e as Error).message}); fix the syntax or pass a different --config`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new ConfigError(`${path} must hold a JSON object, like {"listeners": [...]}`);
  const parsed = CONFIG_FILE_SCHEMA.safeParse(data, { error: ERROR_MAP });
  if (!parsed.success) throw new ConfigError(issueProblems(parsed.error.issues, (at) => `${path}: ${pathText(at)}`, CONFIG_FILE_SCHEMA));
  return resolveFilePaths(parsed.data as ConfigFile, dirname(path));
}

/** Reads and parses the config file at `path` with the runtime's `readFile`. */
export function readConfigFile(path: string, readFile: (path: string) => string): ConfigFile {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path} (${(e as Error).message}); check the path given to --config or EDGEMQ_CONFIG`);
  }
  return parseConfigFile(text, path);
}
