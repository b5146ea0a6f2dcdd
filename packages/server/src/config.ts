/**
 * @module
 * The server's configuration from command-line flags, the environment and a
 * JSON file. One table of options (config/option-table.ts), each with a zod
 * schema for its value, drives the help text, the flags, the EDGEMQ_*
 * variables, the file's schema and its JSON Schema; every problem is reported
 * at once. The parts live in ./config/, each with one job.
 */
import { buildConfig } from "./config/build-config.ts";
import { collect, ConfigError } from "./config/config-error.ts";
import type { ServerConfig } from "./config/config-types.ts";
import { usageText } from "./config/help-text.ts";
import { SERVER_OPTIONS } from "./config/option-table.ts";
import { OptionValues } from "./config/option-values.ts";
import { parseArgv } from "./config/parse-argv.ts";
import { readConfigFile } from "./config/read-config-file.ts";
import { envWarnings, readEnv } from "./config/read-env.ts";

export type { AdminConfig, AdminListenerConfig, ClusterConfig, ConfigFile, DataConfig, ListenerConfig, ServerConfig, UserConfig } from "./config/config-types.ts";
export { ConfigError } from "./config/config-error.ts";
export { parseConfigFile } from "./config/read-config-file.ts";
export { configJsonSchema, configJsonSchemaText } from "./config/file-schema.ts";
export { isLoopback } from "./config/exposure.ts";

/** The usage text printed by --help. */
export const USAGE: string = usageText();

/**
 * Builds the configuration from command-line arguments, the environment and
 * an optional config file's text (read by the caller, who knows the runtime).
 * Throws a ConfigError listing every problem found in all three.
 */
export function resolveConfig(args: string[], env: Record<string, string | undefined>, readFile: (path: string) => string): ServerConfig | "help" {
  const problems: string[] = [];
  const flags = parseArgv(args, SERVER_OPTIONS, problems);
  if (flags.has("help") && problems.length === 0) return "help";
  const envValues = readEnv(env, SERVER_OPTIONS);
  // The file's path is taken as it is written; the file's own problems join the others.
  const configPath = flags.get("config")?.at(-1) ?? envValues.get("config");
  const file = configPath ? collect(problems, () => readConfigFile(configPath, readFile)) : {};
  const values = new OptionValues(flags, envValues, file ?? {});
  // Without the file, checks across settings would judge half the configuration: only the values' own problems join.
  if (file === undefined) throw new ConfigError([...problems, ...values.problems]);
  const config = collect(problems, () => buildConfig(values, file));
  if (config === undefined || problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Warnings, one line each, for EDGEMQ_ variables that look like a misspelt setting (EDGEMQ_PROT): the server ignores them. */
export function configWarnings(env: Record<string, string | undefined>): string[] {
  return envWarnings(env, SERVER_OPTIONS);
}
