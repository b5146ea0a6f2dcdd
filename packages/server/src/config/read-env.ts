import type { ServerOption } from "./server-option.ts";

/** The text of each option's environment variable that is set, by option name. */
export type EnvValues = ReadonlyMap<string, string>;

/**
 * Reads the variables the options name (EDGEMQ_PORT...). Others are left
 * alone, EDGEMQ_* ones included: the CLI's (EDGEMQ_API_URL) and the test
 * suite's (EDGEMQ_TEST_RUNTIME) share the environment with the server.
 * A variable set to "" counts as set, as it always has.
 */
export function readEnv(env: Record<string, string | undefined>, options: readonly ServerOption[]): EnvValues {
  const values = new Map<string, string>();
  for (const o of options) {
    const text = o.env === undefined ? undefined : env[o.env];
    if (text !== undefined) values.set(o.name, text);
  }
  return values;
}
