import { Broker, type BrokerOptions, clientRulesHook, type Hook, type Limits } from "@edgemq/core";
import { ReasonCode } from "@edgemq/core/codec";
import {
  certificateAuthHook, issueCredential, type IssuedCredential, JTI_ATTRIBUTE, type KeySet, MAX_CREDENTIALS_PER_CALL,
  newKeySet, parseTopicAcl, publicKeys, rotateKeySet, tokenAuthHook, TopicAclError,
} from "@edgemq/credentials";
import { checkLimitsAgree, checkPreset, effectiveFeatures, effectiveLimits, type LimitOverrides, mergeLimitOverrides, type Preset } from "./broker-limits.ts";
import { TenancyError } from "./errors.ts";
import { newId, timestamp } from "./ids.ts";
import { lookupName, normalizeName } from "./names.ts";
import { type ApiTokenRecord, AUTH_TYPES, type AuthType, type BrokerRecord, type NamespaceRecord, type Revocation } from "./records.ts";
import { MemoryTenancyStore, type TenancySnapshot, type TenancyStore } from "./store.ts";

/** Most revoked credentials per broker, as Cloudflare limited them. */
export const MAX_REVOCATIONS_PER_BROKER = 10_000;
/** Longest description of a namespace or broker (characters). */
export const MAX_DESCRIPTION_LENGTH = 1024;
/** Longest client id a credential is issued for (characters). */
export const MAX_CREDENTIAL_CLIENT_ID_LENGTH = 256;
/** Longest `jti` accepted for revocation (characters). */
export const MAX_JTI_LENGTH = 128;

/** A public key as `/publickeys` serves it. */
export type PublicJwk = ReturnType<typeof publicKeys>[number];

/** What a broker's MQTT instance is built with besides its name, clock and authentication: limits, features, a store, more hooks (run after the auth and topicAcl hooks). */
export type BrokerExtras = Omit<BrokerOptions, "name" | "now" | "allowAnonymous">;

/** How to build a registry. */
export interface RegistryOptions {
  /** Where records live; an in-memory store when absent. */
  store?: TenancyStore;
  /** The clock (ms since the epoch); Date.now when absent. */
  now?: () => number;
  /** Brokers are `<broker>.<namespace>.<domain>`; `localhost` when absent. */
  domain?: string;
  /** Most namespaces (no limit when absent; Cloudflare allowed 3). */
  maxNamespaces?: number;
  /** Most brokers per namespace (no limit when absent; Cloudflare allowed 3). */
  maxBrokersPerNamespace?: number;
  /** Most revocations per broker; {@link MAX_REVOCATIONS_PER_BROKER} when absent. */
  maxRevocationsPerBroker?: number;
  /**
   * Auth types brokers may be created with. Only TOKEN by default: MTLS
   * needs client certificates, which a server enables once it can verify them.
   */
  authTypes?: readonly AuthType[];
  /** Extra options for each broker's MQTT instance, when it is first needed. */
  brokerOptions?(broker: BrokerRecord): BrokerExtras;
  /** What every broker's limits and features start from, before its preset and its own limits (a server passes its flags and config file). */
  defaults?: { limits?: BrokerOptions["limits"]; features?: BrokerOptions["features"] };
  /** Called after a broker's record changed (its on-publish hook, say), with its MQTT instance if it has one. */
  onBrokerUpdated?(broker: BrokerRecord, instance: Broker | undefined): void;
  /** Called once a deleted broker's MQTT instance is closed, to drop what its store kept. */
  onBrokerDeleted?(broker: BrokerRecord): void | Promise<void>;
}

/** A namespace to create. */
export interface NewNamespace {
  name: string;
  description?: string | null;
}

/** A broker to create; authType defaults to TOKEN. */
export interface NewBroker {
  name: string;
  authType?: AuthType;
  description?: string | null;
  expiration?: number | null;
  on_publish?: { url: string | null; fail_open?: boolean } | null;
  /** `full` (default) or `cloudflare`. */
  preset?: Preset;
  /** Its own limits by API name (`max_message_size`...). */
  limits?: LimitOverrides | null;
}

