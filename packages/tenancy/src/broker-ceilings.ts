import type { Limits } from "@edgemq/core";
import { type LimitField, LIMIT_FIELDS, type LimitOverrides } from "./broker-limits.ts";
import { TenancyError } from "./errors.ts";

/**
 * The operator's ceilings over the limits a tenant may set, by API name
 * (`max_message_size`): a tenant may lower a limit, never raise it above its
 * ceiling. A limit without a ceiling is bounded only by its range.
 */
export type LimitCeilings = Readonly<Record<string, number>>;

/**
 * The ceilings a server applies unless its operator says otherwise: each keeps
 * one tenant from taking the shared process's memory or sockets (three 256 MiB
 * partial packets cost 600 MB) while leaving room above the defaults.
 */
export const DEFAULT_LIMIT_CEILINGS: LimitCeilings = {
  max_message_size: 16 * 1024 * 1024,
  max_topic_levels: 1024,
  max_subscriptions_per_client: 10_000,
  max_retained_messages: 1_000_000,
  max_retained_bytes: 1024 * 1024 * 1024,
  max_queued_messages: 100_000,
  max_queued_bytes: 256 * 1024 * 1024,
  max_session_expiry: 30 * 24 * 3600,
  connect_timeout: 60,
};

const BY_NAME = new Map(LIMIT_FIELDS.map((f) => [f.name, f]));

/** Whether a limit's value lies above its ceiling (where 0 lifts the limit, 0 is above any). */
export function aboveCeiling(field: LimitField, value: number, ceiling: number | undefined): boolean {
  if (ceiling === undefined) return false;
  return value > ceiling || (value === 0 && field.zeroIsNone === true);
}

/** The words of a refusal by a ceiling: the limit, the value, the ceiling and who can change it. */
export function ceilingMessage(name: string, value: number, ceiling: number): string {
  const asked = value === 0 ? "0 (none)" : String(value);
  return `limits.${name} ${asked} is above this server's ceiling for it, ${ceiling}: ask for at most ${ceiling}, or ask the operator to raise the ceiling (--tenant-ceiling ${name}=<n>)`;
}

/** Checks ceilings as an operator gave them: known limit names, each value within its limit's range. Returns them. */
export function checkCeilings(ceilings: Readonly<Record<string, unknown>>): LimitCeilings {
  for (const [name, value] of Object.entries(ceilings)) {
    const field = BY_NAME.get(name);
    if (field === undefined) throw new TenancyError("invalid", `no limit "${name}" to put a ceiling on; the limits are ${LIMIT_FIELDS.map((f) => f.name).join(", ")}`);
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < field.min || value > field.max) {
      throw new TenancyError("invalid", `the ceiling of ${name} must be a whole number from ${field.min} to ${field.max}, not ${JSON.stringify(value)}`);
    }
  }
  return ceilings as LimitCeilings;
}

/**
 * Refuses a broker's own limits above the ceilings; `onRefusal` hears the
 * limit's name (for the metric). Only the values given are checked, so a value
 * stored before a ceiling was lowered does not block other changes (it is clamped).
 */
export function refuseAboveCeilings(given: LimitOverrides, ceilings: LimitCeilings | undefined, onRefusal?: (name: string) => void): void {
  if (ceilings === undefined) return;
  for (const [name, value] of Object.entries(given)) {
    const field = BY_NAME.get(name);
    if (field === undefined || !aboveCeiling(field, value, ceilings[name])) continue;
    onRefusal?.(name);
    throw new TenancyError("invalid", ceilingMessage(name, value, ceilings[name]!));
  }
}

/** Limits brought down to the ceilings (a value stored before a ceiling was lowered, or inherited from above). */
export function clampToCeilings(limits: Limits, ceilings: LimitCeilings | undefined): Limits {
  if (ceilings === undefined) return limits;
  const out = { ...limits } as unknown as Record<string, number>;
  for (const [name, ceiling] of Object.entries(ceilings)) {
    const field = BY_NAME.get(name);
    if (field !== undefined && aboveCeiling(field, out[field.key]!, ceiling)) out[field.key] = ceiling;
  }
  return out as unknown as Limits;
}
