import type { ServerOption } from "./server-option.ts";
import { closest } from "./suggest.ts";

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

// EDGEMQ_ variables that belong to the CLI, the packages' scripts and the test suite, not to the server.
const OTHERS = /^EDGEMQ_(API_URL|API_TOKEN|MQTT_URL|DEBUG|VERSION|TEST_[A-Z_]*)$/;

/**
 * Warnings for EDGEMQ_ variables the server does not know but that look like
 * one it does (EDGEMQ_PROT for EDGEMQ_PORT): not errors, since the CLI and
 * other tools share the environment, but a misspelling should not pass unseen.
 */
export function envWarnings(env: Record<string, string | undefined>, options: readonly ServerOption[]): string[] {
  const known = options.flatMap((o) => (o.env === undefined ? [] : [o.env.slice("EDGEMQ_".length)]));
  return Object.keys(env).flatMap((name) => {
    if (!name.startsWith("EDGEMQ_") || OTHERS.test(name) || known.includes(name.slice("EDGEMQ_".length))) return [];
    const meant = closest(name.slice("EDGEMQ_".length), known);
    return meant === undefined ? [] : [`${name} is not a setting and is ignored; did you mean EDGEMQ_${meant}?`];
  });
}