/** A change to a broker: absent fields stay, null clears. */
export interface BrokerUpdate {
  description?: string | null;
  expiration?: number | null;
  /** `{fail_open}` alone keeps the URL. */
  on_publish?: { url?: string | null; fail_open?: boolean } | null;
  /** A new preset; its limits apply under the broker's own. */
  preset?: Preset;
  /** Limits to set (merged with those set before); a null limit returns to the preset's; null clears them all. */
  limits?: LimitOverrides | null;
}

/** Credentials to issue. */
export interface CredentialRequest {
  /** How many (default 1, at most 100); given client ids count toward it, and more are generated up to it. */
  number?: number;
  /** Client ids to issue for (the `sub` claim). */
  clientIds?: string[];
  /** Lifetime in seconds; the broker's expiration wins if shorter; -1 for none at all. */
  expiration?: number;
  /** The topic rights (see the credentials package); absent or empty means `#`. */
  topicAcl?: unknown;
}

/** Where a host name `<broker>.<namespace>.<domain>` leads. */
export interface BrokerAddress {
  namespace: string;
  broker: string;
}

interface BrokerState {
  record: BrokerRecord;
  revocations: Map<string, string>;
  instance: Broker | undefined;
}

const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const JTI = /^[\x21-\x2b\x2d-\x7e]+$/; // printable ASCII without space or comma

