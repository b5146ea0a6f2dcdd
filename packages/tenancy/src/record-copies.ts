import type { ApiTokenRecord, BrokerRecord } from "./records.ts";

/** A broker record the caller may keep or change: its nested objects are its own. */
export function copyBroker(r: BrokerRecord): BrokerRecord {
  return { ...r, on_publish: r.on_publish && { ...r.on_publish }, ...(r.limits ? { limits: { ...r.limits } } : {}) };
}

/** A token record the caller may keep: its namespaces list is its own. */
export function copyToken(t: ApiTokenRecord): ApiTokenRecord {
  return { ...t, namespaces: t.namespaces === "*" ? "*" : [...t.namespaces] };
}

/** Oldest first, then by name: the order records are listed in. */
export function byCreation(a: { created_on: string; name: string }, b: { created_on: string; name: string }): number {
  return a.created_on < b.created_on ? -1 : a.created_on > b.created_on ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
