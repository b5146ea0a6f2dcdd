import { CLUSTER_OPTIONS } from "./cluster-options.ts";
import { DEFAULTS } from "./defaults.ts";
import { HOOK_ALLOW_OPTION } from "./hook-allow-option.ts";
import { LIMIT_OPTIONS } from "./limit-options.ts";
import { TENANT_CEILING_OPTION } from "./tenant-ceiling-option.ts";
import type { ServerOption } from "./server-option.ts";
import { ConfigError } from "./config-error.ts";
import { choice, PORT, SWITCH, text, wholeNumber } from "./value-types.ts";

const DNS_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

// A config file's value must have the shape its key promises; the messages follow the file's path.
const aString = (message: string) => (v: unknown) => (typeof v === "string" ? undefined : message);

/**
 * Every server option, in the order `--help` lists them within each section.
 * Help, flag parsing, the environment and the config file's keys all come
 * from here; build-config.ts puts the values where each `target` says.
 */
export const SERVER_OPTIONS: readonly ServerOption[] = [
  // Listeners
  {
    name: "host", type: text("<addr>"), env: "EDGEMQ_HOST", default: DEFAULTS.host, target: "listeners", section: "Listeners",
    help: `TCP listen address (default ${DEFAULTS.host})`,
  },
  {
    name: "port", type: PORT, env: "EDGEMQ_PORT", default: DEFAULTS.port, target: "listeners", section: "Listeners",
    help: `TCP port (default ${DEFAULTS.port}; 0 picks a free port)`,
  },
  {
    name: "tls-port", type: PORT, env: "EDGEMQ_TLS_PORT", target: "listeners", section: "Listeners",
    help: "also listen with TLS on this port (needs --tls-cert and --tls-key)",
  },
  { name: "tls-cert", type: text("<file>"), env: "EDGEMQ_TLS_CERT", target: "listeners", section: "Listeners", help: "PEM certificate chain" },
  { name: "tls-key", type: text("<file>"), env: "EDGEMQ_TLS_KEY", target: "listeners", section: "Listeners", help: "PEM private key" },
  {
    name: "tls-ca", type: text("<file>"), env: "EDGEMQ_TLS_CA", target: "listeners", section: "Listeners",
    help: "CA bundle to verify client certificates (requested, not required: for MTLS brokers)",
  },
  { name: "tls-client-auth", type: SWITCH, default: false, target: "listeners", section: "Listeners", help: "require a verified client certificate on the TLS listener" },
  { name: "ws-port", type: PORT, env: "EDGEMQ_WS_PORT", target: "listeners", section: "Listeners", help: "also serve MQTT over WebSocket (ws://) on this port" },
  {
    name: "wss-port", type: PORT, env: "EDGEMQ_WSS_PORT", target: "listeners", section: "Listeners",
    help: "also serve MQTT over secure WebSocket (wss://; uses --tls-cert/--tls-key)",
  },
  {
    name: "ws-path",
    type: text("<path>", (path, label) => {
      if (!path.startsWith("/")) throw new ConfigError(`${label} must start with "/", got "${path}"`);
      return path;
    }),
    target: "listeners", section: "Listeners", help: "upgrade only this path, e.g. /mqtt (default: any path)",
  },
  // Data
  {
    name: "data", type: text("<dir>"), env: "EDGEMQ_DATA", target: "data", section: "Data",
    file: { path: "data.dir", problem: (v) => (typeof v !== "string" || v === "" ? "data.dir must be a directory path" : undefined) },
    help: ["keep sessions, messages, retained messages and tenants in <dir>/edgemq.db", "(SQLite); without it everything lives in memory and is lost at exit"],
  },
  {
    name: "store-mode", type: choice(["fsync", "batched", "memory"], "<mode>"), env: "EDGEMQ_STORE_MODE", file: { path: "data.mode" },
    default: DEFAULTS.storeMode, target: "data", section: "Data",
    help: ["fsync (default: nothing acknowledged is ever lost), batched (commits at least", "every --store-window ms; a crash loses at most that window) or memory"],
  },
  {
    name: "store-window",
    type: {
      ...wholeNumber(1, 60_000, "<ms>"),
      // The file's number was only checked to be a number; a flag's was checked as it was read.
      check(ms: number) {
        if (!Number.isInteger(ms) || ms < 1 || ms > 60_000) throw new ConfigError(`data.windowMs must be a whole number from 1 to 60000, got ${ms}`);
        return ms;
      },
    },
    file: { path: "data.windowMs", problem: (v) => (typeof v !== "number" ? "data.windowMs must be a number of milliseconds" : undefined) },
    default: DEFAULTS.storeWindowMs, target: "data", section: "Data", help: `the batched mode's commit window (default ${DEFAULTS.storeWindowMs})`,
  },
  // Admin API and tenants
  {
    name: "admin-port", type: PORT, env: "EDGEMQ_ADMIN_PORT", target: "admin.listeners", section: "Admin API and tenants",
    help: "serve the admin HTTP API (namespaces, brokers, credentials) on this port",
  },
  {
    name: "admin-host", type: text("<addr>"), target: "admin.listeners", section: "Admin API and tenants",
    help: `admin API listen address (default: --host, else ${DEFAULTS.host})`,
  },
  {
    name: "admin-token",
    type: text("<token>", (token) => {
      if (token.length < 16 || !/^[\x21-\x7e]+$/.test(token)) {
        throw new ConfigError("the admin token (--admin-token, EDGEMQ_ADMIN_TOKEN or admin.token) must be at least 16 printable characters without spaces; generate one with: openssl rand -hex 32");
      }
      return token;
    }),
    env: "EDGEMQ_ADMIN_TOKEN", file: { path: "admin.token", problem: aString("admin.token must be a string") }, target: "admin.token", section: "Admin API and tenants",
    help: ["the first Admin API token (better: EDGEMQ_ADMIN_TOKEN); when absent one is", "generated and printed once"],
  },
  {
    name: "account-id",
    type: text("<id>", (id, label) => {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new ConfigError(`${label} must be 1 to 64 letters, digits, - or _, got "${id}"`);
      return id;
    }),
    env: "EDGEMQ_ACCOUNT_ID", file: { path: "admin.accountId", problem: aString("admin.accountId must be a string") }, target: "admin.accountId", section: "Admin API and tenants",
    help: "serve only this account id in /client/v4/accounts/<id>/pubsub (default: any)",
  },
  {
    name: "domain",
    type: text("<name>", (name, label) => {
      const domain = name.toLowerCase().replace(/\.$/, "");
      if (!DNS_NAME.test(domain)) throw new ConfigError(`${label} must be a DNS name such as mq.example.com, got "${domain}"`);
      return domain;
    }),
    env: "EDGEMQ_DOMAIN", file: { path: "domain", problem: aString('"domain" must be a string, like "mq.example.com"') },
    default: DEFAULTS.domain, target: "domain", section: "Admin API and tenants",
    help: ["tenant brokers are <broker>.<namespace>.<domain> by TLS SNI or WebSocket Host", `(default ${DEFAULTS.domain})`],
  },
  TENANT_CEILING_OPTION as ServerOption,
  // Access
  // The file's value is taken as it is, null included: it has always been (see keepsNull).
  {
    name: "allow-anonymous", type: SWITCH, env: "EDGEMQ_ALLOW_ANONYMOUS", file: { path: "allowAnonymous", keepsNull: true }, target: "allowAnonymous", section: "Access",
    help: "accept clients without credentials on any address",
  },
  { name: "no-anonymous", type: SWITCH, target: "allowAnonymous", section: "Access", help: "refuse clients without credentials, even on loopback" },
  {
    name: "user", type: text("<name:password>"), repeatable: true, target: "users", section: "Access", help: "a user for password authentication (repeatable)",
    file: {
      path: "users",
      problem: (users) => {
        for (const [i, u] of ((users ?? []) as { username?: unknown; password?: unknown }[]).entries()) {
          if (typeof u?.username !== "string" || typeof u?.password !== "string") return `users[${i}] needs "username" and "password" strings`;
        }
        return undefined;
      },
    },
  },
  {
    name: "session-takeover", type: choice(["same-identity", "any"], "<who>"), env: "EDGEMQ_SESSION_TAKEOVER", target: "sessionTakeover", section: "Access",
    file: { path: "sessionTakeover", problem: (v) => (v !== "same-identity" && v !== "any" ? 'sessionTakeover must be "same-identity" or "any"' : undefined) },
    help: ["who may connect with a client id whose session exists: same-identity (default:", "only the user holding it; others get CONNACK 0x87) or any (anyone, as in Mosquitto)"],
  },
  // Broker
  {
    name: "preset", type: choice(["full", "cloudflare"]), default: DEFAULTS.preset, target: "preset", section: "Broker",
    file: { path: "preset", problem: (v) => (v !== "full" && v !== "cloudflare" ? 'preset must be "full" or "cloudflare"' : undefined) },
    help: ["feature set and limits (cloudflare: Cloudflare Pub/Sub's compatibility table", "and limits: 64 KB messages, 10 packets/s, 9 topic levels, 23-byte client ids...)"],
  },
  ...LIMIT_OPTIONS,
  // Other
  {
    name: "config", type: text("<file.json>"), env: "EDGEMQ_CONFIG", target: "the config file", section: "Other",
    help: "read settings from a JSON file (flags override it); its keys are listed below",
  },
  {
    name: "log-level", type: choice(["debug", "info", "warn", "error"], "<level>"), env: "EDGEMQ_LOG_LEVEL", file: { path: "logLevel" }, default: DEFAULTS.logLevel, target: "logLevel", section: "Other",
    help: `debug, info, warn or error (default ${DEFAULTS.logLevel}; debug logs every connection)`,
  },
  {
    name: "hook-timeout", type: wholeNumber(1, 600_000, "<ms>"), env: "EDGEMQ_HOOK_TIMEOUT_MS", target: "hookTimeoutMs", section: "Other",
    help: `how long an on-publish hook URL has to answer (default ${DEFAULTS.hookTimeoutMs})`,
  },
  HOOK_ALLOW_OPTION,
  ...CLUSTER_OPTIONS,
  {
    name: "memory-budget", type: wholeNumber(0, Number.MAX_SAFE_INTEGER, "<bytes>"), env: "EDGEMQ_MEMORY_BUDGET", file: { path: "memoryBudget" }, default: DEFAULTS.memoryBudget, target: "memoryBudget", section: "Broker",
    help: [
      "bytes all brokers together may hold in partial packets and queued messages;",
      "past it a partial packet's connection gets DISCONNECT 0x97 and queued messages",
      `are dropped, counted (default: a quarter of memory, at most 1 GiB; 0: none)`,
    ],
  },
  {
    name: "max-sessions-total", type: wholeNumber(0, Number.MAX_SAFE_INTEGER), env: "EDGEMQ_MAX_SESSIONS_TOTAL", file: { path: "maxSessionsTotal" }, default: DEFAULTS.maxSessionsTotal, target: "maxSessionsTotal", section: "Broker",
    help: [`sessions all brokers together may hold (default ${DEFAULTS.maxSessionsTotal}; 0: none);`, "a new one beyond it gets CONNACK 0x97"],
  },
  {
    name: "log-format", type: choice(["text", "json"], "<format>"), env: "EDGEMQ_LOG_FORMAT", file: { path: "logFormat" }, default: DEFAULTS.logFormat, target: "logFormat", section: "Other",
    help: "text (default) or json (one object per line: time, level, msg, fields)",
  },
  // The file's value counts only when it is true, as it always has.
  {
    name: "metrics-public", type: SWITCH, file: { path: "admin.metricsPublic", read: (v) => v === true }, default: false, target: "admin.metricsPublic", section: "Other",
    help: "serve /metrics on the admin port without an API token",
  },
  { name: "help", short: "h", type: SWITCH, target: "help", section: "Other", help: "show this text" },
];

/** The option with this name (a programming error when there is none). */
export function option(name: string): ServerOption {
  const found = SERVER_OPTIONS.find((o) => o.name === name);
  if (found === undefined) throw new Error(`no server option "${name}"`);
  return found;
}