const invalid = (message: string) => new TenancyError("invalid", message);

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
  readonly #authTypes: readonly AuthType[];
  readonly #namespaces = new Map<string, NamespaceRecord>();
  // Keyed by `${namespace}/${broker}`.
  readonly #brokers = new Map<string, BrokerState>();
  readonly #tokens = new Map<string, ApiTokenRecord>();
  readonly #tokenIdByHash = new Map<string, string>();
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  /** A registry over what `snapshot` holds (empty if absent); see {@link Registry.open} to load a store. */
  constructor(options: RegistryOptions = {}, snapshot?: TenancySnapshot) {
    this.#options = options;
    this.store = options.store ?? new MemoryTenancyStore();
    this.now = options.now ?? Date.now;
    this.domain = checkDomain(options.domain ?? "localhost");
    this.#authTypes = options.authTypes ?? ["TOKEN"];
    for (const t of this.#authTypes) if (!AUTH_TYPES.includes(t)) throw invalid(`unknown auth type "${t}"; use ${AUTH_TYPES.join(", ")}`);
    if (snapshot === undefined) return;
    for (const ns of snapshot.namespaces) this.#namespaces.set(ns.name, ns);
    for (const b of snapshot.brokers) this.#brokers.set(key(b.namespace, b.name), { record: b, revocations: new Map(), instance: undefined });
    for (const r of snapshot.revocations) this.#brokers.get(key(r.namespace, r.broker))?.revocations.set(r.jti, r.revoked_at);
    for (const t of snapshot.apiTokens) this.#addToken(t);
  }

  /** Loads a registry from its store (an empty in-memory one when none is given). */
  static async open(options: RegistryOptions = {}): Promise<Registry> {
    const store = options.store ?? new MemoryTenancyStore();
    return new Registry({ ...options, store }, await store.load());
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
      await this.store.putNamespace(record);
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
      const authType = this.#checkAuthType(input.authType ?? "TOKEN");
      const description = checkDescription(input.description);
      const expiration = checkExpiration(input.expiration ?? null);
      const on_publish = checkOnPublish(input.on_publish ?? null);
      const preset = checkPreset(input.preset ?? "full");
      const limits = mergeLimitOverrides(input.limits ?? {});
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
      await this.store.putBroker(record);
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
      if (update.on_publish !== undefined) next.on_publish = checkOnPublish(mergeOnPublish(state.record.on_publish, update.on_publish));
      if (update.preset !== undefined) next.preset = checkPreset(update.preset);
      if (update.limits !== undefined) next.limits = mergeLimitOverrides(update.limits, next.limits);
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
    const { record } = state;
    const audience = `${record.name}.${record.namespace}`;
    const extras = this.#options.brokerOptions?.(copy(record)) ?? {};
    const token = tokenAuthHook({
      audience,
      keys: () => state.record.keys,
      isRevoked: (jti) => state.revocations.has(jti),
      now: this.now,
    });
    const hooks: Hook[] = [
      record.authType === "TOKEN" ? token : certificateAuthHook(record.authType === "MTLS_AND_TOKEN" ? token : undefined),
    ];
    hooks.push(clientRulesHook(), ...(extras.hooks ?? []));
    // The registry's defaults and the extras' limits and features are the base under the broker's preset and own limits.
    const defaults = this.#options.defaults;
    const limits = effectiveLimits(record.preset, record.limits, { ...extras.limits, ...defaults?.limits });
    const features = effectiveFeatures(record.preset, { ...extras.features, ...defaults?.features });
    state.instance = new Broker({ ...extras, limits, features, now: this.now, name: audience, allowAnonymous: false, hooks });
    return state.instance;
  }

  /** A broker's effective limits: the defaults, the server's, its preset's, then its own. */
  effectiveLimits(record: BrokerRecord): Limits {
    return effectiveLimits(record.preset, record.limits, this.#options.defaults?.limits);
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
    return this.#serial(async () => {
      const state = this.#state(namespace, name);
      const next: BrokerRecord = { ...state.record, keys: await rotateKeySet(state.record.keys, this.now()) };
      await this.store.putBroker(next);
      state.record = next;
      return publicKeys(next.keys);
    });
  }

  /**
   * Issues credentials (JWTs) for a TOKEN broker: one per given client id,
   * plus generated ones up to `number`; at most 100 in all.
   */
  async issueCredentials(namespace: string, name: string, request: CredentialRequest = {}): Promise<IssuedCredential[]> {
    const { record } = this.#state(namespace, name);
    if (record.authType === "MTLS") {
      throw new TenancyError("unsupported", `broker "${record.name}" authenticates clients by certificate only (auth type MTLS); it issues no tokens`);
    }
    const number = request.number ?? 1;
    if (!Number.isSafeInteger(number) || number < 1 || number > MAX_CREDENTIALS_PER_CALL) {
      throw invalid(`number must be an integer from 1 to ${MAX_CREDENTIALS_PER_CALL}`);
    }
    const clientIds = request.clientIds ?? [];
    for (const id of clientIds) checkClientId(id);
    const seen = new Set<string>();
    for (const id of clientIds) {
      if (seen.has(id)) throw invalid(`client id "${id}" is given twice`);
      seen.add(id);
    }
    const total = Math.max(number, clientIds.length);
    if (total > MAX_CREDENTIALS_PER_CALL) throw invalid(`at most ${MAX_CREDENTIALS_PER_CALL} credentials are issued per call, not ${total}`);
    const expiration = request.expiration;
    if (expiration !== undefined && expiration !== -1 && (!Number.isSafeInteger(expiration) || expiration < 1)) {
      throw invalid("expiration must be a whole number of seconds of at least 1, or -1 for credentials that never expire");
    }
    try {
      parseTopicAcl(request.topicAcl);
    } catch (e) {
      if (e instanceof TopicAclError) throw invalid(e.message);
      throw e;
    }
    const now = this.now();
    const audience = `${record.name}.${record.namespace}`;
    const out: IssuedCredential[] = [];
    for (let i = 0; i < total; i++) {
      out.push(await issueCredential(record.keys, {
        clientId: clientIds[i], audience, brokerExpiration: record.expiration, expiration, topicAcl: request.topicAcl, now,
      }));
    }
    return out;
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
    return this.#serial(async () => {
      const state = this.#state(namespace, name);
      const wanted = checkJtis(jtis);
      const fresh = wanted.filter((j) => !state.revocations.has(j));
      const max = this.#options.maxRevocationsPerBroker ?? MAX_REVOCATIONS_PER_BROKER;
      if (state.revocations.size + fresh.length > max) {
        throw new TenancyError("limit", `broker "${state.record.name}" can hold at most ${max} revocations; it has ${state.revocations.size} and this adds ${fresh.length}`);
      }
      const revoked_at = timestamp(this.now());
      if (fresh.length > 0) await this.store.putRevocations(state.record.namespace, state.record.name, fresh.map((jti) => ({ jti, revoked_at })));
      for (const jti of fresh) state.revocations.set(jti, revoked_at);
      const set = new Set(wanted);
      return state.instance?.disconnectClients(
        (c) => set.has(c.attributes[JTI_ATTRIBUTE] as string), ReasonCode.AdministrativeAction, "the credential was revoked",
      ) ?? 0;
    });
  }

  /** Takes revocations back (an expired credential stays invalid). Unknown `jti`s are ignored. */
  unrevoke(namespace: string, name: string, jtis: string[]): Promise<void> {
    return this.#serial(async () => {
      const state = this.#state(namespace, name);
      const present = checkJtis(jtis).filter((j) => state.revocations.has(j));
      if (present.length > 0) await this.store.deleteRevocations(state.record.namespace, state.record.name, present);
      for (const jti of present) state.revocations.delete(jti);
    });
  }

  // ------------------------------------------------------------ API tokens

  /** Every admin API token record (hashes, never secrets), oldest first. */
  apiTokens(): ApiTokenRecord[] {
    return [...this.#tokens.values()].sort(byCreation).map(copyToken);
  }

  /** An API token record by id. */
  getApiToken(id: string): ApiTokenRecord {
    const t = this.#tokens.get(id);
    if (t === undefined) throw new TenancyError("not_found", `no API token with id "${id}"`);
    return copyToken(t);
  }

  /** The API token whose secret hashes to `hash`, if any. */
  apiTokenByHash(hash: string): ApiTokenRecord | undefined {
    const id = this.#tokenIdByHash.get(hash);
    return id === undefined ? undefined : copyToken(this.#tokens.get(id)!);
  }

  /** Creates or replaces an API token record. */
  putApiToken(record: ApiTokenRecord): Promise<void> {
    return this.#serial(async () => {
      const other = this.#tokenIdByHash.get(record.hash);
      if (other !== undefined && other !== record.id) throw new TenancyError("conflict", "another API token has the same secret");
      await this.store.putApiToken(record);
      const old = this.#tokens.get(record.id);
      if (old) this.#tokenIdByHash.delete(old.hash);
      this.#addToken(copyToken(record));
    });
  }

  /**
   * Deletes an API token; it stops working at once. With `keepOne`, refuses
   * to delete the last token it picks (the last Admin for every namespace).
   */
  deleteApiToken(id: string, keepOne?: (t: ApiTokenRecord) => boolean): Promise<void> {
    return this.#serial(async () => {
      const t = this.#tokens.get(id);
      if (t === undefined) throw new TenancyError("not_found", `no API token with id "${id}"`);
      if (keepOne?.(t) && [...this.#tokens.values()].filter(keepOne).length === 1) {
        throw new TenancyError("conflict", `API token "${t.name}" is the last of its kind (an Admin for every namespace); create another before deleting it`);
      }
      await this.store.deleteApiToken(id);
      this.#tokens.delete(id);
      this.#tokenIdByHash.delete(t.hash);
    });
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

  #checkAuthType(value: unknown): AuthType {
    const t = typeof value === "string" ? value.toUpperCase() : value;
    if (!AUTH_TYPES.includes(t as AuthType)) throw invalid(`authType must be one of ${AUTH_TYPES.join(", ")}, not ${JSON.stringify(value)}`);
    if (!this.#authTypes.includes(t as AuthType)) {
      const why = String(t).startsWith("MTLS") ? ": client certificates need a TLS listener that verifies them against a configured CA" : "";
      throw new TenancyError("unsupported", `auth type ${String(t)} is not enabled on this server (it accepts ${this.#authTypes.join(", ")})${why}`);
    }
    return t as AuthType;
  }

  #addToken(t: ApiTokenRecord): void {
    this.#tokens.set(t.id, t);
    this.#tokenIdByHash.set(t.hash, t.id);
  }
}

