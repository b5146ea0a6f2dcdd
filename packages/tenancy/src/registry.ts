import type { Broker, Limits } from "@edgemq/core";
import { type IssuedCredential, type KeySet, publicKeys } from "@edgemq/credentials";
import { ApiTokens } from "./api-tokens.ts";
import { issueBrokerCredentials, revokeCredentials, rotateBrokerKeys, unrevokeCredentials } from "./broker-credentials.ts";
import { BrokerDirectory, brokerKey as key, parseBrokerHost } from "./broker-directory.ts";
import { createTenantBroker } from "./broker-factory.ts";
import { TenancyError } from "./errors.ts";
import { copyBroker as copy } from "./record-copies.ts";
import type { ApiTokenRecord, BrokerRecord, NamespaceRecord, Revocation } from "./records.ts";
import type { BrokerAddress, BrokerUpdate, CredentialRequest, NewBroker, NewNamespace, PublicJwk, RegistryOptions } from "./registry-types.ts";
import { MemoryTenancyStore, type TenancySnapshot, type TenancyStore } from "./store.ts";
import type { TenancyChange } from "./store-changes.ts";
import { applyRemoteChange } from "./remote-changes.ts";
import { HookDestinations } from "./hook-destinations.ts";
import { deleteScramUser, putScramUser, type ScramUserInfo, scramUserInfo } from "./scram-users.ts";
import { checkAuthTypes, checkDomain } from "./validate.ts";

/** Most revoked credentials per broker, as Cloudflare limited them. */
export const MAX_REVOCATIONS_PER_BROKER = 10_000;

/**
 * The namespaces and brokers a server hosts, each broker with its keys, its
 * revocations and, once something needs it, its own MQTT {@link Broker}.
 * Runtime-neutral: web-standard APIs only. Changes are serialised, written to
 * the {@link TenancyStore} first, then applied. The records of namespaces and
 * brokers and their changes are a {@link BrokerDirectory}'s; this class runs
 * those changes one at a time and owns the rest.
 */
export class Registry {
  readonly store: TenancyStore;
  readonly now: () => number;
  readonly domain: string;
  readonly #options: RegistryOptions;
  readonly #directory: BrokerDirectory;
  readonly #tokens: ApiTokens;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  /** A registry over what `snapshot` holds (empty if absent); see {@link Registry.open} to load a store. */
  constructor(options: RegistryOptions = {}, snapshot?: TenancySnapshot) {
    this.#options = options;
    const hookDestinations = options.hookDestinations ?? new HookDestinations();
    this.store = options.store ?? new MemoryTenancyStore();
    this.now = options.now ?? Date.now;
    this.domain = checkDomain(options.domain ?? "localhost");
    const authTypes = checkAuthTypes(options.authTypes ?? ["TOKEN"]);
    this.#tokens = new ApiTokens(this.store, (fn) => this.#serial(fn), snapshot?.apiTokens ?? []);
    this.#directory = new BrokerDirectory(this.store, this.now, options, hookDestinations, authTypes, snapshot);
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
    return this.#directory.listNamespaces();
  }

  /** A namespace by name (case-insensitive). */
  getNamespace(name: string): NamespaceRecord {
    return this.#directory.getNamespace(name);
  }

  /** Whether a broker exists (names case-insensitive). */
  hasBroker(namespace: string, name: string): boolean {
    return this.#directory.hasBroker(namespace, name);
  }

  /** Whether a namespace exists. */
  hasNamespace(name: string): boolean {
    return this.#directory.hasNamespace(name);
  }

  /** Creates a namespace; its name must not be taken (case-insensitive). */
  createNamespace(input: NewNamespace): Promise<NamespaceRecord> {
    return this.#serial(() => this.#directory.createNamespace(input));
  }

  /** Deletes an empty namespace; one that still has brokers is refused. */
  deleteNamespace(name: string): Promise<void> {
    return this.#serial(() => this.#directory.deleteNamespace(name));
  }

  // --------------------------------------------------------------- brokers

  /** The brokers of a namespace, oldest first. */
  listBrokers(namespace: string): BrokerRecord[] {
    return this.#directory.listBrokers(namespace);
  }

  /** A broker by namespace and name (both case-insensitive). */
  getBroker(namespace: string, name: string): BrokerRecord {
    return this.#directory.getBroker(namespace, name);
  }

  /** Creates a broker in a namespace; its name must be free there (another namespace may use it). */
  createBroker(namespace: string, input: NewBroker): Promise<BrokerRecord> {
    return this.#serial(() => this.#directory.createBroker(namespace, input));
  }

  /** Changes a broker's description, expiration or on-publish URL (null clears each). */
  updateBroker(namespace: string, name: string, update: BrokerUpdate): Promise<BrokerRecord> {
    return this.#serial(() => this.#directory.updateBroker(namespace, name, update));
  }

  /** Deletes a broker: its clients are disconnected (0x98) and its MQTT instance closed. */
  deleteBroker(namespace: string, name: string): Promise<void> {
    return this.#serial(() => this.#directory.deleteBroker(namespace, name));
  }

