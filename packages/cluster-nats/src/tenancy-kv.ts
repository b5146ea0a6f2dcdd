import { type ApiTokenRecord, type BrokerRecord, type NamespaceRecord, type Revocation, type TenancyChange, type TenancySnapshot, type TenancyStore, TenancyError } from "@edgemq/tenancy";
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import { lostRace, whileNotServed } from "./kv-cas.ts";
import { type KV, type KvEntry, type KvWatchEntry, Kvm } from "@nats-io/kv";
import { headers, type NatsConnection, type QueuedIterator } from "@nats-io/transport-node";
import { parseTenancyKey, revocationsFilter, tenancyKey } from "./tenancy-keys.ts";

/** The KV bucket that holds the tenancy of the cluster under `root` (`EDGEMQ_TENANCY`). */
export function tenancyBucketName(root: string): string {
  return `${root.replace(/[^A-Za-z0-9_-]/g, "_").toUpperCase()}_TENANCY`;
}

/** How many copies JetStream keeps: three, or as many NATS servers as the cluster has when fewer (their client URLs, as the server gossips them). */
export function tenancyReplicas(nc: NatsConnection): number {
  return Math.min(3, Math.max(1, nc.info?.connect_urls?.length ?? 1));
}

const encoder = new TextEncoder();
// How long a node waits for the bucket's records at start before it gives up.
const LOAD_BOUND_MS = 10_000;

/**
 * The cluster's tenancy (namespaces, brokers with their keys, limits, presets,
 * hooks and SCRAM users, revocations, admin API tokens) in a JetStream KV
 * bucket shared by every node, one key per record (see tenancy-keys.ts). One
 * watch reads it all at {@link load} and then hands every change, by any
 * node, to the registry ({@link watch}). KV, history 1 and ordered push
 * consumers are all nats-server 2.9.
 */
export class KvTenancyStore implements TenancyStore {
  readonly name: string;
  readonly durable = true;
  readonly bucket: string;
  readonly replicas: number;
  readonly #kv: KV;
  readonly #js: JetStreamClient;
  #watcher: QueuedIterator<KvWatchEntry> | undefined;
  #listener: ((change: TenancyChange) => void) | undefined;
  readonly #early: TenancyChange[] = [];
  // The revision of this process's last write of each key: an older entry handed back later is stale.
  readonly #written = new Map<string, number>();
  readonly #log: (text: string) => void;
  readonly #nc: NatsConnection;
  // The newest revision this process knows of each key (its own writes and the watch's):
  // a change of an existing record is written only over that revision (compare-and-set).
  readonly #known = new Map<string, number>();
  // The highest revision the watch handed over: where a new watch resumes.
  #revision = 0;
  #closed = false;

  private constructor(kv: KV, nc: NatsConnection, bucket: string, replicas: number, log: (text: string) => void) {
    this.#kv = kv;
    this.#js = jetstream(nc);
    this.#nc = nc;
    this.bucket = bucket;
    this.replicas = replicas;
    this.name = `nats kv ${bucket}`;
    this.#log = log;
  }

  /** Opens (creating when missing, with `replicas` copies) the tenancy bucket of the cluster under `root`; `log` hears of records it cannot read. */
  static async open(nc: NatsConnection, root: string, log: (text: string) => void = () => {}, replicas = tenancyReplicas(nc)): Promise<KvTenancyStore> {
    const bucket = tenancyBucketName(root);
    const options = { history: 1, replicas, description: "edgemq tenancy: namespaces, brokers, revocations, admin API tokens" };
    // Two nodes starting at once may both create it: the second try opens the first's.
    const kv = await new Kvm(nc).create(bucket, options).catch(() => new Kvm(nc).create(bucket, options));
    return new KvTenancyStore(kv, nc, bucket, replicas, log);
  }