function key(namespace: string, broker: string): string {
  return `${namespace}/${broker}`;
}

function byCreation(a: { created_on: string; name: string }, b: { created_on: string; name: string }): number {
  return a.created_on < b.created_on ? -1 : a.created_on > b.created_on ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function copy(r: BrokerRecord): BrokerRecord {
  return { ...r, on_publish: r.on_publish && { ...r.on_publish }, ...(r.limits ? { limits: { ...r.limits } } : {}) };
}

function copyToken(t: ApiTokenRecord): ApiTokenRecord {
  return { ...t, namespaces: t.namespaces === "*" ? "*" : [...t.namespaces] };
}

function checkDomain(domain: string): string {
  const d = domain.toLowerCase().replace(/\.$/, "");
  if (!DOMAIN.test(d)) throw invalid(`domain "${domain}" is not a DNS name such as "pubsub.example.com"`);
  return d;
}

function checkDescription(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw invalid(`description must be a string, not ${typeof value}`);
  if (value.length > MAX_DESCRIPTION_LENGTH) throw invalid(`description is ${value.length} characters long; at most ${MAX_DESCRIPTION_LENGTH}`);
  return value;
}

function checkExpiration(value: unknown): number | null {
  if (value === null) return null;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw invalid(`expiration must be a whole number of seconds of at least 1, or null for none; got ${JSON.stringify(value)}`);
  }
  return value;
}