  /**
   * The broker's MQTT instance, created on first use: anonymous clients
   * refused, credentials verified by the token hook (TOKEN and
   * MTLS_AND_TOKEN brokers), each client held to its topicAcl.
   */
  broker(namespace: string, name: string): Broker {
    if (this.#closed) throw new TenancyError("unsupported", "the registry is closed");
    const state = this.#directory.state(namespace, name);
    if (state.instance !== undefined) return state.instance;
    const extras = this.#options.brokerOptions?.(copy(state.record)) ?? {};
    state.instance = createTenantBroker(state, extras, this.now, this.#options.defaults, this.#options.ceilings);
    return state.instance;
  }

  /** A broker's effective limits: the defaults, the server's, its preset's, then its own; brought down to the ceilings. */
  effectiveLimits(record: BrokerRecord): Limits {
    return this.#directory.effectiveLimits(record);
  }

  /** How many limit changes each ceiling refused, by limit name (for /metrics). */
  ceilingRefusals(): ReadonlyMap<string, number> {
    return this.#directory.ceilingRefusals;
  }

  /** The MQTT instances created so far. */
  instances(): Broker[] {
    return [...this.#directory.brokers.values()].flatMap((s) => (s.instance ? [s.instance] : []));
  }

  /** Ticks every MQTT instance (the adapter calls this about once a second). */
  tick(): void {
    for (const b of this.instances()) b.tick();
  }

  /** What a host name shaped `<broker>.<namespace>.<domain>` (any case, with or without a port) names, whether or not it exists. */
  parseHost(host: string): BrokerAddress | undefined {
    return parseBrokerHost(host, this.domain);
  }

  /** The broker a host name `<broker>.<namespace>.<domain>` names, if it exists. */
  findByHost(host: string): BrokerAddress | undefined {
    const address = this.parseHost(host);
    return address !== undefined && this.#directory.brokers.has(key(address.namespace, address.broker)) ? address : undefined;
  }

  /** The MQTT endpoint of a broker, as Cloudflare's `endpoint` field gives it. */
  endpoint(record: Pick<BrokerRecord, "name" | "namespace">, port = 8883, scheme = "mqtts"): string {
    return `${scheme}://${record.name}.${record.namespace}.${this.domain}:${port}`;
  }

  // ------------------------------------------------------ keys, credentials

  /** The broker's key set (current and previous signing keys). */
  keys(namespace: string, name: string): KeySet {
    return this.#directory.state(namespace, name).record.keys;
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
    return this.#serial(() => rotateBrokerKeys(this.store, this.#directory.state(namespace, name), this.now));
  }

  /**
   * Issues credentials (JWTs) for a TOKEN broker: one per given client id,
   * plus generated ones up to `number`; at most 100 in all.
   */
  async issueCredentials(namespace: string, name: string, request: CredentialRequest = {}): Promise<IssuedCredential[]> {
    const state = this.#directory.state(namespace, name);
    return issueBrokerCredentials(state, request, this.now, this.effectiveLimits(state.record).maximumClientIdLength);
  }

  // ------------------------------------------------------------ revocations

  /** The broker's revoked credentials, oldest first. */
  revocations(namespace: string, name: string): Revocation[] {
    return [...this.#directory.state(namespace, name).revocations].map(([jti, revoked_at]) => ({ jti, revoked_at }));
  }

  /** Whether a credential of this broker is revoked. */
  isRevoked(namespace: string, name: string, jti: string): boolean {
    return this.#directory.state(namespace, name).revocations.has(jti);
  }

  /**
   * Revokes credentials by `jti`: refused at CONNECT from now on (0x87), and
   * live sessions using them disconnected at once (DISCONNECT 0x98).
   * Revoking one already revoked keeps its first time. Returns how many
   * clients were disconnected.
   */
  revoke(namespace: string, name: string, jtis: string[]): Promise<number> {
    const max = this.#options.maxRevocationsPerBroker ?? MAX_REVOCATIONS_PER_BROKER;
    return this.#serial(() => revokeCredentials(this.store, this.#directory.state(namespace, name), jtis, max, this.now));
  }

  /** Takes revocations back (an expired credential stays invalid). Unknown `jti`s are ignored. */
  unrevoke(namespace: string, name: string, jtis: string[]): Promise<void> {
    return this.#serial(() => unrevokeCredentials(this.store, this.#directory.state(namespace, name), jtis));
  }

  // ------------------------------------------------------------ API tokens

  /** A broker's SCRAM users (names, iteration counts, mechanisms; never keys). */
  scramUsers(namespace: string, name: string): ScramUserInfo[] {
    return (this.#directory.state(namespace, name).record.scram_users ?? []).map(scramUserInfo);
  }

  /** Adds a SCRAM user to a broker or sets a new password; only salt, iterations, StoredKey and ServerKey are kept. */
  putScramUser(namespace: string, name: string, username: string, password: unknown, iterations?: unknown): Promise<ScramUserInfo> {
    return this.#serial(() => putScramUser(this.store, this.#directory.state(namespace, name), username, password, iterations, this.now));
  }

  /** Removes a broker's SCRAM user. */
  deleteScramUser(namespace: string, name: string, username: string): Promise<void> {
    return this.#serial(() => deleteScramUser(this.store, this.#directory.state(namespace, name), username));
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
    const target = { namespaces: this.#directory.namespaces, brokers: this.#directory.brokers, tokens: this.#tokens, options: this.#options, effectiveLimits: (r: BrokerRecord) => this.effectiveLimits(r) };
    void this.#serial(() => applyRemoteChange(target, change)).catch(() => {});
  }

  // Changes run one at a time, so a check and the write it guards cannot interleave with another change.
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new TenancyError("unsupported", "the registry is closed"));
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
