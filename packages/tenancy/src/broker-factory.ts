import { Broker, clientRulesHook, type Hook } from "@edgemq/core";
import { certificateAuthHook, scramAuthHook, tokenAuthHook } from "@edgemq/credentials";
import { clampToCeilings, type LimitCeilings } from "./broker-ceilings.ts";
import { effectiveFeatures, effectiveLimits } from "./broker-limits.ts";
import type { BrokerExtras, BrokerState, RegistryOptions } from "./registry-types.ts";
import { scramCredentialOf } from "./scram-users.ts";

/**
 * A tenant broker's MQTT instance: anonymous clients refused, credentials
 * verified by the token hook (TOKEN and MTLS_AND_TOKEN brokers) or the
 * certificate hook (MTLS ones), each client held to its topicAcl; limits and
 * features from the registry's defaults and the extras, under the broker's
 * preset and its own limits, brought down to the operator's ceilings (a value
 * stored before a ceiling was lowered is clamped here).
 */
export function createTenantBroker(state: BrokerState, extras: BrokerExtras, now: () => number, defaults: RegistryOptions["defaults"], ceilings?: LimitCeilings): Broker {
  const { record } = state;
  const audience = `${record.name}.${record.namespace}`;
  // Keys and revocations are read at each CONNECT, so that a rotation or a revocation applies at once.
  const token = tokenAuthHook({
    audience,
    keys: () => state.record.keys,
    isRevoked: (jti) => state.revocations.has(jti),
    now,
  });
  const hooks: Hook[] = [
    record.authType === "TOKEN" ? token : certificateAuthHook(record.authType === "MTLS_AND_TOKEN" ? token : undefined),
  ];
  // SCRAM users are read at each login, so that one added or removed applies at once.
  hooks.push(scramAuthHook({ lookup: (username, mechanism) => scramCredentialOf(state.record, username, mechanism) }));
  hooks.push(clientRulesHook(), ...(extras.hooks ?? []));
  // The registry's defaults and the extras' limits and features are the base under the broker's preset and own limits.
  const limits = clampToCeilings(effectiveLimits(record.preset, record.limits, { ...extras.limits, ...defaults?.limits }), ceilings);
  const features = effectiveFeatures(record.preset, { ...extras.features, ...defaults?.features });
  return new Broker({ ...extras, limits, features, now, name: audience, allowAnonymous: false, hooks });
}
