import type { ClusterLink, KvTenancyStore } from "@edgemq/cluster-nats";
import type { TenancySnapshot, TenancyStore } from "@edgemq/tenancy";
import type { Logger } from "./logger.ts";

/**
 * The tenancy a clustered node uses: the cluster's, in a JetStream KV bucket
 * every node watches. When that bucket is empty and this node's own store
 * (SQLite) holds records, they seed it, once for the whole cluster (a single
 * node becoming a cluster); otherwise this node's own records are not used,
 * and the log says so. Without JetStream, the node's own store, as before.
 */
export async function clusterTenancy(link: ClusterLink, local: TenancyStore | undefined, logger: Logger): Promise<TenancyStore | undefined> {
  const nats = await import("@edgemq/cluster-nats");
  let kv: KvTenancyStore;
  try {
    kv = await nats.KvTenancyStore.open(link.nc, link.root, (text) => logger.log("warn", `edgemq: ${text}`), link.replicas);
  } catch (e) {
    logger.log("warn", `edgemq: cluster: cannot use JetStream KV for tenancy (${(e as Error).message}); namespaces, brokers and tokens stay this node's own. Start nats-server with -js.`);
    return local;
  }
  const own = local === undefined ? undefined : await local.load();
  if (own === undefined || count(own) === "") return kv;
  if (await kv.isEmpty() && await kv.claimSeeding(link.nodeId)) {
    for (const r of own.namespaces) await kv.putNamespace(r);
    for (const r of own.brokers) await kv.putBroker(r);
    const byBroker = new Map<string, { namespace: string; broker: string; jtis: { jti: string; revoked_at: string }[] }>();
    for (const r of own.revocations) {
      const key = `${r.namespace}/${r.broker}`;
      if (!byBroker.has(key)) byBroker.set(key, { namespace: r.namespace, broker: r.broker, jtis: [] });
      byBroker.get(key)!.jtis.push({ jti: r.jti, revoked_at: r.revoked_at });
    }
    for (const b of byBroker.values()) await kv.putRevocations(b.namespace, b.broker, b.jtis);
    for (const r of own.apiTokens) await kv.putApiToken(r);
    logger.log("info", `edgemq: cluster: the cluster's tenancy (KV bucket ${kv.bucket}) was empty: seeded it from this node's ${local!.name} store (${count(own)})`);
  } else {
    logger.log("warn", `edgemq: cluster: this node's own ${local!.name} tenancy (${count(own)}) is not used while clustered: the cluster's (KV bucket ${kv.bucket}) is`);
  }
  return kv;
}

// `2 namespaces, 3 brokers, 1 revocation, 2 API tokens`; empty when there is nothing.
function count(s: TenancySnapshot): string {
  const parts: [number, string][] = [[s.namespaces.length, "namespace"], [s.brokers.length, "broker"], [s.revocations.length, "revocation"], [s.apiTokens.length, "API token"]];
  return parts.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}${n === 1 ? "" : "s"}`).join(", ");
}
