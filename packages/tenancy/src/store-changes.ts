import type { ApiTokenRecord, BrokerRecord, NamespaceRecord } from "./records.ts";

/**
 * A change to the tenancy records that a shared store saw, made by this
 * process or another (a cluster node): the record as it is now, or null
 * once deleted. A registry applies it idempotently, so a store may hand
 * back its own writes.
 */
export type TenancyChange = (
  | { kind: "namespace"; name: string; record: NamespaceRecord | null }
  | { kind: "broker"; namespace: string; name: string; record: BrokerRecord | null }
  | { kind: "revocation"; namespace: string; broker: string; jti: string; revoked_at: string | null }
  | { kind: "apiToken"; id: string; record: ApiTokenRecord | null }
) & {
  /**
   * True when this process has written the same record since (the change
   * is an echo older than what it holds): the registry then skips it. Checked
   * when the change is applied, after the registry's own changes before it.
   */
  superseded?(): boolean;
};

/** Whether two JSON records hold the same data, whatever the order of their fields. */
export function sameRecord(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v);
}
