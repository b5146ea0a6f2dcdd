import {
  CLOUDFLARE_FEATURES, CLOUDFLARE_LIMITS, DEFAULT_LIMITS, type FeaturePolicy, FULL_FEATURES, type Limits,
} from "@edgemq/core";
import { TenancyError } from "./errors.ts";

/** A broker's preset: `full` (the server's own settings) or `cloudflare` (Cloudflare Pub/Sub's limits and feature table over them). */
export type Preset = "full" | "cloudflare";

/** Every preset. */
export const PRESETS: readonly Preset[] = ["full", "cloudflare"];

/** A broker's own limits, by API name (`max_message_size`...): only those set, over its preset. */
export type LimitOverrides = Record<string, number>;

/** One limit as the admin API, the CLI and the docs name it. */
export interface LimitField {
  /** The API name, snake_case. */
  name: string;
  /** The core {@link Limits} key. */
  key: keyof Limits;
  min: number;
  max: number;
  /** Whether a change reaches connected clients (false: new connections, since CONNACK told them). */
  live: boolean;
  /** Whether 0 lifts the limit altogether (so 0 lies above any ceiling). */
  zeroIsNone?: boolean;
  description: string;
}

const U32 = 0xffffffff;

/** The limits a broker may set, in the order they are shown. */
export const LIMIT_FIELDS: readonly LimitField[] = [
  { name: "max_message_size", key: "maximumPacketSize", min: 64, max: 268_435_455, live: false, description: "Largest packet after CONNECT, in bytes (0x95 Packet too large); advertised in CONNACK." },
  { name: "max_packets_per_second", key: "maximumPacketsPerSecond", min: 0, max: 1_000_000, zeroIsNone: true, live: true, description: "Packets per second per client, bursts up to one second's worth (DISCONNECT 0x96 Message rate too high); 0 for none." },
  { name: "max_bytes_per_second", key: "maximumBytesPerSecond", min: 0, max: U32, zeroIsNone: true, live: true, description: "Bytes per second per client, bursts up to one second's worth or one largest packet (DISCONNECT 0x96); 0 for none." },
  { name: "max_topic_length", key: "maximumTopicLength", min: 1, max: 65_535, live: true, description: "Longest topic name or filter (DISCONNECT 0x90 Topic Name invalid; SUBACK 0x8F)." },
  { name: "max_topic_levels", key: "maximumTopicLevels", min: 1, max: 65_535, live: true, description: "Most levels in a topic (slashes + 1; Cloudflare's depth 8 is 9 levels) (0x90; SUBACK 0x8F)." },
  { name: "max_client_id_length", key: "maximumClientIdLength", min: 1, max: 65_535, live: true, description: "Longest client id a client may choose (CONNACK 0x85 Client Identifier not valid; 3.1.1: 2)." },
  { name: "max_connections", key: "maximumConnections", min: 0, max: 10_000_000, zeroIsNone: true, live: true, description: "Clients connected at once (CONNACK 0x97 Quota exceeded; 3.1.1: 3 Server unavailable); 0 for none." },
  { name: "max_sessions", key: "maximumSessions", min: 0, max: 100_000_000, zeroIsNone: true, live: true, description: "Sessions held at once, connected or not; a CONNECT that would start one more gets CONNACK 0x97 (3.1.1: 3), resuming one never does; 0 for none." },
  { name: "max_subscriptions_per_client", key: "maximumSubscriptionsPerClient", min: 1, max: 10_000_000, live: true, description: "Subscriptions one client may hold (SUBACK 0x97; 3.1.1: 0x80)." },
  { name: "max_subscribers_per_topic", key: "maximumSubscribersPerTopic", min: 0, max: 10_000_000, zeroIsNone: true, live: true, description: "Clients subscribed to one topic filter (SUBACK 0x97; 3.1.1: 0x80); 0 for none." },
  { name: "max_retained_messages", key: "maximumRetainedMessages", min: 0, max: 100_000_000, zeroIsNone: true, live: true, description: "Retained messages held (PUBACK/PUBREC 0x97); 0 for none." },
  { name: "max_retained_bytes", key: "maximumRetainedBytes", min: 0, max: Number.MAX_SAFE_INTEGER, zeroIsNone: true, live: true, description: "Payload bytes of retained messages held (PUBACK/PUBREC 0x97); 0 for none." },
  { name: "max_queued_messages", key: "maximumQueuedMessages", min: 0, max: 10_000_000, live: true, description: "Messages queued per session; beyond it new ones are dropped and counted." },
  { name: "max_queued_bytes", key: "maximumQueuedBytes", min: 0, max: Number.MAX_SAFE_INTEGER, live: true, description: "Payload bytes queued per session; beyond it new ones are dropped and counted." },
  { name: "max_session_expiry", key: "maximumSessionExpiryInterval", min: 0, max: U32, live: false, description: "Longest session expiry granted, in seconds (v5: told in CONNACK)." },
  { name: "min_keep_alive", key: "minimumKeepAlive", min: 0, max: 65_535, live: false, description: "Shortest keep alive, in seconds (v5: raised by Server Keep Alive; 3.1.1: the server waits 1.5 × this); 0 for none." },
  { name: "max_keep_alive", key: "maximumKeepAlive", min: 0, max: 65_535, zeroIsNone: true, live: false, description: "Longest keep alive, in seconds (v5: lowered by Server Keep Alive); 0 for none." },
  { name: "connect_timeout", key: "connectTimeout", min: 1, max: 3600, live: true, description: "Seconds from the socket opening to CONNECT before it is closed." },
];

