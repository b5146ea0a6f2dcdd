import {
  type AccessRules, CLOUDFLARE_LIMITS, DEFAULT_LIMITS, type FeaturePolicy, FULL_FEATURES, type Limits,
  type OnPublishOptions,
} from "@edgemq/core";

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
  /** `full` (default) or `cloudflare`. */
  preset: "full" | "cloudflare";
  logLevel: "debug" | "info" | "warn" | "error";
  /** How long a tenant broker's on-publish hook URL has to answer (ms); 10 000 when absent, as Cloudflare's. */
  hookTimeoutMs?: number;
  /** For embedders: an in-process on-publish hook for the default broker (a function, no HTTP). */
  onPublish?: OnPublishOptions;
  /** `text` lines for people, or one JSON object per line for log collectors. */
  logFormat: "text" | "json";
  /** Tenant brokers are reached as `<broker>.<namespace>.<domain>` (SNI or WebSocket Host). */
  domain: string;
  admin: AdminConfig;
  data: DataConfig;
}

/** A configuration problem, worded to say what is wrong and how to fix it. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The usage text printed by --help. */
export const USAGE = `Usage: edgemq [options]

Listeners
  --host <addr>            TCP listen address (default 127.0.0.1)
  --port <n>               TCP port (default 1883; 0 picks a free port)
  --tls-port <n>           also listen with TLS on this port (needs --tls-cert and --tls-key)
  --tls-cert <file>        PEM certificate chain
  --tls-key <file>         PEM private key
  --tls-ca <file>          CA bundle to verify client certificates (requested, not required: for MTLS brokers)
  --tls-client-auth        require a verified client certificate on the TLS listener
  --ws-port <n>            also serve MQTT over WebSocket (ws://) on this port
  --wss-port <n>           also serve MQTT over secure WebSocket (wss://; uses --tls-cert/--tls-key)
  --ws-path <path>         upgrade only this path, e.g. /mqtt (default: any path)
Data
  --data <dir>             keep sessions, messages, retained messages and tenants in <dir>/edgemq.db
                           (SQLite); without it everything lives in memory and is lost at exit
  --store-mode <mode>      fsync (default: nothing acknowledged is ever lost), batched (commits at least
                           every --store-window ms; a crash loses at most that window) or memory
  --store-window <ms>      the batched mode's commit window (default 100)
Admin API and tenants
  --admin-port <n>         serve the admin HTTP API (namespaces, brokers, credentials) on this port
  --admin-host <addr>      admin API listen address (default: --host, else 127.0.0.1)
  --admin-token <token>    the first Admin API token (better: EDGEMQ_ADMIN_TOKEN); when absent one is
                           generated and printed once
  --account-id <id>        serve only this account id in /client/v4/accounts/<id>/pubsub (default: any)
  --domain <name>          tenant brokers are <broker>.<namespace>.<domain> by TLS SNI or WebSocket Host
                           (default localhost)
Access
  --allow-anonymous        accept clients without credentials on any address
  --no-anonymous           refuse clients without credentials, even on loopback
  --user <name:password>   a user for password authentication (repeatable)
Broker
  --preset <full|cloudflare>  feature set and limits (cloudflare: Cloudflare Pub/Sub's compatibility table
                              and limits: 64 KB messages, 10 packets/s, 9 topic levels, 23-byte client ids...)
  --max-packet-size <bytes>   largest packet accepted (default ${DEFAULT_LIMITS.maximumPacketSize})
  --max-keepalive <s>         keep alive cap sent as Server Keep Alive (default ${DEFAULT_LIMITS.maximumKeepAlive})
  --receive-maximum <n>       unacknowledged QoS 1/2 messages per client (default ${DEFAULT_LIMITS.receiveMaximum})
  --max-queued <n>            messages queued per session (default ${DEFAULT_LIMITS.maximumQueuedMessages})
  --connect-timeout <s>       seconds to wait for CONNECT (default ${DEFAULT_LIMITS.connectTimeout})
  --sys-interval <s>          seconds between $SYS updates, 0 for none (default ${DEFAULT_LIMITS.sysInterval})
  --max-packets-per-second <n>  per client, else DISCONNECT 0x96 (default 0: none)
  --max-bytes-per-second <n>    per client, else DISCONNECT 0x96 (default 0: none)
  --max-topic-length <n>        longest topic (default ${DEFAULT_LIMITS.maximumTopicLength})
  --max-topic-levels <n>        most topic levels (default ${DEFAULT_LIMITS.maximumTopicLevels})
  --max-client-id-length <n>    longest client id, else CONNACK 0x85 (default ${DEFAULT_LIMITS.maximumClientIdLength})
  --max-connections <n>         clients connected at once, else CONNACK 0x97 (default 0: none)
  --max-subscriptions-per-client <n>  else SUBACK 0x97 (default ${DEFAULT_LIMITS.maximumSubscriptionsPerClient})
  --max-subscribers-per-topic <n>     clients on one filter, else SUBACK 0x97 (default 0: none)
  --max-retained-messages <n>   else PUBACK 0x97 (default ${DEFAULT_LIMITS.maximumRetainedMessages})
  --max-retained-bytes <n>      retained payload bytes, else PUBACK 0x97 (default ${DEFAULT_LIMITS.maximumRetainedBytes})
  --max-queued-bytes <n>        payload bytes queued per session (default ${DEFAULT_LIMITS.maximumQueuedBytes})
  --max-session-expiry <s>      longest session expiry granted (default ${DEFAULT_LIMITS.maximumSessionExpiryInterval})
  --min-keepalive <s>           shortest keep alive, sent as Server Keep Alive (default 0: none)
Other
  --config <file.json>     read settings from a JSON file (flags override it): listeners, allowAnonymous,
                           users, acl {rules, defaultEffect}, limits, features, preset, logLevel, domain,
                           admin {listeners, token, accountId}, data {dir, mode, windowMs}; a listener
                           may name a tenant "broker"
  --log-level <level>      debug, info, warn or error (default info; debug logs every connection)
  --hook-timeout <ms>      how long an on-publish hook URL has to answer (default 10000; env EDGEMQ_HOOK_TIMEOUT_MS)
  --log-format <format>    text (default) or json (one object per line: time, level, msg, fields)
  --metrics-public         serve /metrics on the admin port without an API token
  --help                   show this text

Environment: EDGEMQ_HOST, EDGEMQ_PORT, EDGEMQ_TLS_PORT, EDGEMQ_TLS_CERT, EDGEMQ_TLS_KEY, EDGEMQ_TLS_CA,
EDGEMQ_WS_PORT, EDGEMQ_WSS_PORT, EDGEMQ_ALLOW_ANONYMOUS (true/false), EDGEMQ_CONFIG, EDGEMQ_LOG_LEVEL,
EDGEMQ_LOG_FORMAT, EDGEMQ_ADMIN_PORT, EDGEMQ_ADMIN_TOKEN, EDGEMQ_ACCOUNT_ID, EDGEMQ_DOMAIN, EDGEMQ_DATA, EDGEMQ_STORE_MODE. Flags override the environment,
which overrides the file.`;

