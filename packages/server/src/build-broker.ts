import { Broker, CLOUDFLARE_FEATURES, type FeaturePolicy, FULL_FEATURES, type Hook, type MemoryBudget, type RoutingFactory, rulesHook, type SessionOwnership, type Store, type WillKeeper } from "@edgemq/core";
import type { BrokerExtras } from "@edgemq/tenancy";
import { type ScramCredential, scramAuthHook, scramCredential } from "@edgemq/credentials";
import { ReasonCode } from "@edgemq/core/codec";
import type { ServerConfig, UserConfig } from "./config.ts";

/** The edgemq version, for $SYS and the start-up line. */
export const EDGEMQ_VERSION = "0.1.0";

/** A hook that accepts clients whose user name and password match a configured user. */
export function passwordHook(users: UserConfig[]): Hook {
  const byName = new Map(users.map((u) => [u.username, u.password]));
  const dec = new TextDecoder();
  return {
    name: "password",
    authenticate({ packet }) {
      if (packet.username === undefined) return "next";
      const expected = byName.get(packet.username);
      const given = packet.password ? dec.decode(packet.password) : undefined;
      if (expected !== undefined && given !== undefined && timingSafeEqual(expected, given)) return { allow: true };
      return { deny: ReasonCode.BadUserNameOrPassword, reason: "bad user name or password" };
    },
  };
}

/**
 * SCRAM-SHA-256/512 for the configured users: the same passwords, proven
 * without sending them. The stored keys are derived at a user's first SCRAM
 * login (with a salt of this process), so nothing is spent for users who never use it.
 */
export function scramUsersHook(users: UserConfig[]): Hook {
  const byName = new Map(users.map((u) => [u.username, u.password]));
  const derived = new Map<string, Promise<ScramCredential>>();
  return scramAuthHook({
    lookup(username, mechanism) {
      const password = byName.get(username);
      if (password === undefined) return undefined;
      const key = `${mechanism} ${username}`;
      let credential = derived.get(key);
      if (credential === undefined) derived.set(key, credential = scramCredential(mechanism, password));
      return credential;
    },
  });
}

// Compares without stopping at the first difference, so timing tells nothing.
function timingSafeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}

// The preset's features, the file's over them, and --session-takeover over those.
function serverFeatures(config: ServerConfig): FeaturePolicy {
  const base = config.preset === "cloudflare" ? CLOUDFLARE_FEATURES : FULL_FEATURES;
  const features = { ...base, ...config.features };
  if (config.sessionTakeover !== undefined) features.sessionTakeover = config.sessionTakeover;
  return features;
}

/** What each tenant broker is built with: the server's limits, features and version (its own settings come later). */
export function tenantBrokerOptions(config: ServerConfig): BrokerExtras {
  return { features: serverFeatures(config), limits: config.limits, version: `edgemq ${EDGEMQ_VERSION}` };
}

/** Builds the default broker from a server configuration, with the runtime's clock (and the cluster's routing and session ownership when it has one). */
export function buildBroker(
  config: ServerConfig, now: () => number, store?: Store, memoryBudget?: MemoryBudget, routing?: RoutingFactory, ownership?: SessionOwnership, wills?: WillKeeper,
): Broker {
  const broker = new Broker({
    name: "default",
    now,
    memoryBudget,
    routing,
    ownership,
    wills,
    features: serverFeatures(config),
    limits: config.limits,
    store,
    allowAnonymous: config.allowAnonymous,
    version: `edgemq ${EDGEMQ_VERSION}`,
  });
  if (config.users.length > 0) broker.use(passwordHook(config.users)).use(scramUsersHook(config.users));
  if (config.acl) broker.use(rulesHook(config.acl));
  return broker;
}

/** The start-up line: where the broker listens and how it is configured (and the cluster it joined, `nats://… as node <id>`). */
export function describeStartup(config: ServerConfig, runtime: string, bound: { protocol: string; host: string; port: number }[], store: string, cluster?: string): string {
  const where = bound.map((b) => `${b.protocol}://${b.host.includes(":") ? `[${b.host}]` : b.host}:${b.port}`).join(", ");
  const auth = config.users.length > 0 ? `${config.users.length} user(s)${config.allowAnonymous ? " + anonymous" : ""}` : config.allowAnonymous ? "anonymous allowed" : "no anonymous";
  return `edgemq ${EDGEMQ_VERSION} on ${runtime} listening on ${where} | preset ${config.preset}, auth: ${auth}, store: ${store}, max packet ${config.limits.maximumPacketSize} B${cluster === undefined ? "" : `, cluster: ${cluster}`}`;
}