const BY_NAME = new Map(LIMIT_FIELDS.map((f) => [f.name, f]));

function invalid(message: string): TenancyError {
  return new TenancyError("invalid", message);
}

/** Checks a preset name. */
export function checkPreset(value: unknown): Preset {
  if (typeof value !== "string" || !PRESETS.includes(value as Preset)) throw invalid(`preset must be one of ${PRESETS.join(", ")}, not ${JSON.stringify(value)}`);
  return value as Preset;
}

/**
 * Checks limits from a request and merges them over `current`: each named
 * field must be a whole number in its range; `null` removes a broker's own
 * value, so its preset's applies again.
 */
export function mergeLimitOverrides(value: unknown, current: LimitOverrides = {}): LimitOverrides {
  if (value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw invalid(`limits must be an object such as {"max_message_size": 65536}, not ${JSON.stringify(value)}`);
  const next: LimitOverrides = { ...current };
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    const field = BY_NAME.get(name);
    if (field === undefined) throw invalid(`unknown limit "${name}"; the limits are ${LIMIT_FIELDS.map((f) => f.name).join(", ")}`);
    if (v === null) {
      delete next[name];
      continue;
    }
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < field.min || v > field.max) {
      throw invalid(`limits.${name} must be a whole number from ${field.min} to ${field.max}, not ${JSON.stringify(v)}`);
    }
    next[name] = v;
  }
  return next;
}

/** A broker's effective limits: the defaults, the server's own (`base`), the preset's, then the broker's. */
export function effectiveLimits(preset: Preset | undefined, overrides: LimitOverrides | undefined, base?: Partial<Limits>): Limits {
  const limits: Limits = { ...DEFAULT_LIMITS, ...base, ...(preset === "cloudflare" ? CLOUDFLARE_LIMITS : undefined) };
  for (const [name, v] of Object.entries(overrides ?? {})) {
    const field = BY_NAME.get(name);
    if (field !== undefined) (limits as unknown as Record<string, number>)[field.key] = v;
  }
  return limits;
}

/** Refuses limits that contradict each other (a keep alive floor above its cap). */
export function checkLimitsAgree(limits: Limits): void {
  if (limits.maximumKeepAlive > 0 && limits.minimumKeepAlive > limits.maximumKeepAlive) {
    throw invalid(`limits.min_keep_alive (${limits.minimumKeepAlive}) must not be above limits.max_keep_alive (${limits.maximumKeepAlive})`);
  }
}

/** A broker's feature policy: the server's own (`base`), with Cloudflare's table over it for the cloudflare preset. */
export function effectiveFeatures(preset: Preset | undefined, base?: Partial<FeaturePolicy>): FeaturePolicy {
  return { ...FULL_FEATURES, ...base, ...(preset === "cloudflare" ? CLOUDFLARE_FEATURES : undefined) };
}

/** Limits by API name, as the admin API shows them. */
export function limitsJson(limits: Limits): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of LIMIT_FIELDS) out[f.name] = limits[f.key] as number;
  return out;
}
