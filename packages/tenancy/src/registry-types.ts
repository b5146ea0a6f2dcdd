import type { Broker, BrokerOptions } from "@edgemq/core";
import type { HookDestinations } from "./hook-destinations.ts";
import type { publicKeys } from "@edgemq/credentials";
import type { LimitCeilings } from "./broker-ceilings.ts";
import type { LimitOverrides, Preset } from "./broker-limits.ts";
import type { AuthType, BrokerRecord } from "./records.ts";
import type { TenancyStore } from "./store.ts";

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
  /**
   * The operator's ceilings over the limits a tenant may set, by API name: a
   * request above one is refused (400), a stored value above one is clamped.
   * None when absent (a server passes its own, DEFAULT_LIMIT_CEILINGS unless told).
   */
  ceilings?: LimitCeilings;
  /**
   * Where on-publish hooks may post: URLs whose host is a refused literal
   * address or a metadata name are refused (400) when set. Loopback, private,
   * link-local and metadata destinations are refused when absent.
   */
  hookDestinations?: HookDestinations;
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
  /** Lifetime in seconds; the broker's expiration wins if shorter; -1 for none, granted only when the broker sets none either. */
  expiration?: number;
  /** The topic rights (see the credentials package); absent or empty means `#`. */
  topicAcl?: unknown;
}

/** Where a host name `<broker>.<namespace>.<domain>` leads. */
export interface BrokerAddress {
  namespace: string;
  broker: string;
}

/** One broker as the registry holds it: its record, its revocations (jti to time) and its MQTT instance once created. */
export interface BrokerState {
  record: BrokerRecord;
  revocations: Map<string, string>;
  instance: Broker | undefined;
}
