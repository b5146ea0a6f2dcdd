import { type Limits, ReasonCode } from "@edgemq/core";
import { newKeySet } from "@edgemq/credentials";
import { clampToCeilings, refuseAboveCeilings } from "./broker-ceilings.ts";
import { checkLimitsAgree, checkPreset, effectiveFeatures, effectiveLimits, mergeLimitOverrides } from "./broker-limits.ts";
import { TenancyError } from "./errors.ts";
import type { HookDestinations } from "./hook-destinations.ts";
import { newId, timestamp } from "./ids.ts";
import { lookupName, normalizeName } from "./names.ts";
import { byCreation, copyBroker as copy } from "./record-copies.ts";
import type { AuthType, BrokerRecord, NamespaceRecord } from "./records.ts";
import type { BrokerAddress, BrokerState, BrokerUpdate, NewBroker, NewNamespace, RegistryOptions } from "./registry-types.ts";
import type { TenancySnapshot, TenancyStore } from "./store.ts";
import { checkAuthType, checkDescription, checkExpiration, checkOnPublish, mergeOnPublish } from "./validate.ts";

/** The key of a broker in {@link BrokerDirectory.brokers}: `${namespace}/${broker}`, names as stored. */
export function brokerKey(namespace: string, broker: string): string {
  return `${namespace}/${broker}`;
}

/** What a host name shaped `<broker>.<namespace>.<domain>` (any case, with or without a port) names, whether or not it exists. */
export function parseBrokerHost(host: string, domain: string): BrokerAddress | undefined {
  const name = host.toLowerCase().replace(/:\d+$/, "").replace(/\.$/, "");
  const suffix = `.${domain}`;
  if (!name.endsWith(suffix)) return undefined;
  const labels = name.slice(0, -suffix.length).split(".");
  if (labels.length !== 2) return undefined;
  const [broker, namespace] = labels as [string, string];
  return { namespace, broker };
}

/**
 * The namespaces a server hosts and the brokers in them: their records, the
 * lookups by name (case-insensitive), and the changes to them, each checked,
 * written to the store first, then applied. The {@link Registry} runs the
 * changes one at a time and owns everything else (MQTT instances, keys,
 * revocations, tokens); it keeps this object to itself, so its maps are
 * open to the registry's other parts (changes from a shared store).
 */
export class BrokerDirectory {
  /** Namespaces by name. */
  readonly namespaces = new Map<string, NamespaceRecord>();
  /** Brokers by {@link brokerKey}. */
  readonly brokers = new Map<string, BrokerState>();
  /** How many limit changes each ceiling refused, by limit name (for /metrics). */
  readonly ceilingRefusals = new Map<string, number>();
  readonly #store: TenancyStore;
  readonly #now: () => number;
  readonly #options: RegistryOptions;
  readonly #hookDestinations: HookDestinations;
  readonly #authTypes: readonly AuthType[];

  /** A directory of what `snapshot` holds (empty if absent), checked against the registry's options. */
  constructor(store: TenancyStore, now: () => number, options: RegistryOptions, hookDestinations: HookDestinations, authTypes: readonly AuthType[], snapshot?: TenancySnapshot) {
    this.#store = store;
    this.#now = now;
    this.#options = options;
    this.#hookDestinations = hookDestinations;
    this.#authTypes = authTypes;
    if (snapshot === undefined) return;
    for (const ns of snapshot.namespaces) this.namespaces.set(ns.name, ns);
    for (const b of snapshot.brokers) this.brokers.set(brokerKey(b.namespace, b.name), { record: b, revocations: new Map(), instance: undefined });
    for (const r of snapshot.revocations) this.brokers.get(brokerKey(r.namespace, r.broker))?.revocations.set(r.jti, r.revoked_at);
  }

  /** Every namespace, oldest first (copies). */
  listNamespaces(): NamespaceRecord[] {
    return [...this.namespaces.values()].sort(byCreation).map((n) => ({ ...n }));
  }

