/**
 * @module
 * The `edgemq` command line: `main(argv)` runs it and resolves to the exit
 * code. Its commands mirror `wrangler pubsub` over edgemq's admin API, plus
 * `serve`, `token`, `pub` and `sub`.
 */
export { main, VERSION } from "./main.ts";
export { type Io, processIo } from "./io.ts";
export { ApiClient, apiPath, type ApiAnswer, type Query, type ResultInfo } from "./api-client.ts";
export { API_FLAGS, apiSettings, type ApiSettings, DEFAULT_ACCOUNT_ID } from "./api-flags.ts";
export { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from "./errors.ts";
export { GROUPS, SINGLE_COMMANDS } from "./commands/command-tree.ts";
export type { ArgSpec, CommandSpec, FlagSpec, GroupSpec } from "./spec.ts";
