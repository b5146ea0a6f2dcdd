import type { AccessRules, FeaturePolicy, Limits, OnPublishOptions } from "@edgemq/core";

/** One listening socket. */
export interface ListenerConfig {
  /** `tcp`, `tls`, `ws` or `wss`. */
  protocol: "tcp" | "tls" | "ws" | "wss";
  host: string;
  port: number;
  /** PEM file paths, for tls and wss. */
  cert?: string;
  key?: string;
  /** A CA bundle: client certificates are requested and, when one is sent, verified against it (for MTLS brokers). */
  ca?: string;
  /** Require a verified client certificate: connections without one fail the TLS handshake. */
  requestCert?: boolean;
  /** For ws and wss: the only path upgraded (any path when absent). */
  path?: string;
  /** Sends every connection to this tenant broker, `<broker>.<namespace>`, instead of routing by name or credential. */
  broker?: string;
}

/** A listener for the admin HTTP API. */
export interface AdminListenerConfig {
  protocol: "http" | "https";
  host: string;
  port: number;
  /** PEM file paths, for https. */
  cert?: string;
  key?: string;
}

/** Where data lives: in memory (no `dir`), or in a SQLite database in a data directory. */
export interface DataConfig {
  /** The data directory (holds edgemq.db); none means the memory store. */
  dir: string | undefined;
  /** fsync (default: nothing acknowledged is lost), batched (up to windowMs may be lost) or memory. */
  mode: "fsync" | "batched" | "memory";
  /** The batched mode's commit window in milliseconds. */
  windowMs: number;
}

/** The admin API and tenancy settings. */
export interface AdminConfig {
  /** Where the admin API listens; none means it is not served. */
  listeners: AdminListenerConfig[];
  /** The first Admin API token; when absent one is generated and printed once. */
  token: string | undefined;
  /** Only this account id is served in `/client/v4/accounts/{account_id}/...` (any when absent). */
  accountId: string | undefined;
  /** Serve /metrics without an API token. */
  metricsPublic: boolean;
  /** Origins (`https://ops.example.com`, or `*` for any) whose browser pages may call the admin API; none when empty. */
  corsOrigins: string[];
  /** Serve the web dashboard at `/` on the admin listener. */
  dashboard: boolean;
}

/** How this node joins a cluster of edgemq nodes over NATS; absent, the server is one process as always. */
export interface ClusterConfig {
  /** NATS server URLs, `nats://host:port` or `tls://host:port`. */
  servers: string[];
  /** This node's name; absent, the host name and the MQTT port. */
  nodeId: string | undefined;
  /** How many NATS servers keep each JetStream copy (`--cluster-replicas`; absent, the NATS cluster's size, at most 3). */
  replicas?: number;
  /** A NATS credentials file (`--cluster-creds`). */
  creds?: string;
  /** A file holding a NATS user nkey seed (`--cluster-nkey`). */
  nkey?: string;
  /** PEM files for TLS to NATS: the servers' CA, and this node's client certificate and key (`--cluster-tls-*`). */
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** A user for password authentication. */
export interface UserConfig {
  username: string;
  password: string;
}

/** The whole server configuration. */
export interface ServerConfig {
  listeners: ListenerConfig[];
  /** Allow clients that present no accepted credentials. */
  allowAnonymous: boolean;
  /** True if `allowAnonymous` was set explicitly (flag, environment or file). */
  allowAnonymousExplicit: boolean;
  users: UserConfig[];
  acl: AccessRules | undefined;
  limits: Limits;
  features: Partial<FeaturePolicy>;
  /** Who may connect with a client id whose session exists (`--session-takeover`); over `features.sessionTakeover` when set. */
  sessionTakeover?: FeaturePolicy["sessionTakeover"];
  /** `full` (default) or `cloudflare`. */
  preset: "full" | "cloudflare";
  logLevel: "debug" | "info" | "warn" | "error";
  /** How long a tenant broker's on-publish hook URL has to answer (ms); 10 000 when absent, as Cloudflare's. */
  hookTimeoutMs?: number;
  /** Addresses, CIDR ranges and host names tenant on-publish hooks may post to despite the default denials (loopback, private, link-local, metadata). */
  hookAllow?: readonly string[];
  /** For embedders: an in-process on-publish hook for the default broker (a function, no HTTP). */
  onPublish?: OnPublishOptions;
  /** `text` lines for people, or one JSON object per line for log collectors. */
  logFormat: "text" | "json";
  /** Tenant brokers are reached as `<broker>.<namespace>.<domain>` (SNI or WebSocket Host). */
  domain: string;
  admin: AdminConfig;
  data: DataConfig;
  /** Bytes the whole process may hold in partial packets and queued messages, every broker together (0: no budget). */
  memoryBudget: number;
  /** Sessions all brokers together may hold (0: no cap beyond each broker's `maximumSessions`). */
  maxSessionsTotal: number;
  /** The most a tenant broker may set each limit to, by API name (`max_message_size`); the server's own limits may not exceed them either. */
  tenantCeilings: Readonly<Record<string, number>>;
  /** The cluster this node joins (`--cluster`); absent, one process as always. */
  cluster?: ClusterConfig;
}

/** The JSON file's shape, as its schema (config/file-schema.ts) lets it through: everything optional. */
export interface ConfigFile {
  listeners?: Partial<ListenerConfig>[];
  allowAnonymous?: boolean;
  users?: UserConfig[];
  acl?: AccessRules;
  limits?: Partial<Limits>;
  features?: Partial<FeaturePolicy>;
  sessionTakeover?: FeaturePolicy["sessionTakeover"];
  preset?: "full" | "cloudflare";
  logLevel?: ServerConfig["logLevel"];
  logFormat?: ServerConfig["logFormat"];
  domain?: string;
  admin?: { listeners?: Partial<AdminListenerConfig>[]; token?: string; accountId?: string; metricsPublic?: boolean; corsOrigins?: string[]; dashboard?: boolean };
  data?: Partial<DataConfig>;
  tenantCeilings?: Record<string, number>;
  hookAllow?: string[];
  memoryBudget?: number;
  maxSessionsTotal?: number;
  cluster?: { servers?: string | string[]; nodeId?: string; creds?: string; nkey?: string; tls?: { ca?: string; cert?: string; key?: string } };
}
