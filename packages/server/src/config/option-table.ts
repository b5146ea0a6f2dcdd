import { z } from "zod";
import { ADMIN_CORS_OPTION } from "./admin-cors-option.ts";
import { DASHBOARD_OPTIONS } from "./dashboard-option.ts";
import { CLUSTER_OPTIONS } from "./cluster-options.ts";
import { DEFAULTS } from "./defaults.ts";
import { HOOK_ALLOW_OPTION } from "./hook-allow-option.ts";
import { LIMIT_OPTIONS } from "./limit-options.ts";
import { TENANT_CEILING_OPTION } from "./tenant-ceiling-option.ts";
import type { ServerOption } from "./server-option.ts";
import { choice, PORT, show, SWITCH, text, wholeNumber } from "./value-types.ts";

const DNS_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

// Text that must match `pattern`; `rule` says how, and the message ends with the value given.
const matching = (pattern: RegExp, rule: string) => z.string().regex(pattern, { error: (i) => `${rule}, got ${show(i.input)}` });

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
    type: text("<path>", matching(/^\//, 'must start with "/"')),
    target: "listeners", section: "Listeners", help: "upgrade only this path, e.g. /mqtt (default: any path)",
  },
  // Data
  {
    name: "data", type: text("<dir>"), env: "EDGEMQ_DATA", target: "data", section: "Data",
    file: { path: "data.dir", schema: z.string({ error: (i) => `must be a directory path, got ${show(i.input)}` }).min(1, { error: "must be a directory path, not empty" }) },
    help: ["keep sessions, messages, retained messages and tenants in <dir>/edgemq.db", "(SQLite); without it everything lives in memory and is lost at exit"],
  },
  {
    name: "store-mode", type: choice(["fsync", "batched", "memory"], "<mode>"), env: "EDGEMQ_STORE_MODE", file: { path: "data.mode" },
    default: DEFAULTS.storeMode, target: "data", section: "Data",
    help: ["fsync (default: nothing acknowledged is ever lost), batched (commits at least", "every --store-window ms; a crash loses at most that window) or memory"],
  },
  {
    name: "store-window", type: wholeNumber(1, 60_000, "<ms>"), file: { path: "data.windowMs" },
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
    // The message never repeats the value: it is a secret.
    type: text("<token>", z.string().regex(/^[\x21-\x7e]{16,}$/, { error: "must be at least 16 printable characters without spaces; generate one with: openssl rand -hex 32" })),
    env: "EDGEMQ_ADMIN_TOKEN", file: { path: "admin.token" }, target: "admin.token", section: "Admin API and tenants",
    help: ["the first Admin API token (better: EDGEMQ_ADMIN_TOKEN); when absent one is", "generated: to <data dir>/admin-token (0600) or the terminal, never the log"],
  },
  {
    name: "account-id",
    type: text("<id>", matching(/^[A-Za-z0-9_-]{1,64}$/, "must be 1 to 64 letters, digits, - or _")),
    env: "EDGEMQ_ACCOUNT_ID", file: { path: "admin.accountId" }, target: "admin.accountId", section: "Admin API and tenants",
    help: "serve only this account id in /client/v4/accounts/<id>/pubsub (default: any)",
  },
  {
    name: "domain",
    // Written in any case, with or without the root's dot: kept lower case, without it.
    type: text("<name>", z.string().transform((name) => name.toLowerCase().replace(/\.$/, "")).pipe(matching(DNS_NAME, "must be a DNS name such as mq.example.com"))),
    env: "EDGEMQ_DOMAIN", file: { path: "domain" },
    default: DEFAULTS.domain, target: "domain", section: "Admin API and tenants",
    help: ["tenant brokers are <broker>.<namespace>.<domain> by TLS SNI or WebSocket Host", `(default ${DEFAULTS.domain})`],
  },
  ADMIN_CORS_OPTION as ServerOption,
  ...DASHBOARD_OPTIONS as ServerOption[],
  TENANT_CEILING_OPTION as ServerOption,
  // Access
  // The file's null is taken as it is (not allowing anonymous clients, explicitly): it always has been.
  {
    name: "allow-anonymous", type: SWITCH, env: "EDGEMQ_ALLOW_ANONYMOUS", file: { path: "allowAnonymous", schema: SWITCH.schema.nullable() }, target: "allowAnonymous", section: "Access",
    help: "accept clients without credentials on any address",
  },
  { name: "no-anonymous", type: SWITCH, target: "allowAnonymous", section: "Access", help: "refuse clients without credentials, even on loopback" },
  {
    name: "user", type: text("<name:password>", matching(/^[^:]+:/, "needs name:password")), repeatable: true, target: "users", section: "Access",
    help: "a user for password authentication (repeatable)",
    file: { path: "users", schema: z.array(z.strictObject({ username: z.string(), password: z.string() })) },
  },
  {
    name: "session-takeover", type: choice(["same-identity", "any"], "<who>"), env: "EDGEMQ_SESSION_TAKEOVER", target: "sessionTakeover", section: "Access",
    file: { path: "sessionTakeover" },
    help: ["who may connect with a client id whose session exists: same-identity (default:", "only the user holding it; others get CONNACK 0x87) or any (anyone, as in Mosquitto)"],
  },
  // Broker
  {
    name: "preset", type: choice(["full", "cloudflare"]), default: DEFAULTS.preset, target: "preset", section: "Broker",
    file: { path: "preset" },
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
  {
    name: "metrics-public", type: SWITCH, file: { path: "admin.metricsPublic" }, default: false, target: "admin.metricsPublic", section: "Other",
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
