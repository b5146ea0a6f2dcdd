import { HookDestinations } from "@edgemq/tenancy";
import { ConfigError } from "./config-error.ts";
import type { ConfigFile } from "./config-types.ts";
import type { OptionValues } from "./option-values.ts";

/** The allowances: the config file's, then the flags'; each an address, a CIDR range or a host name. */
export function buildHookAllow(values: OptionValues, file: ConfigFile): string[] {
  const allow = [...(file.hookAllow ?? []), ...values.flagTexts("hook-allow")];
  try {
    new HookDestinations(allow);
  } catch (e) {
    throw new ConfigError(`${(e as Error).message} (--hook-allow or hookAllow in the config file)`);
  }
  return allow;
}
