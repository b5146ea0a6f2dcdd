import type { Limits } from "@edgemq/core";
import type { z } from "zod";
import type { ValueType } from "./value-types.ts";

/** The sections of `--help`, in the order they are printed. */
export const HELP_SECTIONS = ["Listeners", "Data", "Admin API and tenants", "Access", "Broker", "Other"] as const;

/** A section of `--help`. */
export type HelpSection = (typeof HELP_SECTIONS)[number];

/** The ServerConfig properties that one option each sets on its own, by their paths. */
export const DIRECT_TARGETS = ["preset", "logLevel", "logFormat", "domain", "hookTimeoutMs", "memoryBudget", "maxSessionsTotal", "admin.token", "admin.accountId", "admin.metricsPublic", "admin.corsOrigins", "sessionTakeover"] as const;

/** A ServerConfig property that one option sets on its own. */
export type DirectTarget = (typeof DIRECT_TARGETS)[number];

/** Whether a target is a ServerConfig property that one option sets on its own. */
export function isDirectTarget(target: string): target is DirectTarget {
  return (DIRECT_TARGETS as readonly string[]).includes(target);
}

/** A part of ServerConfig that several options (and the file) build together; see build-config.ts. */
export type BuiltTarget = "limits" | "listeners" | "admin.listeners" | "users" | "allowAnonymous" | "admin.dashboard" | "data" | "tenantCeilings" | "hookAllow" | "cluster";

/** Where an option's value goes: a ServerConfig property, a part built from several options, or the file or help itself. */
export type ConfigTarget = DirectTarget | BuiltTarget | `limits.${keyof Limits}` | "the config file" | "help";

/** Where the config file sets an option. */
export interface FileKey {
  /** Its key path: `domain`, `data.dir`, `limits.maximumPacketSize`. */
  path: string;
  /** What the file's value must be, when not the option's own schema (a list of users where the flag takes one `name:password`). */
  schema?: z.ZodType;
}

/** One server option: its flag, environment variable and config-file key, its type, default and help, and where it goes. */
export interface ServerOption<T = unknown> {
  /** The long flag without its dashes (`port` is `--port`); the option's name. */
  name: string;
  /** A one-letter flag, without its dash. */
  short?: string;
  /** How its text becomes a value, and what the value must be. */
  type: ValueType<T>;
  /** The environment variable that sets it, if one does. */
  env?: string;
  /** Where the config file sets it, if it does. */
  file?: FileKey;
  /** The value when nothing sets it (none: the setting is absent). */
  default?: T;
  /** Where its value goes in ServerConfig. */
  target: ConfigTarget;
  /** May be given more than once; every value is kept. */
  repeatable?: boolean;
  /** Where `--help` lists it. */
  section: HelpSection;
  /** Its help: a line, or lines. */
  help: string | readonly string[];
}

/** How the option is written on the command line: `--port`. */
export function flagOf(option: Pick<ServerOption, "name">): string {
  return `--${option.name}`;
}