// An update's on_publish over the current one: `{fail_open}` alone keeps the URL.
function mergeOnPublish(current: BrokerRecord["on_publish"], update: NonNullable<BrokerUpdate["on_publish"]> | null): unknown {
  if (update === null || typeof update !== "object" || "url" in update) return update;
  if (current === null) throw invalid("on_publish.fail_open needs a hook: give on_publish.url too");
  return { ...current, ...update };
}

function checkOnPublish(value: unknown): { url: string; fail_open: boolean } | null {
  if (value === null) return null;
  if (typeof value !== "object" || Array.isArray(value)) throw invalid(`on_publish must be an object {"url": "https://..."} or null`);
  const url = (value as { url?: unknown }).url;
  if (url === null || url === undefined || url === "") return null;
  if (typeof url !== "string") throw invalid("on_publish.url must be a string, or null to remove the hook");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(`on_publish.url "${url}" is not a URL`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw invalid(`on_publish.url "${url}" must be an https:// (or http://) URL`);
  const failOpen = (value as { fail_open?: unknown }).fail_open ?? false;
  if (typeof failOpen !== "boolean") throw invalid(`on_publish.fail_open must be true or false, not ${JSON.stringify(failOpen)}`);
  return { url, fail_open: failOpen };
}

function checkClientId(id: unknown): void {
  if (typeof id !== "string" || id === "") throw invalid("a client id must be a non-empty string");
  if (id.length > MAX_CREDENTIAL_CLIENT_ID_LENGTH) throw invalid(`client id "${id.slice(0, 32)}…" is longer than ${MAX_CREDENTIAL_CLIENT_ID_LENGTH} characters`);
  if (/[\u0000-\u001f\u007f]/.test(id)) throw invalid(`client id ${JSON.stringify(id)} contains control characters`);
}

function checkJtis(jtis: string[]): string[] {
  if (jtis.length === 0) throw invalid("give at least one jti");
  for (const jti of jtis) {
    if (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_JTI_LENGTH || !JTI.test(jti)) {
      throw invalid(`jti ${JSON.stringify(jti)} is not a credential id (printable ASCII without spaces or commas, at most ${MAX_JTI_LENGTH} characters)`);
    }
  }
  return [...new Set(jtis)];
}
