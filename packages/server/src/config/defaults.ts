import { CLOUDFLARE_LIMITS, DEFAULT_LIMITS, type Limits } from "@edgemq/core";
import { totalmem } from "node:os";
import { DEFAULT_HOOK_TIMEOUT_MS } from "../http-hook.ts";

/** What the server does when neither a flag, the environment nor the config file says otherwise. */
export const DEFAULTS = {
  /** Where listeners bind: this machine only. */
  host: "127.0.0.1",
  /** MQTT's registered port. */
  port: 1883,
  /** A config file's admin listener without a port. */
  adminPort: 8080,
  /** Tenant brokers are `<broker>.<namespace>.localhost`. */
  domain: "localhost",
  preset: "full",
  logLevel: "info",
  logFormat: "text",
  /** Nothing acknowledged is lost. */
  storeMode: "fsync",
  /** The batched store mode's commit window (ms). */
  storeWindowMs: 100,
  /** How long an on-publish hook URL has to answer (ms), as Cloudflare allowed; the hook applies it when the config has none. */
  hookTimeoutMs: DEFAULT_HOOK_TIMEOUT_MS,
  /**
   * Bytes held in partial packets and queues, all brokers together: a quarter
   * of the machine's memory, at most 1 GiB (raise it for large offline queues).
   */
  memoryBudget: quarterOfMemory(),
  /** Sessions all brokers together may hold: ten brokers at their default `maximumSessions`. */
  maxSessionsTotal: 1_000_000,
  /** Anonymous clients are let in unless users are configured (and only on loopback; see exposure.ts). */
  allowAnonymous: true,
} as const;

// A quarter of the machine's memory, at most 1 GiB; 1 GiB where the runtime may not ask (Deno without --allow-sys).
function quarterOfMemory(): number {
  try {
    return Math.min(2 ** 30, Math.floor(totalmem() / 4));
  } catch {
    return 2 ** 30;
  }
}

/** The limits a preset starts from, before the config file's and the flags'. */
export function presetLimits(preset: "full" | "cloudflare"): Limits {
  return { ...DEFAULT_LIMITS, ...(preset === "cloudflare" ? CLOUDFLARE_LIMITS : undefined) };
}