const LIMIT_FLAGS: Record<string, keyof Limits> = {
  "--max-packet-size": "maximumPacketSize",
  "--max-keepalive": "maximumKeepAlive",
  "--receive-maximum": "receiveMaximum",
  "--max-queued": "maximumQueuedMessages",
  "--connect-timeout": "connectTimeout",
  "--sys-interval": "sysInterval",
  "--max-packets-per-second": "maximumPacketsPerSecond",
  "--max-bytes-per-second": "maximumBytesPerSecond",
  "--max-topic-length": "maximumTopicLength",
  "--max-topic-levels": "maximumTopicLevels",
  "--max-client-id-length": "maximumClientIdLength",
  "--max-connections": "maximumConnections",
  "--max-subscriptions-per-client": "maximumSubscriptionsPerClient",
  "--max-subscribers-per-topic": "maximumSubscribersPerTopic",
  "--max-retained-messages": "maximumRetainedMessages",
  "--max-retained-bytes": "maximumRetainedBytes",
  "--max-queued-bytes": "maximumQueuedBytes",
  "--max-session-expiry": "maximumSessionExpiryInterval",
  "--min-keepalive": "minimumKeepAlive",
};

function integer(value: string | undefined, what: string, min: number, max: number): number {
  if (value === undefined || !/^\d+$/.test(value)) throw new ConfigError(`${what} needs a whole number, got ${value === undefined ? "nothing" : `"${value}"`}`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(`${what} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(value: string, what: string): boolean {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(`${what} must be true or false, got "${value}"`);
}

/** The JSON file's shape: everything optional. */
export interface ConfigFile {
  listeners?: Partial<ListenerConfig>[];
  allowAnonymous?: boolean;
  users?: UserConfig[];
  acl?: AccessRules;
  limits?: Partial<Limits>;
  features?: Partial<FeaturePolicy>;
  preset?: "full" | "cloudflare";
  logLevel?: ServerConfig["logLevel"];
  logFormat?: ServerConfig["logFormat"];
  domain?: string;
  admin?: { listeners?: Partial<AdminListenerConfig>[]; token?: string; accountId?: string; metricsPublic?: boolean };
  data?: Partial<DataConfig>;
}

const FILE_KEYS = new Set(["listeners", "allowAnonymous", "users", "acl", "limits", "features", "preset", "logLevel", "logFormat", "domain", "admin", "data"]);
const DATA_KEYS = new Set(["dir", "mode", "windowMs"]);
const ADMIN_KEYS = new Set(["listeners", "token", "accountId", "metricsPublic"]);

/** Parses and checks a JSON config file's text. */
export function parseConfigFile(text: string, path: string): ConfigFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path} is not valid JSON (${(e as Error).message}); fix the syntax or pass a different --config`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new ConfigError(`${path} must hold a JSON object, like {"listeners": [...]}`);
  for (const key of Object.keys(data)) {
    if (!FILE_KEYS.has(key)) throw new ConfigError(`${path}: unknown setting "${key}"; known settings are ${[...FILE_KEYS].join(", ")}`);
  }
  const file = data as ConfigFile;
  for (const key of Object.keys(file.limits ?? {})) {
    if (!(key in DEFAULT_LIMITS)) throw new ConfigError(`${path}: unknown limit "${key}"; known limits are ${Object.keys(DEFAULT_LIMITS).join(", ")}`);
    const v = (file.limits as Record<string, unknown>)[key];
    if (typeof v !== "number" && typeof v !== "boolean") throw new ConfigError(`${path}: limit "${key}" must be a number`);
  }
  for (const [i, u] of (file.users ?? []).entries()) {
    if (typeof u?.username !== "string" || typeof u?.password !== "string") throw new ConfigError(`${path}: users[${i}] needs "username" and "password" strings`);
  }
  if (file.preset !== undefined && file.preset !== "full" && file.preset !== "cloudflare") throw new ConfigError(`${path}: preset must be "full" or "cloudflare"`);
  checkFeatures(file.features, path);
  checkAcl(file.acl, path);
  if (file.domain !== undefined && typeof file.domain !== "string") throw new ConfigError(`${path}: "domain" must be a string, like "mq.example.com"`);
  if (file.admin !== undefined) {
    if (typeof file.admin !== "object" || file.admin === null || Array.isArray(file.admin)) throw new ConfigError(`${path}: "admin" must be an object, like {"listeners": [{"port": 8080}]}`);
    for (const key of Object.keys(file.admin)) {
      if (!ADMIN_KEYS.has(key)) throw new ConfigError(`${path}: unknown admin setting "${key}"; known admin settings are ${[...ADMIN_KEYS].join(", ")}`);
    }
    if (file.admin.listeners !== undefined && !Array.isArray(file.admin.listeners)) throw new ConfigError(`${path}: admin.listeners must be a list, like [{"port": 8080}]`);
    if (file.admin.token !== undefined && typeof file.admin.token !== "string") throw new ConfigError(`${path}: admin.token must be a string`);
    if (file.admin.accountId !== undefined && typeof file.admin.accountId !== "string") throw new ConfigError(`${path}: admin.accountId must be a string`);
  }
  if (file.data !== undefined) {
    if (typeof file.data !== "object" || file.data === null || Array.isArray(file.data)) throw new ConfigError(`${path}: "data" must be an object, like {"dir": "./data"}`);
    for (const key of Object.keys(file.data)) {
      if (!DATA_KEYS.has(key)) throw new ConfigError(`${path}: unknown data setting "${key}"; known data settings are ${[...DATA_KEYS].join(", ")}`);
    }
    if (file.data.dir !== undefined && (typeof file.data.dir !== "string" || file.data.dir === "")) throw new ConfigError(`${path}: data.dir must be a directory path`);
    if (file.data.windowMs !== undefined && typeof file.data.windowMs !== "number") throw new ConfigError(`${path}: data.windowMs must be a number of milliseconds`);
  }
  for (const [i, l] of (file.listeners ?? []).entries()) {
    if (l.broker !== undefined && (typeof l.broker !== "string" || !/^[^.]+\.[^.]+$/.test(l.broker))) {
      throw new ConfigError(`${path}: listeners[${i}].broker must name one tenant broker as "<broker>.<namespace>", got ${JSON.stringify(l.broker)}`);
    }
  }
  return file;
}

// A misspelt feature would otherwise be ignored and leave the feature on.
function checkFeatures(features: unknown, path: string): void {
  if (features === undefined) return;
  if (typeof features !== "object" || features === null || Array.isArray(features)) throw new ConfigError(`${path}: "features" must be an object, like {"retainAvailable": false}`);
  for (const [key, v] of Object.entries(features)) {
    if (!(key in FULL_FEATURES)) throw new ConfigError(`${path}: unknown feature "${key}"; known features are ${Object.keys(FULL_FEATURES).join(", ")}`);
    if (key === "maximumQoS") {
      if (v !== 0 && v !== 1 && v !== 2) throw new ConfigError(`${path}: feature "maximumQoS" must be 0, 1 or 2`);
    } else if (key === "protocolVersions") {
      if (!Array.isArray(v) || v.length === 0 || !v.every((x) => x === 3 || x === 4 || x === 5)) throw new ConfigError(`${path}: feature "protocolVersions" must list some of 3, 4 and 5`);
    } else if (key === "refusal") {
      if (v !== "spec" && v !== "cloudflare") throw new ConfigError(`${path}: feature "refusal" must be "spec" or "cloudflare"`);
    } else if (typeof v !== "boolean") {
      throw new ConfigError(`${path}: feature "${key}" must be true or false`);
    }
  }
}

// A malformed rule would otherwise fail at the first publish, or deny without saying why.
function checkAcl(acl: unknown, path: string): void {
  if (acl === undefined) return;
  const a = acl as Partial<AccessRules> | null;
  if (typeof a !== "object" || a === null || !Array.isArray(a.rules)) throw new ConfigError(`${path}: "acl" needs a "rules" array and a "defaultEffect", like {"rules": [], "defaultEffect": "deny"}`);
  if (a.defaultEffect !== "allow" && a.defaultEffect !== "deny") throw new ConfigError(`${path}: acl.defaultEffect must be "allow" or "deny"`);
  for (const [i, r] of a.rules.entries()) {
    const where = `${path}: acl.rules[${i}]`;
    if (typeof r !== "object" || r === null) throw new ConfigError(`${where} must be an object`);
    for (const key of Object.keys(r)) {
      if (!["clientId", "username", "topics", "access", "effect"].includes(key)) throw new ConfigError(`${where} has unknown key "${key}"; rules have clientId, username, topics, access and effect`);
    }
    if (!Array.isArray(r.topics) || !r.topics.every((t) => typeof t === "string" && t.length > 0)) throw new ConfigError(`${where}.topics must be a list of topic filters`);
    if (!["publish", "subscribe", "all"].includes(r.access)) throw new ConfigError(`${where}.access must be "publish", "subscribe" or "all"`);
    if (r.effect !== "allow" && r.effect !== "deny") throw new ConfigError(`${where}.effect must be "allow" or "deny"`);
    if (r.clientId !== undefined && typeof r.clientId !== "string") throw new ConfigError(`${where}.clientId must be a string`);
    if (r.username !== undefined && typeof r.username !== "string") throw new ConfigError(`${where}.username must be a string`);
  }
}

/**
 * Builds the configuration from command-line arguments, the environment and
 * an optional config file's text (read by the caller, who knows the runtime).
 */
export function resolveConfig(args: string[], env: Record<string, string | undefined>, readFile: (path: string) => string): ServerConfig | "help" {
  const flags = new Map<string, string[]>();
  const BOOLEAN = new Set(["--metrics-public", "--allow-anonymous", "--no-anonymous", "--tls-client-auth", "--help", "-h"]);
  const VALUED = new Set(["--log-format", "--data", "--store-mode", "--store-window", "--admin-port", "--admin-host", "--admin-token", "--account-id", "--domain", "--host", "--port", "--tls-port", "--tls-cert", "--tls-key", "--tls-ca", "--ws-port", "--wss-port", "--ws-path", "--user", "--preset", "--config", "--log-level", "--hook-timeout", ...Object.keys(LIMIT_FLAGS)]);
  for (let i = 0; i < args.length; i++) {
    let arg = args[i]!;
    let value: string | undefined;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (BOOLEAN.has(arg)) {
      flags.set(arg, ["true"]);
    } else if (VALUED.has(arg)) {
      if (value === undefined) {
        value = args[++i];
        if (value === undefined || value.startsWith("--")) throw new ConfigError(`${arg} needs a value, e.g. ${arg} ${arg === "--port" ? "1883" : "<value>"}`);
      }
      flags.set(arg, [...(flags.get(arg) ?? []), value]);
    } else {
      throw new ConfigError(`unknown option "${arg}"; run with --help to see the options`);
    }
  }
  if (flags.has("--help") || flags.has("-h")) return "help";
  const flag = (name: string) => flags.get(name)?.at(-1);

  const configPath = flag("--config") ?? env.EDGEMQ_CONFIG;
  let file: ConfigFile = {};
  if (configPath) {
    let text: string;
    try {
      text = readFile(configPath);
    } catch (e) {
      throw new ConfigError(`cannot read config file ${configPath} (${(e as Error).message}); check the path given to --config or EDGEMQ_CONFIG`);
    }
    file = parseConfigFile(text, configPath);
  }

  const preset = (flag("--preset") ?? file.preset ?? "full") as ServerConfig["preset"];
  if (preset !== "full" && preset !== "cloudflare") throw new ConfigError(`--preset must be full or cloudflare, got "${preset}"`);
  // The preset's limits first, then the file's and the flags' over them.
  const limits: Limits = { ...DEFAULT_LIMITS, ...(preset === "cloudflare" ? CLOUDFLARE_LIMITS : undefined), ...file.limits };
  for (const [name, key] of Object.entries(LIMIT_FLAGS)) {
    const v = flag(name);
    if (v !== undefined) (limits as unknown as Record<string, number>)[key] = integer(v, name, 0, 0xffffffff);
  }
  if (limits.receiveMaximum < 1 || limits.receiveMaximum > 65535) throw new ConfigError(`receiveMaximum must be between 1 and 65535, got ${limits.receiveMaximum}`);
  if (limits.maximumPacketSize < 64) throw new ConfigError(`maximumPacketSize must be at least 64 bytes, got ${limits.maximumPacketSize}`);
  if (limits.maximumKeepAlive > 0 && limits.minimumKeepAlive > limits.maximumKeepAlive) {
    throw new ConfigError(`minimumKeepAlive (--min-keepalive, ${limits.minimumKeepAlive}) must not be above maximumKeepAlive (--max-keepalive, ${limits.maximumKeepAlive})`);
  }

  const listeners: ListenerConfig[] = [];
  const host = flag("--host") ?? env.EDGEMQ_HOST;
  const port = flag("--port") ?? env.EDGEMQ_PORT;
  if (file.listeners && host === undefined && port === undefined) {
    for (const [i, l] of file.listeners.entries()) {
      const protocol = l.protocol ?? "tcp";
      if (!["tcp", "tls", "ws", "wss"].includes(protocol)) throw new ConfigError(`listeners[${i}].protocol must be tcp, tls, ws or wss`);
      listeners.push({ ...l, protocol, host: l.host ?? "127.0.0.1", port: integer(String(l.port ?? 1883), `listeners[${i}].port`, 0, 65535) } as ListenerConfig);
    }
  } else {
    listeners.push({ protocol: "tcp", host: host ?? "127.0.0.1", port: integer(port ?? "1883", "--port", 0, 65535) });
  }
  const tlsPort = flag("--tls-port") ?? env.EDGEMQ_TLS_PORT;
  if (tlsPort !== undefined) {
    listeners.push({
      protocol: "tls", host: host ?? "127.0.0.1", port: integer(tlsPort, "--tls-port", 0, 65535),
      cert: flag("--tls-cert") ?? env.EDGEMQ_TLS_CERT, key: flag("--tls-key") ?? env.EDGEMQ_TLS_KEY,
      ca: flag("--tls-ca") ?? env.EDGEMQ_TLS_CA, requestCert: flags.has("--tls-client-auth"),
    });
  }
  const wsPath = flag("--ws-path");
  if (wsPath !== undefined && !wsPath.startsWith("/")) throw new ConfigError(`--ws-path must start with "/", got "${wsPath}"`);
  const wsPort = flag("--ws-port") ?? env.EDGEMQ_WS_PORT;
  if (wsPort !== undefined) listeners.push({ protocol: "ws", host: host ?? "127.0.0.1", port: integer(wsPort, "--ws-port", 0, 65535), path: wsPath });
  const wssPort = flag("--wss-port") ?? env.EDGEMQ_WSS_PORT;
  if (wssPort !== undefined) {
    listeners.push({
      protocol: "wss", host: host ?? "127.0.0.1", port: integer(wssPort, "--wss-port", 0, 65535), path: wsPath,
      cert: flag("--tls-cert") ?? env.EDGEMQ_TLS_CERT, key: flag("--tls-key") ?? env.EDGEMQ_TLS_KEY,
    });
  }
  for (const l of listeners) {
    if ((l.protocol === "tls" || l.protocol === "wss") && (!l.cert || !l.key)) {
      throw new ConfigError(`the ${l.protocol} listener on port ${l.port} needs a certificate and a key: pass --tls-cert <file> and --tls-key <file>`);
    }
    if (l.requestCert && !l.ca) throw new ConfigError(`client certificate verification on port ${l.port} needs a CA bundle: pass --tls-ca <file>`);
  }

  const users = [...(file.users ?? [])];
  for (const u of flags.get("--user") ?? []) {
    const colon = u.indexOf(":");
    if (colon <= 0) throw new ConfigError(`--user needs name:password, got "${u}"`);
    users.push({ username: u.slice(0, colon), password: u.slice(colon + 1) });
  }

  let allowAnonymous = true;
  let allowAnonymousExplicit = false;
  if (file.allowAnonymous !== undefined) { allowAnonymous = file.allowAnonymous; allowAnonymousExplicit = true; }
  if (env.EDGEMQ_ALLOW_ANONYMOUS !== undefined) { allowAnonymous = bool(env.EDGEMQ_ALLOW_ANONYMOUS, "EDGEMQ_ALLOW_ANONYMOUS"); allowAnonymousExplicit = true; }
  if (flags.has("--allow-anonymous")) { allowAnonymous = true; allowAnonymousExplicit = true; }
  if (flags.has("--no-anonymous")) { allowAnonymous = false; allowAnonymousExplicit = true; }
  if (!allowAnonymousExplicit && users.length > 0) allowAnonymous = false;

  const logLevel = (flag("--log-level") ?? env.EDGEMQ_LOG_LEVEL ?? file.logLevel ?? "info") as ServerConfig["logLevel"];
  if (!["debug", "info", "warn", "error"].includes(logLevel)) throw new ConfigError(`--log-level must be debug, info, warn or error, got "${logLevel}"`);

  const logFormat = (flag("--log-format") ?? env.EDGEMQ_LOG_FORMAT ?? file.logFormat ?? "text") as ServerConfig["logFormat"];
  if (logFormat !== "text" && logFormat !== "json") throw new ConfigError(`--log-format must be text or json, got "${logFormat}"`);
  const domain = (flag("--domain") ?? env.EDGEMQ_DOMAIN ?? file.domain ?? "localhost").toLowerCase().replace(/\.$/, "");
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(domain)) {
    throw new ConfigError(`--domain must be a DNS name such as mq.example.com, got "${domain}"`);
  }
  const admin = adminConfig(flag, env, file, host);
  admin.metricsPublic = flags.has("--metrics-public") || file.admin?.metricsPublic === true;
  const data = dataConfig(flag, env, file);
  const hookTimeout = flag("--hook-timeout") ?? env.EDGEMQ_HOOK_TIMEOUT_MS;
  const hookTimeoutMs = hookTimeout !== undefined ? integer(hookTimeout, "--hook-timeout", 1, 600_000) : undefined;

  const config: ServerConfig = { listeners, allowAnonymous, allowAnonymousExplicit, users, acl: file.acl, limits, features: file.features ?? {}, preset, logLevel, logFormat, domain, admin, data, hookTimeoutMs };
  checkExposure(config);
  return config;
}

function dataConfig(flag: (name: string) => string | undefined, env: Record<string, string | undefined>, file: ConfigFile): DataConfig {
  const dir = flag("--data") ?? env.EDGEMQ_DATA ?? file.data?.dir;
  const mode = flag("--store-mode") ?? env.EDGEMQ_STORE_MODE ?? file.data?.mode ?? "fsync";
  if (mode !== "fsync" && mode !== "batched" && mode !== "memory") throw new ConfigError(`--store-mode must be fsync, batched or memory, got "${mode}"`);
  if (dir === undefined && mode !== "fsync" && mode !== "memory") throw new ConfigError(`--store-mode ${mode} keeps data in a directory: add --data <dir>`);
  const window = flag("--store-window");
  const windowMs = window !== undefined ? integer(window, "--store-window", 1, 60_000) : file.data?.windowMs ?? 100;
  if (!Number.isInteger(windowMs) || windowMs < 1 || windowMs > 60_000) throw new ConfigError(`data.windowMs must be a whole number from 1 to 60000, got ${windowMs}`);
  return { dir: mode === "memory" ? undefined : dir, mode: dir === undefined ? "memory" : mode, windowMs };
}

// The admin API listeners come from --admin-port (and --admin-host) or the
// file's admin.listeners; an https listener needs its own certificate.
function adminConfig(flag: (name: string) => string | undefined, env: Record<string, string | undefined>, file: ConfigFile, host: string | undefined): AdminConfig {
  const listeners: AdminListenerConfig[] = [];
  const port = flag("--admin-port") ?? env.EDGEMQ_ADMIN_PORT;
  if (port !== undefined) {
    listeners.push({ protocol: "http", host: flag("--admin-host") ?? host ?? "127.0.0.1", port: integer(port, "--admin-port", 0, 65535) });
  } else {
    if (flag("--admin-host") !== undefined) throw new ConfigError("--admin-host needs --admin-port too, e.g. --admin-port 8080");
    for (const [i, l] of (file.admin?.listeners ?? []).entries()) {
      const protocol = l.protocol ?? "http";
      if (protocol !== "http" && protocol !== "https") throw new ConfigError(`admin.listeners[${i}].protocol must be http or https`);
      if (protocol === "https" && (!l.cert || !l.key)) throw new ConfigError(`admin.listeners[${i}] (https) needs "cert" and "key" PEM file paths`);
      listeners.push({ protocol, host: l.host ?? "127.0.0.1", port: integer(String(l.port ?? 8080), `admin.listeners[${i}].port`, 0, 65535), cert: l.cert, key: l.key });
    }
  }
  const token = flag("--admin-token") ?? env.EDGEMQ_ADMIN_TOKEN ?? file.admin?.token;
  if (token !== undefined && (token.length < 16 || !/^[\x21-\x7e]+$/.test(token))) {
    throw new ConfigError("the admin token (--admin-token, EDGEMQ_ADMIN_TOKEN or admin.token) must be at least 16 printable characters without spaces; generate one with: openssl rand -hex 32");
  }
  const accountId = flag("--account-id") ?? env.EDGEMQ_ACCOUNT_ID ?? file.admin?.accountId;
  if (accountId !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(accountId)) throw new ConfigError(`--account-id must be 1 to 64 letters, digits, - or _, got "${accountId}"`);
  return { listeners, token, accountId, metricsPublic: false };
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

// Anonymous access is the zero-config default only on loopback: a broker
// reachable from the network must have credentials or say it wants none.
function checkExposure(config: ServerConfig): void {
  if (!config.allowAnonymous || config.allowAnonymousExplicit) return;
  const exposed = config.listeners.filter((l) => !isLoopback(l.host));
  if (exposed.length === 0) return;
  const where = exposed.map((l) => `${l.host}:${l.port}`).join(", ");
  throw new ConfigError(
    `refusing to listen on ${where} with no authentication: anyone who can reach it could connect. ` +
    `Add users (--user name:password or "users" in the config file), or pass --allow-anonymous if open access is what you want.`,
  );
}
