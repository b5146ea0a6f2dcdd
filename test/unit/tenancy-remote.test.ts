// Unit tests of changes that reach a registry from a shared store (a
// cluster's KV bucket): applied with a local change's side effects, each
// exactly once, its own writes handed back changing nothing; and the KV key
// encoding those changes travel under.
import { describe, expect, it } from "vitest";
import { decodeKeyToken, encodeKeyToken, parseTenancyKey, tenancyKey } from "@edgemq/cluster-nats";
import { type BrokerRecord, MemoryTenancyStore, Registry, type TenancyChange } from "@edgemq/tenancy";
import { MemoryPeer } from "../support/memory-peer.ts";

// A memory store that also hands every write back, as a watched KV bucket does, and lets a test play another node.
class SharedStore extends MemoryTenancyStore {
  onChange: ((change: TenancyChange) => void) | undefined;
  readonly echoes: TenancyChange[] = [];
  watch(onChange: (change: TenancyChange) => void): void {
    this.onChange = onChange;
  }
  override putBroker(record: BrokerRecord): void {
    super.putBroker(record);
    this.echoes.push({ kind: "broker", namespace: record.namespace, name: record.name, record: structuredClone(record) });
  }
}

// Lets the registry's queue of changes run.
const settle = () => new Promise((r) => setTimeout(r, 10));

async function setUp() {
  const store = new SharedStore();
  const updated: string[] = [], deleted: string[] = [];
  const registry = await Registry.open({
    store,
    onBrokerUpdated: (r) => updated.push(r.name),
    onBrokerDeleted: (r) => void deleted.push(r.name),
  });
  await registry.createNamespace({ name: "acme" });
  await registry.createBroker("acme", { name: "sensors" });
  const [credential] = await registry.issueCredentials("acme", "sensors", { clientIds: ["dev-1"] });
  const broker = registry.broker("acme", "sensors");
  const peer = new MemoryPeer(broker);
  peer.connect("dev-1", { username: "x", password: new TextEncoder().encode(credential!.token) });
  // Verifying the credential takes crypto.subtle a moment.
  let packets = peer.packets();
  for (let i = 0; i < 300 && packets.length === 0; i++) (await settle(), packets = peer.packets());
  expect(packets).toMatchObject([{ type: "connack", reasonCode: 0 }]);
  return { store, registry, broker, peer, credential: credential!, updated, deleted };
}

