// The server's option table (packages/server/src/config/option-table.ts) and
// what is derived from it: --help, the flags, the environment and the config
// file's keys, and where each value lands in the configuration.
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "@edgemq/core";
import { ConfigError, configWarnings, resolveConfig, type ServerConfig, USAGE } from "../../packages/server/src/config.ts";
import { fileValueAt, keysUnder } from "../../packages/server/src/config/config-file.ts";
import { FILE_SECTIONS } from "../../packages/server/src/config/file-sections.ts";
import { SERVER_OPTIONS } from "../../packages/server/src/config/option-table.ts";
import { flagOf, HELP_SECTIONS, isDirectTarget } from "../../packages/server/src/config/server-option.ts";

const resolve = (args: string[], env: Record<string, string> = {}, file?: unknown): ServerConfig => {
  const c = resolveConfig(args, env, () => JSON.stringify(file));
  if (c === "help") throw new Error("unexpected help");
  return c;
};
const failure = (args: string[], env: Record<string, string> = {}, file?: unknown): string => {
  try {
    resolve(file === undefined ? args : [...args, "--config", "edgemq.json"], env, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("no error");
};

// A value each option takes, as text, that no other setting contradicts.
const SAMPLES: Record<string, string> = {
  host: "127.0.0.2", port: "1884", "tls-port": "8883", "tls-cert": "c.pem", "tls-key": "k.pem", "tls-ca": "ca.pem", "ws-port": "8080", "wss-port": "8443",
  "ws-path": "/mqtt", data: "/tmp/edgemq-options-test", "store-mode": "batched", "store-window": "250", "admin-port": "9090", "admin-host": "127.0.0.3",
  "admin-token": "0123456789abcdef0123", "account-id": "acct_1", domain: "mq.example.com", user: "u:p", preset: "cloudflare", config: "edgemq.json",
  "log-level": "debug", "hook-timeout": "3000", "log-format": "json", "connect-timeout": "30", "session-takeover": "any",
  "memory-budget": "50000000", "max-sessions-total": "5000", "admin-cors-origin": "https://ops.example.com", cluster: "nats://127.0.0.1:4222", "node-id": "node-1",
  "cluster-creds": "edgemq.creds", "cluster-nkey": "edgemq.nk", "cluster-tls-ca": "nats-ca.pem", "cluster-tls-cert": "node.pem", "cluster-tls-key": "node-key.pem", "cluster-replicas": "3",
};
// A client certificate comes with its key, and the key with its certificate.
const clusterPair = (name: string) => (name === "cluster-tls-cert" ? ["--cluster-tls-key", "k.pem"] : name === "cluster-tls-key" ? ["--cluster-tls-cert", "c.pem"] : []);
// Options that are only flags: switches, ones that refine another flag, and the limits (set in the file under "limits").
const FLAG_ONLY = ["tls-client-auth", "ws-path", "store-window", "admin-host", "no-anonymous", "user", "preset", "metrics-public", "help", "tenant-ceiling", "hook-allow"];

describe("the server's option table", () => {
  it("gives every option a unique flag, a section of --help and a help line", () => {
    const names = SERVER_OPTIONS.map((o) => o.name);
    expect(new Set(names).size).toBe(names.length);
    for (const o of SERVER_OPTIONS) {
      expect(o.name, o.name).toMatch(/^[a-z][a-z-]*[a-z]$/);
      expect(HELP_SECTIONS, o.name).toContain(o.section);
      expect([o.help].flat().join(" ").trim().length, o.name).toBeGreaterThan(0);
      if (o.type.kind !== "switch") expect(o.type.placeholder, o.name).toMatch(/^<.+>$/);
    }
  });

  it("gives every option an EDGEMQ_ variable of its own, except the limits and the few that are flags only", () => {
    const envs = SERVER_OPTIONS.flatMap((o) => (o.env === undefined ? [] : [o.env]));
    expect(new Set(envs).size).toBe(envs.length);
    for (const e of envs) expect(e).toMatch(/^EDGEMQ_[A-Z_]+$/);
    const without = SERVER_OPTIONS.filter((o) => o.env === undefined && !o.target.startsWith("limits.")).map((o) => o.name);
    expect(without.sort()).toEqual([...FLAG_ONLY].sort());
  });

  it("lists every option with its placeholder, every variable and every config file key in --help", () => {
    for (const o of SERVER_OPTIONS) {
      const label = o.type.placeholder === undefined ? flagOf(o) : `${flagOf(o)} ${o.type.placeholder}`;
      expect(USAGE, o.name).toContain(`  ${o.short === undefined ? "" : `-${o.short}, `}${label}  `);
      if (o.env !== undefined) expect(USAGE, o.env).toContain(o.env);
    }
    for (const key of keysUnder("")) expect(USAGE, key).toContain(key);
    expect(USAGE.split("\n").every((line) => line.length <= 120)).toBe(true);
  });

  it("sends every option somewhere in the configuration: a property of its own, a limit, or a part built from several options", () => {
    const built = ["listeners", "admin.listeners", "users", "allowAnonymous", "admin.dashboard", "data", "tenantCeilings", "hookAllow", "cluster", "the config file", "help"];
    for (const o of SERVER_OPTIONS) {
      const limit = o.target.startsWith("limits.") ? o.target.slice("limits.".length) : undefined;
      if (limit !== undefined) expect(Object.keys(DEFAULT_LIMITS), o.name).toContain(limit);
      else expect(isDirectTarget(o.target) || built.includes(o.target), `${o.name} -> ${o.target}`).toBe(true);
    }
  });

  it("puts a flag's value where the option's target says", () => {
    for (const o of SERVER_OPTIONS.filter((o) => isDirectTarget(o.target) || o.target.startsWith("limits."))) {
      const text = o.type.kind === "switch" ? undefined : SAMPLES[o.name] ?? "70";
      const config = resolve(text === undefined ? [flagOf(o)] : [flagOf(o), text]);
      const expected = o.type.kind === "switch" ? true : o.type.kind === "whole number" ? Number(text) : o.type.kind === "list" ? [text] : text;
      expect(fileValueAt(config, o.target), o.name).toEqual(expected);
    }
  });

  it("reads every variable the table names, into the same place as the flag", () => {
    for (const o of SERVER_OPTIONS.filter((o) => o.env !== undefined && o.name !== "config")) {
      const text = o.type.kind === "switch" ? "true" : SAMPLES[o.name]!;
      // Options that need a companion (a TLS port needs a certificate and a key) get it by flag, in both runs.
      const companions = o.name === "tls-port" || o.name === "wss-port" ? ["--tls-cert", "c.pem", "--tls-key", "k.pem"] 
        : o.name === "store-mode" ? ["--data", "/tmp/d"] : o.name === "node-id" || o.name.startsWith("cluster-") ? ["--cluster", "nats://127.0.0.1:4222", ...clusterPair(o.name)] : [];
      const byFlag = resolve([...companions, ...(o.type.kind === "switch" ? [flagOf(o)] : [flagOf(o), text])]);
      const byEnv = resolve(companions, { [o.env!]: text });
      expect(byEnv, o.name).toEqual(byFlag);
    }
  });

  it("lets a flag override the environment, the environment the file, and the file the default", () => {
    expect(resolve([]).logLevel).toBe("info");
    expect(resolve(["--config", "f"], {}, { logLevel: "warn" }).logLevel).toBe("warn");
    expect(resolve(["--config", "f"], { EDGEMQ_LOG_LEVEL: "error" }, { logLevel: "warn" }).logLevel).toBe("error");
    expect(resolve(["--config", "f", "--log-level", "debug"], { EDGEMQ_LOG_LEVEL: "error" }, { logLevel: "warn" }).logLevel).toBe("debug");
  });

  it("takes every config file key of an option at the path the table gives", () => {
    for (const o of SERVER_OPTIONS.filter((o) => o.file !== undefined)) {
      const path = o.file!.path.split(".");
      expect(keysUnder(path.slice(0, -1).join(".")), o.name).toContain(path.at(-1));
    }
    const c = resolve(["--config", "f"], {}, { domain: "Files.Example.", admin: { token: "abcdefabcdefabcdef", metricsPublic: true }, data: { dir: "/tmp/d", mode: "batched", windowMs: 250 }, limits: { maximumConnections: 3 } });
    expect([c.domain, c.admin.token, c.admin.metricsPublic, c.data, c.limits.maximumConnections]).toEqual(["files.example", "abcdefabcdefabcdef", true, { dir: "/tmp/d", mode: "batched", windowMs: 250 }, 3]);
  });

  it("joins a cluster only with --cluster: its NATS URLs from the flag, the variable or the file's cluster.servers, and a node id that needs it", () => {
    expect(resolve([]).cluster).toBeUndefined();
    expect(resolve(["--cluster", "nats://a:4222, tls://b:4223"]).cluster).toEqual({ servers: ["nats://a:4222", "tls://b:4223"], nodeId: undefined });
    expect(resolve(["--node-id", "n1"], { EDGEMQ_CLUSTER: "nats://a:4222" }).cluster).toEqual({ servers: ["nats://a:4222"], nodeId: "n1" });
    expect(resolve(["--config", "f"], {}, { cluster: { servers: ["nats://a:1", "nats://b:2"], nodeId: "x" } }).cluster).toEqual({ servers: ["nats://a:1", "nats://b:2"], nodeId: "x" });
    expect(failure(["--cluster", "http://a:4222"])).toMatch(/^--cluster needs NATS server URLs such as nats:\/\/127\.0\.0\.1:4222, got "http:\/\/a:4222"/);
    expect(failure(["--node-id", "n1"])).toMatch(/^--node-id names this node in a cluster: add --cluster/);
    expect(failure(["--cluster", "nats://a:1", "--node-id", "has space"])).toMatch(/^--node-id must be 1 to 128 printable characters without spaces/);
    expect(failure([], {}, { cluster: { servers: 4222 } })).toMatch(/cluster\.servers must be a list, got 4222/);
    expect(resolve(["--cluster", "nats://a:1", "--cluster-replicas", "3"]).cluster?.replicas).toBe(3);
    expect(failure(["--cluster-replicas", "3"])).toMatch(/^--cluster-replicas is for a cluster's JetStream: add --cluster/);
    expect(failure(["--cluster", "nats://a:1", "--cluster-replicas", "9"])).toMatch(/^--cluster-replicas /);
    expect(failure([], {}, { cluster: { server: "nats://a:1" } })).toMatch(/cluster\.server is not a setting: did you mean "servers"\? \(allowed here: tls, servers, replicas, nodeId, creds, nkey\)/);
  });

  it("takes the NATS credentials and TLS files from flags, variables or the file's cluster section, and refuses them without --cluster or half a pair", () => {
    const c = resolve(["--cluster", "nats://a:1", "--cluster-creds", "/k/n.creds", "--cluster-tls-ca", "/k/ca.pem"], { EDGEMQ_CLUSTER_TLS_CERT: "/k/c.pem", EDGEMQ_CLUSTER_TLS_KEY: "/k/k.pem" }).cluster;
    expect(c).toEqual({ servers: ["nats://a:1"], nodeId: undefined, creds: "/k/n.creds", tlsCa: "/k/ca.pem", tlsCert: "/k/c.pem", tlsKey: "/k/k.pem" });
    const fromFile = resolve(["--config", "/etc/edgemq/edgemq.json"], {}, { cluster: { servers: ["tls://a:1"], nkey: "node.nk", tls: { ca: "/pki/ca.pem" } } }).cluster;
    expect([fromFile?.nkey, fromFile?.tlsCa]).toEqual(["/etc/edgemq/node.nk", "/pki/ca.pem"]);
    expect(failure(["--cluster-tls-ca", "ca.pem"])).toMatch(/^--cluster-tls-ca is for joining a cluster: add --cluster nats:\/\/host:port/);
    expect(failure(["--cluster", "nats://a:1", "--cluster-tls-cert", "c.pem"])).toMatch(/^--cluster-tls-cert needs its key: add --cluster-tls-key <file>/);
    expect(failure(["--cluster", "nats://a:1", "--cluster-creds", "a", "--cluster-nkey", "b"])).toMatch(/give one of them/);
  });

  it("takes tenant ceilings from the defaults, then the file, then --tenant-ceiling, and refuses server limits above them", () => {
    expect(resolve([]).tenantCeilings).toMatchObject({ max_message_size: 16 * 1024 * 1024, max_topic_levels: 1024 });
    const c = resolve(["--config", "f", "--tenant-ceiling", "max_topic_levels=200"], {}, { tenantCeilings: { max_message_size: 1 << 20, max_connections: 500 }, limits: { maximumConnections: 100 } });
    expect(c.tenantCeilings).toMatchObject({ max_message_size: 1 << 20, max_connections: 500, max_topic_levels: 200 });
    expect(failure(["--tenant-ceiling", "max_message_size"])).toMatch(/^--tenant-ceiling takes <limit>=<n>, such as max_message_size=67108864/);
    expect(failure(["--tenant-ceiling", "max_message_size=10"])).toMatch(/^the ceiling of max_message_size must be a whole number from 64 to 268435455, not 10/);
    expect(failure(["--tenant-ceiling", "max_connections=500"])).toMatch(/maximumConnections \(0: .*\) is above the tenant ceiling for max_connections, 500: .*--tenant-ceiling max_connections=<n>/);
    expect(resolve(["--tenant-ceiling", "max_connections=500", "--max-connections", "200"]).limits.maximumConnections).toBe(200);
  });

  it("takes hook allowances from the file, then every --hook-allow, and refuses one that is no address, range or host name", () => {
    expect(resolve([]).hookAllow).toEqual([]);
    expect(resolve(["--config", "f", "--hook-allow", "10.0.0.0/8", "--hook-allow", "hooks.internal"], {}, { hookAllow: ["169.254.169.254"] }).hookAllow)
      .toEqual(["169.254.169.254", "10.0.0.0/8", "hooks.internal"]);
    expect(failure(["--hook-allow", "10.0.0.0/40"])).toMatch(/^hook destination "10\.0\.0\.0\/40" is neither an address, a CIDR range .* \(--hook-allow or hookAllow in the config file\)/);
    expect(failure([], {}, { hookAllow: "10.0.0.0/8" })).toMatch(/hookAllow must be a list of addresses, CIDR ranges or host names/);
  });

  it("refuses an unknown flag, a word that is no flag and a missing value, saying what to do", () => {
    expect(failure(["--prot", "1"])).toBe('unknown option "--prot" (did you mean --port?); run with --help to see the options');
    expect(failure(["--port=1", "-hx"])).toBe('unknown option "-hx"; run with --help to see the options');
    expect(failure(["1883"])).toBe('unknown option "1883"; run with --help to see the options');
    expect(failure(["--port"])).toBe("--port needs a value, e.g. --port 1883");
    expect(failure(["--host", "--port", "1"])).toBe("--host needs a value, e.g. --host <value>");
    expect(resolveConfig(["--port", "1", "-h"], {}, () => "")).toBe("help");
  });

  it("names the variable when a variable's value is wrong, and the flag when a flag's is", () => {
    expect(failure([], { EDGEMQ_PORT: "http" })).toBe('EDGEMQ_PORT needs a whole number, got "http"');
    expect(failure([], { EDGEMQ_LOG_FORMAT: "xml" })).toBe('EDGEMQ_LOG_FORMAT must be text or json, got "xml"');
    expect(failure([], { EDGEMQ_ALLOW_ANONYMOUS: "maybe" })).toBe('EDGEMQ_ALLOW_ANONYMOUS must be true or false, got "maybe"');
    expect(failure(["--log-format", "xml"])).toBe('--log-format must be text or json, got "xml"');
  });

  it("leaves alone EDGEMQ_ variables it does not know, which the CLI and the test suite set in the same environment", () => {
    expect(resolve([], { EDGEMQ_API_URL: "http://127.0.0.1:8080", EDGEMQ_TEST_RUNTIME: "bun", EDGEMQ_PROT: "1" }).listeners[0]!.port).toBe(1883);
  });

  it("refuses an unknown config file key at each level, naming its key path, the key likely meant and the known ones", () => {
    expect(failure([], {}, { listners: [] })).toMatch(/^edgemq\.json: listners is not a setting: did you mean "listeners"\? \(allowed here: listeners, /);
    expect(failure([], {}, { admin: { tokn: "x" } })).toBe('edgemq.json: admin.tokn is not a setting: did you mean "token"? (allowed here: listeners, token, accountId, corsOrigins, dashboard, metricsPublic)');
    expect(failure([], {}, { data: { dri: "x" } })).toBe('edgemq.json: data.dri is not a setting: did you mean "dir"? (allowed here: dir, mode, windowMs)');
    expect(failure([], {}, { limits: { maxPacket: 1 } })).toMatch(/^edgemq\.json: limits\.maxPacket is not a setting: did you mean "maximumPacketSize"\?/);
    expect(failure([], {}, { features: { maxQos: 1 } })).toMatch(/^edgemq\.json: features\.maxQos is not a setting: did you mean "maximumQoS"\?/);
    expect(failure([], {}, { limits: { zzz: 1 } })).toMatch(/^edgemq\.json: limits\.zzz is not a setting: remove it, or use one of maximumPacketSize, /);
    expect(failure([], {}, { data: "./data" })).toBe('edgemq.json: data must be an object, got "./data"');
  });

  it("refuses a config file value of the wrong shape, naming the file and the key path", () => {
    expect(failure([], {}, { domain: 3 })).toBe("edgemq.json: domain must be a string, got 3");
    expect(failure([], {}, { admin: { token: 5 } })).toBe("edgemq.json: admin.token must be a string, got 5");
    expect(failure([], {}, { data: { windowMs: "soon" } })).toBe('edgemq.json: data.windowMs needs a whole number, got "soon"');
    expect(failure([], {}, { users: [{ username: "a" }] })).toBe("edgemq.json: users[0].password is missing: it needs a string");
    expect(failure([], {}, { limits: { maximumQueuedMessages: -1 } })).toBe("edgemq.json: limits.maximumQueuedMessages must be 0 or more, got -1");
  });

  it("reports every problem at once, from the flags, the environment and the file, each naming where it is", () => {
    const e = (() => {
      try {
        resolve(["--config", "edgemq.json", "--log-format", "xml", "--prot", "1"], { EDGEMQ_PORT: "abc" }, { limits: { maxQos: 1, receiveMaximum: "7" }, admin: { tokn: "x" } });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error("no error");
    })();
    expect(e.problems).toEqual([
      'unknown option "--prot" (did you mean --port?); run with --help to see the options',
      'edgemq.json: limits.receiveMaximum needs a whole number, got "7"',
      "edgemq.json: limits.maxQos is not a setting: remove it, or use one of maximumPacketSize, maximumConnectPacketSize, connectTimeout, maximumKeepAlive, receiveMaximum, maximumInflight, maximumQueuedMessages, maximumQueuedBytes, queueQos0, topicAliasMaximum, maximumSessionExpiryInterval, maximumClientIdLength, maximumTopicLevels, maximumTopicLength, maximumSubscriptionsPerClient, sysInterval, maximumPacketsPerSecond, maximumBytesPerSecond, maximumConnections, maximumSessions, maximumSubscribersPerTopic, maximumRetainedMessages, maximumRetainedBytes, minimumKeepAlive",
      'edgemq.json: admin.tokn is not a setting: did you mean "token"? (allowed here: listeners, token, accountId, corsOrigins, dashboard, metricsPublic)',
      'EDGEMQ_PORT needs a whole number, got "abc"',
      '--log-format must be text or json, got "xml"',
    ]);
    expect(e.message).toMatch(/^6 problems in the configuration; fix them all, then start again:\n  - unknown option "--prot"/);
  });

  it("reports every problem found across settings too, after the values' own", () => {
    expect(() => resolve(["--min-keepalive", "100", "--max-keepalive", "50", "--receive-maximum", "0", "--host", "0.0.0.0"])).toThrow(expect.objectContaining({
      problems: [
        "receiveMaximum (--receive-maximum or limits.receiveMaximum) must be between 1 and 65535, got 0",
        "minimumKeepAlive (--min-keepalive, 100) must not be above maximumKeepAlive (--max-keepalive, 50)",
        expect.stringMatching(/^refusing to listen on 0\.0\.0\.0:1883 with no authentication/),
      ],
    }));
  });

  it("resolves the file's paths against the file's folder, not the working directory", () => {
    const c = resolveConfig(["--config", "/etc/edgemq/edgemq.json"], {}, () => JSON.stringify({
      data: { dir: "data" },
      listeners: [{ protocol: "tls", port: 0, cert: "tls/server.crt", key: "/secrets/server.key", ca: "../ca.pem" }],
      admin: { listeners: [{ protocol: "https", port: 0, cert: "admin.crt", key: "admin.key" }] },
    })) as ServerConfig;
    expect(c.data.dir).toBe("/etc/edgemq/data");
    expect(c.listeners[0]).toMatchObject({ cert: "/etc/edgemq/tls/server.crt", key: "/secrets/server.key", ca: "/etc/ca.pem" });
    expect(c.admin.listeners[0]).toMatchObject({ cert: "/etc/edgemq/admin.crt", key: "/etc/edgemq/admin.key" });
    // A flag's path stays as it was typed: relative to where edgemq is started.
    expect(resolveConfig(["--config", "/etc/edgemq/edgemq.json", "--data", "here"], {}, () => "{}")).toMatchObject({ data: { dir: "here" } });
  });

  it("serves the dashboard unless --no-dashboard, EDGEMQ_NO_DASHBOARD or the file's admin.dashboard: false turns it off", () => {
    expect(resolve([]).admin.dashboard).toBe(true);
    expect(resolve(["--no-dashboard"]).admin.dashboard).toBe(false);
    expect(resolve([], { EDGEMQ_NO_DASHBOARD: "1" }).admin.dashboard).toBe(false);
    expect(resolve([], { EDGEMQ_NO_DASHBOARD: "false" }).admin.dashboard).toBe(true);
    expect(resolve([], { EDGEMQ_DASHBOARD: "off" }).admin.dashboard).toBe(false);
    expect(resolve(["--config", "f"], {}, { admin: { dashboard: false } }).admin.dashboard).toBe(false);
    expect(resolve(["--config", "f", "--dashboard"], {}, { admin: { dashboard: false } }).admin.dashboard).toBe(true);
    expect(resolve(["--config", "f", "--no-dashboard"], { EDGEMQ_DASHBOARD: "1" }, { admin: { dashboard: true } }).admin.dashboard).toBe(false);
    expect(failure([], { EDGEMQ_NO_DASHBOARD: "maybe" })).toBe('EDGEMQ_NO_DASHBOARD must be true or false, got "maybe"');
    expect(failure([], {}, { admin: { dashboard: "no" } })).toBe('edgemq.json: admin.dashboard must be true or false, got "no"');
  });

  it("takes the admin API's CORS origins from every --admin-cors-origin (each perhaps a comma list), else the variable, else the file", () => {
    expect(resolve([]).admin.corsOrigins).toEqual([]);
    expect(resolve(["--admin-cors-origin", "https://ops.example.com", "--admin-cors-origin", "http://localhost:3000, *"]).admin.corsOrigins)
      .toEqual(["https://ops.example.com", "http://localhost:3000", "*"]);
    expect(resolve([], { EDGEMQ_ADMIN_CORS_ORIGIN: "https://a.example.com,https://b.example.com:8443" }).admin.corsOrigins).toEqual(["https://a.example.com", "https://b.example.com:8443"]);
    expect(resolve(["--config", "f"], {}, { admin: { corsOrigins: ["https://ops.example.com"] } }).admin.corsOrigins).toEqual(["https://ops.example.com"]);
    expect(resolve(["--config", "f"], { EDGEMQ_ADMIN_CORS_ORIGIN: "*" }, { admin: { corsOrigins: ["https://ops.example.com"] } }).admin.corsOrigins).toEqual(["*"]);
    expect(failure(["--admin-cors-origin", "https://ops.example.com/"])).toBe('--admin-cors-origin must be an origin (scheme://host[:port] with nothing after it, such as https://ops.example.com) or *, got "https://ops.example.com/"');
    expect(failure([], { EDGEMQ_ADMIN_CORS_ORIGIN: "ops.example.com" })).toMatch(/^EDGEMQ_ADMIN_CORS_ORIGIN must be an origin .* got "ops\.example\.com"$/);
    expect(failure([], {}, { admin: { corsOrigins: ["ftp://x.example.com"] } })).toMatch(/^edgemq\.json: admin\.corsOrigins\[0\] must be an origin .* got "ftp:\/\/x\.example\.com"$/);
  });

  it("warns of an EDGEMQ_ variable that looks like a misspelt setting, and of none that other tools use", () => {
    expect(configWarnings({ EDGEMQ_PROT: "1", EDGEMQ_API_URL: "x", EDGEMQ_API_TOKEN: "y", EDGEMQ_TEST_RUNTIME: "bun", EDGEMQ_PORT: "1", EDGEMQ_WHATEVER: "z" }))
      .toEqual(["EDGEMQ_PROT is not a setting and is ignored; did you mean EDGEMQ_PORT?"]);
  });

  it("declares each section of the config file once, and every object section's keys", () => {
    const paths = FILE_SECTIONS.map((s) => s.path);
    expect(new Set(paths).size).toBe(paths.length);
    for (const s of FILE_SECTIONS.filter((s) => s.object !== undefined)) expect(keysUnder(s.path).length, s.path).toBeGreaterThan(0);
  });
});
