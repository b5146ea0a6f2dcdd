import { type Limits, ReasonCode } from "@edgemq/core";
import { JTI_ATTRIBUTE } from "@edgemq/credentials";
import type { ApiTokens } from "./api-tokens.ts";
import { effectiveFeatures } from "./broker-limits.ts";
import { copyBroker } from "./record-copies.ts";
import type { BrokerRecord, NamespaceRecord } from "./records.ts";
import type { BrokerState, RegistryOptions } from "./registry-types.ts";
import { sameRecord, type TenancyChange } from "./store-changes.ts";

/** What of a registry a change from elsewhere touches: its maps, its tokens, its options. */
export interface RemoteTarget {
  namespaces: Map<string, NamespaceRecord>;
  /** Keyed by `${namespace}/${broker}`. */
  brokers: Map<string, BrokerState>;
  tokens: ApiTokens;
  options: RegistryOptions;
  effectiveLimits(record: BrokerRecord): Limits;
}

/**
 * Applies a change another process made (a cluster node, through the shared
 * store) with the side effects of the same change made here: a revoked
 * credential's clients disconnected (0x98), a live broker's limits and
 * features set again, a deleted broker's clients disconnected (0x98) and its
 * instance closed. An identical record (this process's own write, handed
 * back) changes nothing.
 */
export async function applyRemoteChange(target: RemoteTarget, change: TenancyChange): Promise<void> {
  if (change.superseded?.()) return;
  switch (change.kind) {
    case "namespace":
      return applyNamespace(target, change.name, change.record);
    case "broker":
      return applyBroker(target, change.namespace, change.name, change.record);
    case "revocation":
      return applyRevocation(target, `${change.namespace}/${change.broker}`, change.jti, change.revoked_at);
    case "apiToken":
      return target.tokens.apply(change.id, change.record);
  }
}

async function applyNamespace(target: RemoteTarget, name: string, record: NamespaceRecord | null): Promise<void> {
  if (record !== null) {
    const old = target.namespaces.get(name);
    if (old === undefined || !sameRecord(old, record)) target.namespaces.set(name, { ...record });
    return;
  }
  if (!target.namespaces.has(name)) return;
  // Deleted elsewhere once empty there; brokers still here (a race) go with it.
  for (const state of [...target.brokers.values()]) {
    if (state.record.namespace === name) await dropBroker(target, state, "the namespace was deleted");
  }
  target.namespaces.delete(name);
}

async function applyBroker(target: RemoteTarget, namespace: string, name: string, record: BrokerRecord | null): Promise<void> {
  const state = target.brokers.get(`${namespace}/${name}`);
  if (record === null) {
    if (state !== undefined) await dropBroker(target, state, "the broker was deleted");
    return;
  }
  if (state !== undefined && sameRecord(state.record, record)) return;
  if (state === undefined || state.record.id !== record.id) {
    // A broker new here, or one deleted and made again under the same name elsewhere.
    if (state !== undefined) await dropBroker(target, state, "the broker was deleted");
    target.brokers.set(`${namespace}/${name}`, { record: copyBroker(record), revocations: new Map(), instance: undefined });
    return;
  }
  const before = state.record;
  state.record = copyBroker(record);
  // A live broker takes new limits and features at once, as after a local update (see Broker.setLimits).
  if (state.instance !== undefined && !sameRecord([before.preset, before.limits], [record.preset, record.limits])) {
    state.instance.setLimits(target.effectiveLimits(state.record));
    state.instance.setFeatures(effectiveFeatures(state.record.preset, target.options.defaults?.features));
  }
  target.options.onBrokerUpdated?.(copyBroker(state.record), state.instance);
}

function applyRevocation(target: RemoteTarget, brokerKey: string, jti: string, revokedAt: string | null): void {
  const state = target.brokers.get(brokerKey);
  if (state === undefined) return;
  if (revokedAt === null) {
    state.revocations.delete(jti);
    return;
  }
  if (state.revocations.has(jti)) return;
  state.revocations.set(jti, revokedAt);
  state.instance?.disconnectClients((c) => c.attributes[JTI_ATTRIBUTE] === jti, ReasonCode.AdministrativeAction, "the credential was revoked");
}

// A broker gone elsewhere: its clients here are disconnected (0x98), its instance closed, its local data dropped.
async function dropBroker(target: RemoteTarget, state: BrokerState, reason: string): Promise<void> {
  const { record } = state;
  target.brokers.delete(`${record.namespace}/${record.name}`);
  if (state.instance !== undefined) {
    state.instance.disconnectClients(() => true, ReasonCode.AdministrativeAction, reason);
    await state.instance.close();
    state.instance = undefined;
  }
  await target.options.onBrokerDeleted?.(copyBroker(record));
}