  /** Reads every record through a watch that then goes on with the changes. */
  async load(): Promise<TenancySnapshot> {
    const { values } = await this.#kv.status();
    const initial = new Map<string, KvWatchEntry>();
    let loading = values > 0;
    let caughtUp!: () => void;
    const ready = new Promise<void>((resolve) => (caughtUp = resolve));
    if (!loading) caughtUp();
    this.#follow(await this.#kv.watch(), (entry) => {
      if (!loading) return false;
      initial.set(entry.key, entry);
      // No message left behind this one: the last record of the bucket's state at the start.
      if (entry.delta === 0) (loading = false, caughtUp());
      return true;
    });
    void this.#rewatchOnReconnect(() => !loading);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the tenancy bucket ${this.bucket} could not be read within ${LOAD_BOUND_MS / 1000} s`)), LOAD_BOUND_MS);
    });
    await Promise.race([ready, bound]).finally(() => clearTimeout(timer));
    return snapshotOf([...initial.values()].filter((e) => e.operation === "PUT"), this.#log);
  }

  /** Hands every change after {@link load} to `onChange` (those seen before this call first). */
  watch(onChange: (change: TenancyChange) => void): void {
    this.#listener = onChange;
    for (const change of this.#early.splice(0)) onChange(change);
  }

  /** Whether the bucket holds no record at all. */
  async isEmpty(): Promise<boolean> {
    return (await this.#kv.status()).values === 0;
  }

  /** Sets `meta.seeded` unless it is set: true for the one node that may seed the bucket. */
  async claimSeeding(by: string): Promise<boolean> {
    return this.#kv.create(tenancyKey({ kind: "meta", name: "seeded" }), by).then(() => true, () => false);
  }

  putNamespace(record: NamespaceRecord, create = false): Promise<void> {
    return this.#put(tenancyKey({ kind: "namespace", name: record.name }), JSON.stringify(record), create ? `namespace "${record.name}"` : undefined);
  }

  deleteNamespace(name: string): Promise<void> {
    return this.#delete(tenancyKey({ kind: "namespace", name }));
  }

  putBroker(record: BrokerRecord, create = false): Promise<void> {
    return this.#put(tenancyKey({ kind: "broker", namespace: record.namespace, name: record.name }), JSON.stringify(record), create ? `broker "${record.name}" in namespace "${record.namespace}"` : undefined, `broker "${record.name}"`);
  }

  async deleteBroker(namespace: string, name: string): Promise<void> {
    await this.#delete(tenancyKey({ kind: "broker", namespace, name }));
    // Its revocations go after it: a node that sees them go has already dropped the broker.
    await this.#kv.delete(revocationsFilter(namespace, name));
  }

  async putRevocations(namespace: string, broker: string, revocations: Revocation[]): Promise<void> {
    await inBatches(revocations, (r) => this.#put(tenancyKey({ kind: "revocation", namespace, broker, jti: r.jti }), r.revoked_at));
  }

  async deleteRevocations(namespace: string, broker: string, jtis: string[]): Promise<void> {
    await inBatches(jtis, (jti) => this.#delete(tenancyKey({ kind: "revocation", namespace, broker, jti })));
  }

  putApiToken(record: ApiTokenRecord): Promise<void> {
    return this.#put(tenancyKey({ kind: "apiToken", id: record.id }), JSON.stringify(record));
  }

  deleteApiToken(id: string): Promise<void> {
    return this.#delete(tenancyKey({ kind: "apiToken", id }));
  }

  /** Stops watching (the NATS connection is the link's). */
  close(): void {
    this.#closed = true;
    this.#listener = undefined;
    this.#watcher?.stop();
  }

  // Hands a watch's entries on (to `take` first, while it wants them), until another watch replaces it.
  #follow(watcher: QueuedIterator<KvWatchEntry>, take: (entry: KvWatchEntry) => boolean = () => false): void {
    this.#watcher = watcher;
    void (async () => {
      try {
        for await (const entry of watcher) {
          if (this.#watcher !== watcher) break;
          this.#revision = Math.max(this.#revision, entry.revision);
          this.#knew(entry.key, entry.revision);
          if (!take(entry)) this.#emit(entry);
        }
      } catch (e) {
        if (this.#watcher === watcher) this.#log(`cluster: stopped watching the tenancy bucket ${this.bucket} (${(e as Error).message}); changes made on other nodes reach this node again once NATS is back`);
      }
    })();
  }

  // Once NATS is back (perhaps another server, where the watch's consumer may not be), the watch starts
  // again after the last revision seen: at once, rather than after the client's missed heartbeats (10 s).
  async #rewatchOnReconnect(loaded: () => boolean): Promise<void> {
    let rewatching = false;
    for await (const status of this.#nc.status()) {
      if (this.#closed) break;
      if (status.type !== "reconnect" || !loaded() || rewatching) continue;
      rewatching = true;
      const old = this.#watcher;
      this.#watcher = undefined;
      old?.stop();
      void this.#rewatch().finally(() => (rewatching = false));
    }
  }

  // JetStream may still be choosing the bucket's new leader: tried again each second until it answers.
  async #rewatch(): Promise<void> {
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        this.#follow(await this.#kv.watch({ resumeFromRevision: this.#revision + 1 }));
        if (attempt > 0) this.#log(`cluster: watching the tenancy bucket ${this.bucket} again`);
        return;
      } catch (e) {
        if (attempt === 0) this.#log(`cluster: cannot watch the tenancy bucket ${this.bucket} yet after NATS came back (${(e as Error).message}); trying again each second`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  // Writes a record. `created` names a new one, which must not exist yet: two nodes creating one
  // name at the same instant get one record and one conflict, not two answers of which one is lost.
  // `changed` names an existing one, written over the revision this node last saw of it, so a change
  // made meanwhile on another node is not silently undone. Others (tokens, revocations) are put.
  async #put(key: string, value: string, created?: string, changed?: string): Promise<void> {
    const bytes = encoder.encode(value);
    const known = this.#known.get(key);
    // Nothing is written when JetStream has no responder yet (NATS servers just started): tried again, briefly.
    const write = whileNotServed(() => created !== undefined ? this.#kv.create(key, bytes) : changed !== undefined && known !== undefined ? this.#kv.update(key, bytes, known) : this.#kv.put(key, bytes));
    this.#wrote(key, await write.catch((e) => {
      if (created !== undefined && lostRace(e)) throw new TenancyError("conflict", `${created} already exists: another node created it at the same moment`);
      if (changed !== undefined && lostRace(e)) throw new TenancyError("conflict", `${changed} was changed on another node at the same moment; nothing was changed here: read it again and retry`);
      return this.#failed(key, e);
    }));
  }

  // A delete marker as KV writes one, published here to learn its revision.
  async #delete(key: string): Promise<void> {
    const h = headers();
    h.set("KV-Operation", "DEL");
    const ack = await this.#js.publish(`$KV.${this.bucket}.${key}`, undefined, { headers: h }).catch((e) => this.#failed(key, e));
    this.#wrote(key, ack.seq);
  }

  // A change JetStream did not take is not made: the registry applies it only once written.
  #failed(key: string, e: unknown): never {
    throw new TenancyError("unavailable", `the cluster's tenancy (JetStream KV ${this.bucket}) did not take the change to ${key} (${(e as Error).message}); nothing was changed: check that the NATS servers are reachable, then try again`);
  }

  #wrote(key: string, revision: number): void {
    if (revision > (this.#written.get(key) ?? 0)) this.#written.set(key, revision);
    this.#knew(key, revision);
  }

  #knew(key: string, revision: number): void {
    if (revision > (this.#known.get(key) ?? 0)) this.#known.set(key, revision);
  }

  #emit(entry: KvWatchEntry): void {
    const change = changeOf(entry, this.#log);
    if (change === undefined) return;
    change.superseded = () => (this.#written.get(entry.key) ?? 0) > entry.revision;
    if (this.#listener !== undefined) this.#listener(change);
    else this.#early.push(change);
  }
}

// A watch entry as the registry takes it; undefined for keys edgemq does not read (meta) or cannot.
function changeOf(entry: KvEntry, log: (text: string) => void): TenancyChange | undefined {
  const key = parseTenancyKey(entry.key);
  const put = entry.operation === "PUT";
  try {
    switch (key?.kind) {
      case "namespace": return { kind: "namespace", name: key.name, record: put ? entry.json<NamespaceRecord>() : null };
      case "broker": return { kind: "broker", namespace: key.namespace, name: key.name, record: put ? entry.json<BrokerRecord>() : null };
      case "revocation": return { kind: "revocation", namespace: key.namespace, broker: key.broker, jti: key.jti, revoked_at: put ? entry.string() : null };
      case "apiToken": return { kind: "apiToken", id: key.id, record: put ? entry.json<ApiTokenRecord>() : null };
      case "meta": return undefined;
    }
  } catch (e) {
    log(`cluster: skipped the tenancy record ${entry.key} (${(e as Error).message})`);
    return undefined;
  }
  log(`cluster: skipped the unknown key ${entry.key} in the tenancy bucket`);
  return undefined;
}

function snapshotOf(entries: KvEntry[], log: (text: string) => void): TenancySnapshot {
  const snapshot: TenancySnapshot = { namespaces: [], brokers: [], revocations: [], apiTokens: [] };
  for (const entry of entries) {
    const change = changeOf(entry, log);
    if (change?.kind === "namespace" && change.record) snapshot.namespaces.push(change.record);
    else if (change?.kind === "broker" && change.record) snapshot.brokers.push(change.record);
    else if (change?.kind === "revocation" && change.revoked_at !== null) snapshot.revocations.push({ namespace: change.namespace, broker: change.broker, jti: change.jti, revoked_at: change.revoked_at });
    else if (change?.kind === "apiToken" && change.record) snapshot.apiTokens.push(change.record);
  }
  return snapshot;
}

// Up to 10,000 revocations at once: written 256 at a time, not one by one nor all at once.
async function inBatches<T>(items: T[], write: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += 256) await Promise.all(items.slice(i, i + 256).map(write));
}
