import { type Broker, type Limits, ReasonCode } from "@edgemq/core";
import { type IssuedCredential, type KeySet, newKeySet, publicKeys } from "@edgemq/credentials";
import { ApiTokens } from "./api-tokens.ts";
import { issueBrokerCredentials, revokeCredentials, rotateBrokerKeys, unrevokeCredentials } from "./broker-credentials.ts";
import { clampToCeilings, refuseAboveCeilings } from "./broker-ceilings.ts";
import { createTenantBroker } from "./broker-factory.ts";
import { checkLimitsAgree, checkPreset, effectiveFeatures, effectiveLimits, mergeLimitOverrides } from "./broker-limits.ts";
import { TenancyError } from "./errors.ts";
import { newId, timestamp } from "./ids.ts";
import { lookupName, normalizeName } from "./names.ts";
import { byCreation, copyBroker as copy } from "./record-copies.ts";
import type { ApiTokenRecord, AuthType, BrokerRecord, NamespaceRecord, Revocation } from "./records.ts";
import type { BrokerAddress, BrokerState, BrokerUpdate, CredentialRequest, NewBroker, NewNamespace, PublicJwk, RegistryOptions } from "./registry-types.ts";
import { MemoryTenancyStore, type TenancySnapshot, type TenancyStore } from "./store.ts";
import type { TenancyChange } from "./store-changes.ts";
import { applyRemoteChange } from "./remote-changes.ts";
import { HookDestinations } from "./hook-destinations.ts";
import { deleteScramUser, putScramUser, type ScramUserInfo, scramUserInfo } from "./scram-users.ts";
import { checkAuthType, checkAuthTypes, checkDescription, checkDomain, checkExpiration, checkOnPublish, mergeOnPublish } from "./validate.ts";

/** Most revoked credentials per broker, as Cloudflare limited them. */
export const MAX_REVOCATIONS_PER_BROKER = 10_000;

/**
 * The namespaces and brokers a server hosts, each broker with its keys, its
 * revocations and, once something needs it, its own MQTT {@link Broker}.
 * Runtime-neutral: web-standard APIs only. Changes are serialised, written to
 * the {@link TenancyStore} first, then applied.
 */
export class Registry {
  readonly store: TenancyStore;
  readonly now: () => number;
  readonly domain: string;
  readonly #options: RegistryOptions;
  readonly #hookDestinations: HookDestinations;
  readonly #authTypes: readonly AuthType[];
  readonly #namespaces = new Map<string, NamespaceRecord>();
  // Keyed by `${namespace}/${broker}`.
  readonly #brokers = new Map<string, BrokerState>();
  readonly #tokens: ApiTokens;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  readonly #ceilingRefusals = new Map<string, number>();

  /** A registry over what `snapshot` holds (empty if absent); see {@link Registry.open} to load a store. */
  constructor(options: RegistryOptions = {}, snapshot?: TenancySnapshot) {
    this.#options = options;
    this.#hookDestinations = options.hookDestinations ?? new HookDestinations();
    this.store = options.store ?? new MemoryTenancyStore();
    this.now = options.now ?? Date.now;
    this.domain = checkDomain(options.domain ?? "localhost");
    this.#authTypes = checkAuthTypes(options.authTypes ?? ["TOKEN"]);
    this.#tokens = new ApiTokens(this.store, (fn) => this.#serial(fn), snapshot?.apiTokens ?? []);
    if (snapshot === undefined) return;
    for (const ns of snapshot.namespaces) this.#namespaces.set(ns.name, ns);
    for (const b of snapshot.brokers) this.#brokers.set(key(b.namespace, b.name), { record: b, revocations: new Map(), instance: undefined });
    for (const r of snapshot.revocations) this.#brokers.get(key(r.namespace, r.broker))?.revocations.set(r.jti, r.revoked_at);
  }