describe("changes from a shared store", () => {
  it("changes nothing when the registry's own writes come back, and applies another node's record once", async () => {
    const { store, registry, broker, peer, updated } = await setUp();
    const limits = broker.limits;
    for (const echo of store.echoes) store.onChange!(echo);
    await settle();
    expect(updated).toEqual([]);
    expect(broker.limits).toBe(limits);
    const theirs = { ...registry.getBroker("acme", "sensors"), preset: "full" as const, limits: { max_topic_levels: 3 }, description: "from node b" };
    store.onChange!({ kind: "broker", namespace: "acme", name: "sensors", record: theirs });
    store.onChange!({ kind: "broker", namespace: "acme", name: "sensors", record: structuredClone(theirs) });
    await settle();
    expect(registry.getBroker("acme", "sensors").description).toBe("from node b");
    expect(broker.limits.maximumTopicLevels).toBe(3);
    expect(updated).toEqual(["sensors"]);
    expect(peer.packets()).toEqual([]);
  });

  it("skips a change the registry has written over since (an older echo)", async () => {
    const { store, registry } = await setUp();
    const old = store.echoes[0]!;
    await registry.updateBroker("acme", "sensors", { description: "newer" });
    store.onChange!({ ...old, superseded: () => true });
    await settle();
    expect(registry.getBroker("acme", "sensors").description).toBe("newer");
  });

  it("disconnects a revoked credential's client with 0x98 once, and takes the revocation back", async () => {
    const { store, registry, peer, credential } = await setUp();
    const change: TenancyChange = { kind: "revocation", namespace: "acme", broker: "sensors", jti: credential.jti, revoked_at: "2026-01-01T00:00:00.000000Z" };
    store.onChange!(change);
    store.onChange!({ ...change, revoked_at: "2026-01-02T00:00:00.000000Z" });
    await settle();
    expect(peer.packets()).toMatchObject([{ type: "disconnect", reasonCode: 0x98 }]);
    expect(registry.revocations("acme", "sensors")).toEqual([{ jti: credential.jti, revoked_at: "2026-01-01T00:00:00.000000Z" }]);
    store.onChange!({ ...change, revoked_at: null });
    await settle();
    expect(registry.isRevoked("acme", "sensors", credential.jti)).toBe(false);
  });

  it("disconnects a deleted broker's clients with 0x98, closes it and drops its data; a deleted namespace goes", async () => {
    const { store, registry, broker, peer, deleted } = await setUp();
    store.onChange!({ kind: "broker", namespace: "acme", name: "sensors", record: null });
    store.onChange!({ kind: "broker", namespace: "acme", name: "sensors", record: null });
    await settle();
    expect(peer.packets()).toMatchObject([{ type: "disconnect", reasonCode: 0x98 }]);
    expect(broker.connectionCount).toBe(0);
    expect(registry.hasBroker("acme", "sensors")).toBe(false);
    expect(deleted).toEqual(["sensors"]);
    store.onChange!({ kind: "namespace", name: "acme", record: null });
    await settle();
    expect(registry.hasNamespace("acme")).toBe(false);
  });

  it("keeps API tokens that share one secret apart (two nodes writing one configured token): deleting one leaves the other", async () => {
    const { store, registry } = await setUp();
    const token = { name: "admin", role: "Admin" as const, namespaces: "*" as const, hash: "ab".repeat(32), source: "configuration" as const, created_on: "2026-01-01T00:00:00.000000Z" };
    store.onChange!({ kind: "apiToken", id: "1".repeat(32), record: { ...token, id: "1".repeat(32) } });
    store.onChange!({ kind: "apiToken", id: "2".repeat(32), record: { ...token, id: "2".repeat(32) } });
    store.onChange!({ kind: "apiToken", id: "2".repeat(32), record: null });
    await settle();
    expect(registry.apiTokenByHash(token.hash)?.id).toBe("1".repeat(32));
    expect(registry.apiTokens().map((t) => t.id)).toEqual(["1".repeat(32)]);
  });
});

describe("tenancy keys in a KV bucket", () => {
  const HOSTILE = ["01HXYZ", "a.b", "*", ">", "a b", "=", "=3D", "~", "ünï/話", "😀", "x,y", "", "-_", "'\"!#$%&()+"];

  it("encodes any string as one token of letters, digits, _, - and = that decodes back to it", () => {
    for (const text of HOSTILE) {
      const token = encodeKeyToken(text);
      expect(token).toMatch(/^[A-Za-z0-9_=-]+$/);
      expect(decodeKeyToken(token)).toBe(text);
    }
    expect(new Set(HOSTILE.map(encodeKeyToken)).size).toBe(HOSTILE.length);
    expect(encodeKeyToken("01HXYZ-abc_9")).toBe("01HXYZ-abc_9");
  });

  it("names each record by one key that reads back as the same record, and no jti can reach another broker's keys", () => {
    const keys = [
      { kind: "namespace", name: "acme" },
      { kind: "broker", namespace: "acme", name: "sensors" },
      { kind: "revocation", namespace: "acme", broker: "sensors", jti: "a.b.>" },
      { kind: "apiToken", id: "0123456789abcdef0123456789abcdef" },
    ] as const;
    for (const key of keys) expect(parseTenancyKey(tenancyKey(key))).toEqual(key);
    expect(tenancyKey(keys[2])).toBe("revoked.acme.sensors.a=2Eb=2E=3E");
    expect(parseTenancyKey("revoked.acme.sensors.x.y")).toBeUndefined();
    expect(parseTenancyKey("broker.acme.=ZZ")).toBeUndefined();
  });
});
