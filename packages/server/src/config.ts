/**
 * @module
 * The server's configuration from command-line flags, the environment and a
 * JSON file. One table of options (config/option-table.ts) drives the help
 * text, the flags, the EDGEMQ_* variables and the file's keys; the parts live
 * in ./config/, each with one job.
 */
import { buildConfig } from "./config/build-config.ts";
import { ConfigError } from "./config/config-error.ts";
import { parseConfigFile } from "./config/config-file.ts";
import type { ConfigFile, ServerConfig } from "./config/config-types.ts";
import { usageText } from "./config/help-text.ts";
import { SERVER_OPTIONS } from "./config/option-table.ts";
import { OptionValues } from "./config/option-values.ts";
import { parseArgv } from "./config/parse-argv.ts";
import { readEnv } from "./config/read-env.ts";

export type { AdminConfig, AdminListenerConfig, ClusterConfig, ConfigFile, DataConfig, ListenerConfig, ServerConfig, UserConfig } from "./config/config-types.ts";
export { ConfigError } from "./config/config-error.ts";
export { parseConfigFile } from "./config/config-file.ts";
export { isLoopback } from "./config/exposure.ts";

/** The usage text printed by --help. */
export const USAGE: string = usageText();

/**
 * Builds the configuration from command-line arguments, the environment and
 * an optional config file's text (read by the caller, who knows the runtime).
 */
export function resolveConfig(args: string[], env: Record<string, string | undefined>, readFile: (path: string) => string): ServerConfig | "help" {
  const flags = parseArgv(args, SERVER_OPTIONS);
  if (flags.has("help")) return "help";
  const envValues = readEnv(env, SERVER_OPTIONS);
  const configPath = new OptionValues(flags, envValues, {}).given<string>("config");
  let file: ConfigFile = {};
  if (configPath) {
    let text: string;
    try {
      text = readFile(configPath);
    } catch (e) {
      throw new ConfigError(`cannot read config file ${configPath} (${(e as Error).message}); check the path given to --config or EDGEMQ_CONFIG`);
    }
    file = parseConfigFile(text, configPath);
  }
  return buildConfig(new OptionValues(flags, envValues, file), file);
}
