import type { KeySet } from "@edgemq/credentials";
import type { LimitOverrides, Preset } from "./broker-limits.ts";

/**
 * How a broker's clients authenticate, in Cloudflare's words: TOKEN (a JWT
 * the broker issued, as the MQTT password), MTLS (a client certificate whose
 * subject is the client id) or MTLS_AND_TOKEN (both, for the same client id).
 */
export type AuthType = "TOKEN" | "MTLS" | "MTLS_AND_TOKEN";

/** Every auth type, in Cloudflare's spelling. */
export const AUTH_TYPES: readonly AuthType[] = ["TOKEN", "MTLS", "MTLS_AND_TOKEN"];

/** A namespace: a group of brokers. Field names as Cloudflare's API had them. */
export interface NamespaceRecord {
  /** 32 lowercase hex characters. */
  id: string;
  /** A DNS label, lower-cased. */
  name: string;
  description: string;
  /** RFC 3339 with microseconds. */
  created_on: string;
  modified_on: string;
}

/** A broker: one isolated MQTT space with its own keys and revocations. */
export interface BrokerRecord {
  id: string;
  /** A DNS label, lower-cased; unique within its namespace. */
  name: string;
  namespace: string;
  authType: AuthType;
  /** Lifetime of credentials issued from now on, in seconds; null for none. */
  expiration: number | null;
  description: string;
  /** Where PUBLISH packets are posted before fan-out; null when unset. `fail_open` delivers a batch unchanged when the hook fails (default false: dropped). */
  on_publish: { url: string; fail_open?: boolean } | null;
  /** Its preset; absent (older records) means `full`. */
  preset?: Preset;
  /** Its own limits by API name, over the preset's; absent means none. */
  limits?: LimitOverrides;
  created_on: string;
  modified_on: string;
  /** The broker's signing keys (private keys included: this record stays on the server). */
  keys: KeySet;
  /** Users who log in with SCRAM (MQTT 5 enhanced authentication); absent means none. */
  scram_users?: ScramUserRecord[];
}

/** A SCRAM user of a broker: per mechanism, salt, StoredKey and ServerKey (base64), never the password (RFC 5802 §3). */
export interface ScramUserRecord {
  username: string;
  iterations: number;
  keys: Partial<Record<"SCRAM-SHA-256" | "SCRAM-SHA-512", { salt: string; stored_key: string; server_key: string }>>;
  created_on: string;
}

/** A revoked credential. */
export interface Revocation {
  jti: string;
  revoked_at: string;
}

/**
 * An admin API role, as Cloudflare planned them: Admin (everything), User
 * (brokers, credentials and revocations; view namespaces), Viewer (view only).
 */
export type ApiRole = "Admin" | "User" | "Viewer";

/** Every role. */
export const API_ROLES: readonly ApiRole[] = ["Admin", "User", "Viewer"];

/** An admin API token. Only the SHA-256 of its secret is kept. */
export interface ApiTokenRecord {
  /** 32 lowercase hex characters. */
  id: string;
  name: string;
  role: ApiRole;
  /** The namespaces it may act on: `*` for all, or a list of names. */
  namespaces: "*" | string[];
  /** SHA-256 of the secret, lowercase hex. */
  hash: string;
  /** Where it came from: the configuration, generated at first start, or the API. */
  source: "configuration" | "generated" | "api";
  created_on: string;
}
