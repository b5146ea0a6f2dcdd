import type { Limits } from "@edgemq/core";
import { collect, ConfigError } from "./config-error.ts";
import type { ConfigFile, DataConfig, ServerConfig, UserConfig } from "./config-types.ts";
import { DEFAULTS, presetLimits } from "./defaults.ts";
import { checkExposure } from "./exposure.ts";
import { buildAdminListeners, buildListeners } from "./build-listeners.ts";
import { FILE_SECTIONS } from "./file-sections.ts";
import { fileValueAt } from "./config-file.ts";
import { SERVER_OPTIONS } from "./option-table.ts";
import type { OptionValues } from "./option-values.ts";
import { isDirectTarget } from "./server-option.ts";
import { buildHookAllow } from "./hook-allow.ts";
import { buildCluster } from "./cluster-config.ts";
import { buildTenantCeilings, checkLimitsUnderCeilings } from "./tenant-ceilings.ts";

// Writes `value` at a dotted path of the configuration (`admin.token`).
function setAt(config: object, path: string, value: unknown): void {
  const keys = path.split(".");
  let at = config as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) at = at[key] as Record<string, unknown>;
  at[keys.at(-1)!] = value;
}

// The preset's limits, then the file's, then the flags'; then the checks that need them all.
function buildLimits(values: OptionValues, file: ConfigFile, preset: ServerConfig["preset"]): Limits {
  const limits: Limits = { ...presetLimits(preset), ...file.limits };
  for (const o of SERVER_OPTIONS) {
    const key = o.target.startsWith("limits.") ? o.target.slice("limits.".length) as keyof Limits : undefined;
    const value = key === undefined ? undefined : values.given<number>(o.name);
    if (value !== undefined) (limits as unknown as Record<string, number>)[key!] = value;
  }
  const problems: string[] = [];
  if (limits.receiveMaximum < 1 || limits.receiveMaximum > 65535) problems.push(`receiveMaximum (--receive-maximum or limits.receiveMaximum) must be between 1 and 65535, got ${limits.receiveMaximum}`);
  if (limits.maximumPacketSize < 64) problems.push(`maximumPacketSize (--max-packet-size or limits.maximumPacketSize) must be at least 64 bytes, got ${limits.maximumPacketSize}`);
  if (limits.maximumKeepAlive > 0 && limits.minimumKeepAlive > limits.maximumKeepAlive) {
    problems.push(`minimumKeepAlive (--min-keepalive, ${limits.minimumKeepAlive}) must not be above maximumKeepAlive (--max-keepalive, ${limits.maximumKeepAlive})`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return limits;
}

// The file's users, then --user's.
function buildUsers(values: OptionValues, file: ConfigFile): UserConfig[] {
  const users = [...(file.users ?? [])];
  // Each is name:password, as its schema checked.
  for (const u of values.flagTexts("user")) {
    const colon = u.indexOf(":");
    if (colon > 0) users.push({ username: u.slice(0, colon), password: u.slice(colon + 1) });
  }
  return users;
}

// --no-anonymous over --allow-anonymous over the variable over the file; unsaid, users turn anonymous access off.
function buildAnonymous(values: OptionValues, users: UserConfig[]): Pick<ServerConfig, "allowAnonymous" | "allowAnonymousExplicit"> {
  const said = values.flagged("no-anonymous") ? false : values.given<boolean>("allow-anonymous");
  if (said !== undefined) return { allowAnonymous: said, allowAnonymousExplicit: true };
  return { allowAnonymous: DEFAULTS.allowAnonymous && users.length === 0, allowAnonymousExplicit: false };
}

// --no-dashboard (or its variable) over --dashboard, its variable and the file; on when unsaid.
function buildDashboard(values: OptionValues): boolean {
  return values.given<boolean>("no-dashboard") === true ? false : values.get<boolean>("dashboard");
}

// A store mode other than memory needs a directory; without one everything is in memory.
function buildData(values: OptionValues): DataConfig {
  const dir = values.given<string>("data");
  const mode = values.get<DataConfig["mode"]>("store-mode");
  if (dir === undefined && mode !== "fsync" && mode !== "memory") throw new ConfigError(`--store-mode ${mode} keeps data in a directory: add --data <dir>`);
  const windowMs = values.get<number>("store-window");
  return { dir: mode === "memory" ? undefined : dir, mode: dir === undefined ? "memory" : mode, windowMs };
}

/**
 * The configuration from the options' values and the config file: each option
 * where its table entry's `target` says. Every problem is reported at once:
 * the values' own (`values.problems`), then each part's and the checks across parts.
 */
export function buildConfig(values: OptionValues, file: ConfigFile): ServerConfig {
  const problems = [...values.problems];
  const step = <T>(build: () => T) => collect(problems, build);
  const limits = step(() => buildLimits(values, file, values.get("preset")));
  const listeners = step(() => buildListeners(values, file)) ?? [];
  const users = buildUsers(values, file);
  const config = { listeners, ...buildAnonymous(values, users), users, limits, admin: {} } as ServerConfig;
  for (const o of SERVER_OPTIONS) if (isDirectTarget(o.target)) setAt(config, o.target, values.get(o.name));
  // The file's own settings that go in as they are.
  for (const s of FILE_SECTIONS) {
    if (s.target === "acl" || s.target === "features") setAt(config, s.target, fileValueAt(file, s.path) ?? s.default);
  }
  config.admin.listeners = step(() => buildAdminListeners(values, file)) ?? [];
  config.admin.dashboard = buildDashboard(values);
  config.data = step(() => buildData(values))!;
  const ceilings = step(() => buildTenantCeilings(values, file));
  config.tenantCeilings = ceilings!;
  config.hookAllow = step(() => buildHookAllow(values, file));
  config.cluster = step(() => buildCluster(values));
  if (limits !== undefined && ceilings !== undefined) step(() => checkLimitsUnderCeilings(limits, ceilings));
  step(() => checkExposure(config));
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
