import { DEFAULT_LIMITS, FULL_FEATURES, type AccessRules } from "@edgemq/core";
import { ConfigError } from "./config-error.ts";

/** A config-file setting that no flag sets (or a group of settings), with its check and where it goes. */
export interface FileSection {
  /** Its key path: `acl`, `admin.listeners`. */
  path: string;
  /** An object of settings, whose keys are the paths below it; `example` shows one in messages. */
  object?: { example: string };
  /** Checks the file's value (present, perhaps null); throws a ConfigError starting with `file`, the file's path. */
  check?(value: unknown, file: string): void;
  /** Where it goes: a ServerConfig property taken as it is, or a part build-config.ts builds. */
  target?: "acl" | "features" | "listeners" | "limits" | "admin.listeners";
  /** The value when the file has none. */
  default?: unknown;
  /** How `--help` shows it, when more than its key. */
  summary?: string;
}

/** The config file's own settings, besides the options' keys (see option-table.ts). */
export const FILE_SECTIONS: readonly FileSection[] = [
  { path: "listeners", check: checkListeners, target: "listeners", summary: 'listeners (each may name a tenant "broker")' },
  { path: "acl", check: checkAcl, target: "acl", summary: "acl {rules, defaultEffect}" },
  { path: "limits", check: checkLimits, target: "limits" },
  { path: "features", check: checkFeatures, target: "features", default: {} },
  { path: "admin", object: { example: '{"listeners": [{"port": 8080}]}' } },
  { path: "admin.listeners", check: checkAdminListeners, target: "admin.listeners" },
  { path: "data", object: { example: '{"dir": "./data"}' } },
  { path: "cluster", object: { example: '{"servers": ["nats://127.0.0.1:4222"]}' } },
];

function checkListeners(listeners: unknown, file: string): void {
  for (const [i, l] of ((listeners ?? []) as { broker?: unknown }[]).entries()) {
    if (l.broker !== undefined && (typeof l.broker !== "string" || !/^[^.]+\.[^.]+$/.test(l.broker))) {
      throw new ConfigError(`${file}: listeners[${i}].broker must name one tenant broker as "<broker>.<namespace>", got ${JSON.stringify(l.broker)}`);
    }
  }
}

// Any limit may be set in the file, flag or not; the values' ranges are checked once the flags are in too.
function checkLimits(limits: unknown, file: string): void {
  for (const key of Object.keys(limits ?? {})) {
    if (!(key in DEFAULT_LIMITS)) throw new ConfigError(`${file}: unknown limit "${key}"; known limits are ${Object.keys(DEFAULT_LIMITS).join(", ")}`);
    const v = (limits as Record<string, unknown>)[key];
    if (typeof v !== "number" && typeof v !== "boolean") throw new ConfigError(`${file}: limit "${key}" must be a number`);
  }
}

function checkAdminListeners(listeners: unknown, file: string): void {
  if (!Array.isArray(listeners)) throw new ConfigError(`${file}: admin.listeners must be a list, like [{"port": 8080}]`);
}

// A misspelt feature would otherwise be ignored and leave the feature on.
function checkFeatures(features: unknown, file: string): void {
  if (typeof features !== "object" || features === null || Array.isArray(features)) throw new ConfigError(`${file}: "features" must be an object, like {"retainAvailable": false}`);
  for (const [key, v] of Object.entries(features)) {
    if (!(key in FULL_FEATURES)) throw new ConfigError(`${file}: unknown feature "${key}"; known features are ${Object.keys(FULL_FEATURES).join(", ")}`);
    if (key === "maximumQoS") {
      if (v !== 0 && v !== 1 && v !== 2) throw new ConfigError(`${file}: feature "maximumQoS" must be 0, 1 or 2`);
    } else if (key === "protocolVersions") {
      if (!Array.isArray(v) || v.length === 0 || !v.every((x) => x === 3 || x === 4 || x === 5)) throw new ConfigError(`${file}: feature "protocolVersions" must list some of 3, 4 and 5`);
    } else if (key === "refusal") {
      if (v !== "spec" && v !== "cloudflare") throw new ConfigError(`${file}: feature "refusal" must be "spec" or "cloudflare"`);
    } else if (key === "sessionTakeover") {
      if (v !== "same-identity" && v !== "any") throw new ConfigError(`${file}: feature "sessionTakeover" must be "same-identity" or "any"`);
    } else if (typeof v !== "boolean") {
      throw new ConfigError(`${file}: feature "${key}" must be true or false`);
    }
  }
}

// A malformed rule would otherwise fail at the first publish, or deny without saying why.
function checkAcl(acl: unknown, file: string): void {
  const a = acl as Partial<AccessRules> | null;
  if (typeof a !== "object" || a === null || !Array.isArray(a.rules)) throw new ConfigError(`${file}: "acl" needs a "rules" array and a "defaultEffect", like {"rules": [], "defaultEffect": "deny"}`);
  if (a.defaultEffect !== "allow" && a.defaultEffect !== "deny") throw new ConfigError(`${file}: acl.defaultEffect must be "allow" or "deny"`);
  for (const [i, r] of a.rules.entries()) {
    const where = `${file}: acl.rules[${i}]`;
    if (typeof r !== "object" || r === null) throw new ConfigError(`${where} must be an object`);
    for (const key of Object.keys(r)) {
      if (!["clientId", "username", "topics", "access", "effect"].includes(key)) throw new ConfigError(`${where} has unknown key "${key}"; rules have clientId, username, topics, access and effect`);
    }
    if (!Array.isArray(r.topics) || !r.topics.every((t) => typeof t === "string" && t.length > 0)) throw new ConfigError(`${where}.topics must be a list of topic filters`);
    if (!["publish", "subscribe", "all"].includes(r.access)) throw new ConfigError(`${where}.access must be "publish", "subscribe" or "all"`);
    if (r.effect !== "allow" && r.effect !== "deny") throw new ConfigError(`${where}.effect must be "allow" or "deny"`);
    if (r.clientId !== undefined && typeof r.clientId !== "string") throw new ConfigError(`${where}.clientId must be a string`);
    if (r.username !== undefined && typeof r.username !== "string") throw new ConfigError(`${where}.username must be a string`);
  }
}
