import type { Limits } from "@edgemq/core";
import { aboveCeiling, checkCeilings, DEFAULT_LIMIT_CEILINGS, type LimitCeilings, LIMIT_FIELDS, TenancyError } from "@edgemq/tenancy";
import { ConfigError } from "./config-error.ts";
import type { ConfigFile } from "./config-types.ts";
import type { OptionValues } from "./option-values.ts";


/** The ceilings: the defaults, then the config file's, then the flags'; each a known limit within its range. */
export function buildTenantCeilings(values: OptionValues, file: ConfigFile): LimitCeilings {
  const ceilings: Record<string, unknown> = { ...DEFAULT_LIMIT_CEILINGS, ...file.tenantCeilings };
  // Each word is <limit>=<n>, as its schema checked (one that is not was reported with the flags).
  for (const word of values.flagTexts("tenant-ceiling")) {
    const m = /^([a-z_]+)=(\d+)$/.exec(word);
    if (m !== null) ceilings[m[1]!] = Number(m[2]);
  }
  try {
    return checkCeilings(ceilings);
  } catch (e) {
    if (e instanceof TenancyError) throw new ConfigError(`${e.message} (--tenant-ceiling or tenantCeilings in the config file)`);
    throw e;
  }
}

/**
 * Refuses server limits above a tenant ceiling: tenant brokers start from the
 * server's limits, so one above a ceiling would give every tenant more than the
 * operator allows them.
 */
export function checkLimitsUnderCeilings(limits: Limits, ceilings: LimitCeilings): void {
  for (const field of LIMIT_FIELDS) {
    const value = limits[field.key] as number;
    const ceiling = ceilings[field.name];
    if (ceiling === undefined || !aboveCeiling(field, value, ceiling)) continue;
    throw new ConfigError(
      `the server's ${field.key} (${value}: its default, a flag or the config file's "limits") is above the tenant ceiling for ${field.name}, ${ceiling}: ` +
      `tenant brokers start from the server's limits, so lower it, or raise the ceiling with --tenant-ceiling ${field.name}=${value === 0 ? "<n>" : value} ` +
      `(or "tenantCeilings": {"${field.name}": ${value === 0 ? "<n>" : value}} in the config file)`,
    );
  }
}