  /** A copy of a namespace by name (case-insensitive). */
  getNamespace(name: string): NamespaceRecord {
    return { ...this.namespace(name) };
  }

  /** Whether a namespace exists. */
  hasNamespace(name: string): boolean {
    const n = lookupName(name);
    return n !== undefined && this.namespaces.has(n);
  }

  /** Whether a broker exists (names case-insensitive). */
  hasBroker(namespace: string, name: string): boolean {
    const ns = lookupName(namespace), b = lookupName(name);
    return ns !== undefined && b !== undefined && this.brokers.has(brokerKey(ns, b));
  }

  /** The brokers of a namespace, oldest first (copies). */
  listBrokers(namespace: string): BrokerRecord[] {
    return this.brokersOf(this.namespace(namespace).name).map((s) => copy(s.record));
  }

  /** A copy of a broker's record by namespace and name (both case-insensitive). */
  getBroker(namespace: string, name: string): BrokerRecord {
    return copy(this.state(namespace, name).record);
  }

  /** Creates a namespace; its name must not be taken (case-insensitive). */
  async createNamespace(input: NewNamespace): Promise<NamespaceRecord> {
    const name = normalizeName("namespace", input.name);
    const description = checkDescription(input.description);
    if (this.namespaces.has(name)) throw new TenancyError("conflict", `namespace "${name}" already exists`);
    const max = this.#options.maxNamespaces;
    if (max !== undefined && this.namespaces.size >= max) throw new TenancyError("limit", `this server allows at most ${max} namespaces`);
    const at = timestamp(this.#now());
    const record: NamespaceRecord = { id: newId(), name, description, created_on: at, modified_on: at };
    await this.#store.putNamespace(record, true);
    this.namespaces.set(name, record);
    return { ...record };
  }

  /** Deletes an empty namespace; one that still has brokers is refused. */
  async deleteNamespace(name: string): Promise<void> {
    const ns = this.namespace(name);
    const brokers = this.brokersOf(ns.name);
    if (brokers.length > 0) {
      throw new TenancyError("not_empty", `namespace "${ns.name}" still has ${brokers.length === 1 ? "a broker" : "brokers"} (${brokers.map((b) => b.record.name).join(", ")}); delete ${brokers.length === 1 ? "it" : "them"} first`);
    }
    await this.#store.deleteNamespace(ns.name);
    this.namespaces.delete(ns.name);
  }

  /** Creates a broker in a namespace; its name must be free there (another namespace may use it). */
  async createBroker(namespace: string, input: NewBroker): Promise<BrokerRecord> {
    const ns = this.namespace(namespace);
    const name = normalizeName("broker", input.name);
    const authType = checkAuthType(input.authType ?? "TOKEN", this.#authTypes);
    const description = checkDescription(input.description);
    const expiration = checkExpiration(input.expiration ?? null);
    const on_publish = checkOnPublish(input.on_publish ?? null, this.#hookDestinations);
    const preset = checkPreset(input.preset ?? "full");
    const limits = mergeLimitOverrides(input.limits ?? {});
    this.#refuseAboveCeilings(limits);
    checkLimitsAgree(effectiveLimits(preset, limits, this.#options.defaults?.limits));
    if (this.brokers.has(brokerKey(ns.name, name))) throw new TenancyError("conflict", `broker "${name}" already exists in namespace "${ns.name}"`);
    const max = this.#options.maxBrokersPerNamespace;
    if (max !== undefined && this.brokersOf(ns.name).length >= max) {
      throw new TenancyError("limit", `namespace "${ns.name}" already has ${max} brokers, the most this server allows`);
    }
    const now = this.#now();
    const at = timestamp(now);
    const record: BrokerRecord = {
      id: newId(), name, namespace: ns.name, authType, expiration, description, on_publish, preset, limits,
      created_on: at, modified_on: at, keys: await newKeySet(now),
    };
    await this.#store.putBroker(record, true);
    this.brokers.set(brokerKey(ns.name, name), { record, revocations: new Map(), instance: undefined });
    return copy(record);
  }

  /** Changes a broker's description, expiration, on-publish URL, preset or limits; a live MQTT instance takes them at once. */
  async updateBroker(namespace: string, name: string, update: BrokerUpdate): Promise<BrokerRecord> {
    const state = this.state(namespace, name);
    const next: BrokerRecord = { ...state.record };
    if (update.description !== undefined) next.description = checkDescription(update.description);
    if (update.expiration !== undefined) next.expiration = checkExpiration(update.expiration);
    if (update.on_publish !== undefined) next.on_publish = checkOnPublish(mergeOnPublish(state.record.on_publish, update.on_publish), this.#hookDestinations);
    if (update.preset !== undefined) next.preset = checkPreset(update.preset);
    if (update.limits !== undefined) {
      next.limits = mergeLimitOverrides(update.limits, next.limits);
      this.#refuseAboveCeilings(mergeLimitOverrides(update.limits));
    }
    const limits = this.effectiveLimits(next);
    checkLimitsAgree(limits);
    next.modified_on = timestamp(this.#now());
    await this.#store.putBroker(next);
    state.record = next;
    // A live broker takes the change at once, where MQTT lets it (see Broker.setLimits).
    if (state.instance !== undefined && (update.preset !== undefined || update.limits !== undefined)) {
      state.instance.setLimits(limits);
      state.instance.setFeatures(effectiveFeatures(next.preset, this.#options.defaults?.features));
    }
    this.#options.onBrokerUpdated?.(copy(next), state.instance);
    return copy(next);
  }

  /** Deletes a broker: its clients are disconnected (0x98) and its MQTT instance closed. */
  async deleteBroker(namespace: string, name: string): Promise<void> {
    const state = this.state(namespace, name);
    const { record } = state;
    await this.#store.deleteBroker(record.namespace, record.name);
    this.brokers.delete(brokerKey(record.namespace, record.name));
    if (state.instance !== undefined) {
      state.instance.disconnectClients(() => true, ReasonCode.AdministrativeAction, "the broker was deleted");
      await state.instance.close();
      state.instance = undefined;
    }
    await this.#options.onBrokerDeleted?.(copy(record));
  }

  /** A broker's effective limits: the defaults, the server's, its preset's, then its own; brought down to the ceilings. */
  effectiveLimits(record: BrokerRecord): Limits {
    return clampToCeilings(effectiveLimits(record.preset, record.limits, this.#options.defaults?.limits), this.#options.ceilings);
  }

  /** A namespace by name (case-insensitive), or not_found. */
  namespace(name: string): NamespaceRecord {
    const n = lookupName(name);
    const ns = n === undefined ? undefined : this.namespaces.get(n);
    if (ns === undefined) throw new TenancyError("not_found", `no namespace "${name}"`);
    return ns;
  }

  /** A broker's state by namespace and name (both case-insensitive), or not_found. */
  state(namespace: string, name: string): BrokerState {
    const ns = this.namespace(namespace);
    const b = lookupName(name);
    const state = b === undefined ? undefined : this.brokers.get(brokerKey(ns.name, b));
    if (state === undefined) throw new TenancyError("not_found", `no broker "${name}" in namespace "${ns.name}"`);
    return state;
  }

  /** The brokers of a namespace (its stored name), oldest first. */
  brokersOf(namespace: string): BrokerState[] {
    return [...this.brokers.values()].filter((s) => s.record.namespace === namespace).sort((a, b) => byCreation(a.record, b.record));
  }

  // A broker's own limits from a request, refused (and counted) above the operator's ceilings.
  #refuseAboveCeilings(given: Record<string, number>): void {
    refuseAboveCeilings(given, this.#options.ceilings, (name) => this.ceilingRefusals.set(name, (this.ceilingRefusals.get(name) ?? 0) + 1));
  }
}