  /** Loads a registry from its store (an empty in-memory one when none is given); a shared store's later changes apply as they come. */
  static async open(options: RegistryOptions = {}): Promise<Registry> {
    const store: TenancyStore = options.store ?? new MemoryTenancyStore();
    const registry = new Registry({ ...options, store }, await store.load());
    store.watch?.((change) => registry.#applyRemote(change));
    return registry;
  }

  // ------------------------------------------------------------ namespaces

  /** Every namespace, oldest first. */
  listNamespaces(): NamespaceRecord[] {
    return [...this.#namespaces.values()].sort(byCreation).map((n) => ({ ...n }));
  }

  /** A namespace by name (case-insensitive). */
  getNamespace(name: string): NamespaceRecord {
    return { ...this.#namespace(name) };
  }

  /** Whether a broker exists (names case-insensitive). */
  hasBroker(namespace: string, name: string): boolean {
    const ns = lookupName(namespace), b = lookupName(name);
    return ns !== undefined && b !== undefined && this.#brokers.has(key(ns, b));
  }

  /** Whether a namespace exists. */
  hasNamespace(name: string): boolean {
    const n = lookupName(name);
    return n !== undefined && this.#namespaces.has(n);
  }

  /** Creates a namespace; its name must not be taken (case-insensitive). */
  createNamespace(input: NewNamespace): Promise<NamespaceRecord> {
    return this.#serial(async () => {
      const name = normalizeName("namespace", input.name);
      const description = checkDescription(input.description);
      if (this.#namespaces.has(name)) throw new TenancyError("conflict", `namespace "${name}" already exists`);
      const max = this.#options.maxNamespaces;
      if (max !== undefined && this.#namespaces.size >= max) throw new TenancyError("limit", `this server allows at most ${max} namespaces`);
      const at = timestamp(this.now());
      const record: NamespaceRecord = { id: newId(), name, description, created_on: at, modified_on: at };
      await this.store.putNamespace(record, true);
      this.#namespaces.set(name, record);
      return { ...record };
    });
  }

  /** Deletes an empty namespace; one that still has brokers is refused. */
  deleteNamespace(name: string): Promise<void> {
    return this.#serial(async () => {
      const ns = this.#namespace(name);
      const brokers = this.#brokersOf(ns.name);
      if (brokers.length > 0) {
        throw new TenancyError("not_empty", `namespace "${ns.name}" still has ${brokers.length === 1 ? "a broker" : "brokers"} (${brokers.map((b) => b.record.name).join(", ")}); delete ${brokers.length === 1 ? "it" : "them"} first`);
      }
      await this.store.deleteNamespace(ns.name);
      this.#namespaces.delete(ns.name);
    });
  }

  // --------------------------------------------------------------- brokers

  /** The brokers of a namespace, oldest first. */
  listBrokers(namespace: string): BrokerRecord[] {
    return this.#brokersOf(this.#namespace(namespace).name).map((s) => copy(s.record));
  }

  /** A broker by namespace and name (both case-insensitive). */
  getBroker(namespace: string, name: string): BrokerRecord {
    return copy(this.#state(namespace, name).record);
  }

  /** Creates a broker in a namespace; its name must be free there (another namespace may use it). */
  createBroker(namespace: string, input: NewBroker): Promise<BrokerRecord> {
    return this.#serial(async () => {
      const ns = this.#namespace(namespace);
      const name = normalizeName("broker", input.name);
      const authType = checkAuthType(input.authType ?? "TOKEN", this.#authTypes);
      const description = checkDescription(input.description);
      const expiration = checkExpiration(input.expiration ?? null);
      const on_publish = checkOnPublish(input.on_publish ?? null, this.#hookDestinations);
      const preset = checkPreset(input.preset ?? "full");
      const limits = mergeLimitOverrides(input.limits ?? {});
      this.#refuseAboveCeilings(limits);
      checkLimitsAgree(effectiveLimits(preset, limits, this.#options.defaults?.limits));
      if (this.#brokers.has(key(ns.name, name))) throw new TenancyError("conflict", `broker "${name}" already exists in namespace "${ns.name}"`);
      const max = this.#options.maxBrokersPerNamespace;
      if (max !== undefined && this.#brokersOf(ns.name).length >= max) {
        throw new TenancyError("limit", `namespace "${ns.name}" already has ${max} brokers, the most this server allows`);
      }
      const now = this.now();
      const at = timestamp(now);
      const record: BrokerRecord = {
        id: newId(), name, namespace: ns.name, authType, expiration, description, on_publish, preset, limits,
        created_on: at, modified_on: at, keys: await newKeySet(now),
      };
      await this.store.putBroker(record, true);
      this.#brokers.set(key(ns.name, name), { record, revocations: new Map(), instance: undefined });
      return copy(record);
    });
  }

  /** Changes a broker's description, expiration or on-publish URL (null clears each). */
  updateBroker(namespace: string, name: string, update: BrokerUpdate): Promise<BrokerRecord> {
    return this.#serial(async () => {
      const state = this.#state(namespace, name);
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
      next.modified_on = timestamp(this.now());
      await this.store.putBroker(next);
      state.record = next;
      // A live broker takes the change at once, where MQTT lets it (see Broker.setLimits).
      if (state.instance !== undefined && (update.preset !== undefined || update.limits !== undefined)) {
        state.instance.setLimits(limits);
        state.instance.setFeatures(effectiveFeatures(next.preset, this.#options.defaults?.features));
      }
      this.#options.onBrokerUpdated?.(copy(next), state.instance);
      return copy(next);
    });
  }

  /** Deletes a broker: its clients are disconnected (0x98) and its MQTT instance closed. */
  deleteBroker(namespace: string, name: string): Promise<void> {
    return this.#serial(async () => {
      const state = this.#state(namespace, name);
      const { record } = state;
      await this.store.deleteBroker(record.namespace, record.name);
      this.#brokers.delete(key(record.namespace, record.name));
      if (state.instance !== undefined) {
        state.instance.disconnectClients(() => true, ReasonCode.AdministrativeAction, "the broker was deleted");
        await state.instance.close();
        state.instance = undefined;
      }
      await this.#options.onBrokerDeleted?.(copy(record));
    });
  }

  /**
   * The broker's MQTT instance, created on first use: anonymous clients
   * refused, credentials verified by the token hook (TOKEN and
   * MTLS_AND_TOKEN brokers), each client held to its topicAcl.
   */
  broker(namespace: string, name: string): Broker {
    if (this.#closed) throw new TenancyError("unsupported", "the registry is closed");
    const state = this.#state(namespace, name);
    if (state.instance !== undefined) return state.instance;
    const extras = this.#options.brokerOptions?.(copy(state.record)) ?? {};
    state.instance = createTenantBroker(state, extras, this.now, this.#options.defaults, this.#options.ceilings);
    return state.instance;
  }

  /** A broker's effective limits: the defaults, the server's, its preset's, then its own; brought down to the ceilings. */
  effectiveLimits(record: BrokerRecord): Limits {
    return clampToCeilings(effectiveLimits(record.preset, record.limits, this.#options.defaults?.limits), this.#options.ceilings);
  }

  /** How many limit changes each ceiling refused, by limit name (for /metrics). */
  ceilingRefusals(): ReadonlyMap<string, number> {
    return this.#ceilingRefusals;
  }

  /** The MQTT instances created so far. */
  instances(): Broker[] {
    return [...this.#brokers.values()].flatMap((s) => (s.instance ? [s.instance] : []));
  }

  /** Ticks every MQTT instance (the adapter calls this about once a second). */
  tick(): void {
    for (const b of this.instances()) b.tick();
  }

  /** What a host name shaped `<broker>.<namespace>.<domain>` (any case, with or without a port) names, whether or not it exists. */
  parseHost(host: string): BrokerAddress | undefined {
    const name = host.toLowerCase().replace(/:\d+$/, "").replace(/\.$/, "");
    const suffix = `.${this.domain}`;
    if (!name.endsWith(suffix)) return undefined;
    const labels = name.slice(0, -suffix.length).split(".");
    if (labels.length !== 2) return undefined;
    const [broker, namespace] = labels as [string, string];
    return { namespace, broker };
  }

  /** The broker a host name `<broker>.<namespace>.<domain>` names, if it exists. */
  findByHost(host: string): BrokerAddress | undefined {
    const address = this.parseHost(host);
    return address !== undefined && this.#brokers.has(key(address.namespace, address.broker)) ? address : undefined;
  }

  /** The MQTT endpoint of a broker, as Cloudflare's `endpoint` field gives it. */
  endpoint(record: Pick<BrokerRecord, "name" | "namespace">, port = 8883, scheme = "mqtts"): string {
    return `${scheme}://${record.name}.${record.namespace}.${this.domain}:${port}`;
  }

  // ------------------------------------------------------ keys, credentials

  /** The broker's key set (current and previous signing keys). */
  keys(namespace: string, name: string): KeySet {
    return this.#state(namespace, name).record.keys;
  }

  /** The broker's public keys, newest first, as `/publickeys` serves them. */
  publicKeys(namespace: string, name: string): PublicJwk[] {
    return publicKeys(this.keys(namespace, name));
  }

  /**
   * Rotates the broker's keys: a new key signs from now on, the current one
   * still verifies, the one before it no longer does (credentials it signed
   * are refused at their next CONNECT). Returns the new public keys.
   */
  rotateKeys(namespace: string, name: string): Promise<PublicJwk[]> {
    return this.#serial(() => rotateBrokerKeys(this.store, this.#state(namespace, name), this.now));
  }

  /**
   * Issues credentials (JWTs) for a TOKEN broker: one per given client id,
   * plus generated ones up to `number`; at most 100 in all.
   */
  async issueCredentials(namespace: string, name: string, request: CredentialRequest = {}): Promise<IssuedCredential[]> {
    const state = this.#state(namespace, name);
    return issueBrokerCredentials(state, request, this.now, this.effectiveLimits(state.record).maximumClientIdLength);
  }

  // ------------------------------------------------------------ revocations

  /** The broker's revoked credentials, oldest first. */
  revocations(namespace: string, name: string): Revocation[] {
    return [...this.#state(namespace, name).revocations].map(([jti, revoked_at]) => ({ jti, revoked_at }));
  }

  /** Whether a credential of this broker is revoked. */
  isRevoked(namespace: string, name: string, jti: string): boolean {
    return this.#state(namespace, name).revocations.has(jti);
  }

  /**
   * Revokes credentials by `jti`: refused at CONNECT from now on (0x87), and
   * live sessions using them disconnected at once (DISCONNECT 0x98).
   * Revoking one already revoked keeps its first time. Returns how many
   * clients were disconnected.
   */
  revoke(namespace: string, name: string, jtis: string[]): Promise<number> {
    const max = this.#options.maxRevocationsPerBroker ?? MAX_REVOCATIONS_PER_BROKER;
    return this.#serial(() => revokeCredentials(this.store, this.#state(namespace, name), jtis, max, this.now));
  }

  /** Takes revocations back (an expired credential stays invalid). Unknown `jti`s are ignored. */
  unrevoke(namespace: string, name: string, jtis: string[]): Promise<void> {
    return this.#serial(() => unrevokeCredentials(this.store, this.#state(namespace, name), jtis));
  }

  // ------------------------------------------------------------ API tokens

  /** A broker's SCRAM users (names, iteration counts, mechanisms; never keys). */
  scramUsers(namespace: string, name: string): ScramUserInfo[] {
    return (this.#state(namespace, name).record.scram_users ?? []).map(scramUserInfo);
  }

  /** Adds a SCRAM user to a broker or sets a new password; only salt, iterations, StoredKey and ServerKey are kept. */
  putScramUser(namespace: string, name: string, username: string, password: unknown, iterations?: unknown): Promise<ScramUserInfo> {
    return this.#serial(() => putScramUser(this.store, this.#state(namespace, name), username, password, iterations, this.now));
  }

  /** Removes a broker's SCRAM user. */
  deleteScramUser(namespace: string, name: string, username: string): Promise<void> {
    return this.#serial(() => deleteScramUser(this.store, this.#state(namespace, name), username));
  }

  /** Every admin API token record (hashes, never secrets), oldest first. */
  apiTokens(): ApiTokenRecord[] {
    return this.#tokens.list();
  }

  /** An API token record by id. */
  getApiToken(id: string): ApiTokenRecord {
    return this.#tokens.get(id);
  }

  /** The API token whose secret hashes to `hash`, if any. */
  apiTokenByHash(hash: string): ApiTokenRecord | undefined {
    return this.#tokens.byHash(hash);
  }

  /** Creates or replaces an API token record. */
  putApiToken(record: ApiTokenRecord): Promise<void> {
    return this.#tokens.put(record);
  }

  /**
   * Deletes an API token; it stops working at once. With `keepOne`, refuses
   * to delete the last token it picks (the last Admin for every namespace).
   */
  deleteApiToken(id: string, keepOne?: (t: ApiTokenRecord) => boolean): Promise<void> {
    return this.#tokens.delete(id, keepOne);
  }

  // ------------------------------------------------------------------ close

  /** Closes every MQTT instance and the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    for (const b of this.instances()) await b.close();
    await this.store.close();
  }

  // ---------------------------------------------------------------- private

  // A change from the shared store (another node's, or this one's handed back), after this registry's own changes before it.
  #applyRemote(change: TenancyChange): void {
    const target = { namespaces: this.#namespaces, brokers: this.#brokers, tokens: this.#tokens, options: this.#options, effectiveLimits: (r: BrokerRecord) => this.effectiveLimits(r) };
    void this.#serial(() => applyRemoteChange(target, change)).catch(() => {});
  }

  // A broker's own limits from a request, refused (and counted) above the operator's ceilings.
  #refuseAboveCeilings(given: Record<string, number>): void {
    refuseAboveCeilings(given, this.#options.ceilings, (name) => this.#ceilingRefusals.set(name, (this.#ceilingRefusals.get(name) ?? 0) + 1));
  }

  // Changes run one at a time, so a check and the write it guards cannot interleave with another change.
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new TenancyError("unsupported", "the registry is closed"));
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #namespace(name: string): NamespaceRecord {
    const n = lookupName(name);
    const ns = n === undefined ? undefined : this.#namespaces.get(n);
    if (ns === undefined) throw new TenancyError("not_found", `no namespace "${name}"`);
    return ns;
  }

  #state(namespace: string, name: string): BrokerState {
    const ns = this.#namespace(namespace);
    const b = lookupName(name);
    const state = b === undefined ? undefined : this.#brokers.get(key(ns.name, b));
    if (state === undefined) throw new TenancyError("not_found", `no broker "${name}" in namespace "${ns.name}"`);
    return state;
  }

  #brokersOf(namespace: string): BrokerState[] {
    return [...this.#brokers.values()].filter((s) => s.record.namespace === namespace).sort((a, b) => byCreation(a.record, b.record));
  }
}

function key(namespace: string, broker: string): string {
  return `${namespace}/${broker}`;
}
