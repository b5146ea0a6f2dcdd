import { ConfigError } from "./config-error.ts";
import type { AdminListenerConfig, ConfigFile, ListenerConfig } from "./config-types.ts";
import { DEFAULTS } from "./defaults.ts";
import type { OptionValues } from "./option-values.ts";
import { wholeNumberFrom } from "./value-types.ts";

/**
 * The MQTT listeners: --host/--port's TCP listener, else the config file's
 * listeners; then --tls-port, --ws-port and --wss-port's, on the same host.
 * TLS ones must have a certificate and a key.
 */
export function buildListeners(values: OptionValues, file: ConfigFile): ListenerConfig[] {
  const listeners: ListenerConfig[] = [];
  const host = values.given<string>("host");
  const port = values.given<number>("port");
  // The file's listeners stand only when neither --host nor --port (nor their variables) says otherwise.
  if (file.listeners && host === undefined && port === undefined) {
    for (const [i, l] of file.listeners.entries()) {
      const protocol = l.protocol ?? "tcp";
      if (!["tcp", "tls", "ws", "wss"].includes(protocol)) throw new ConfigError(`listeners[${i}].protocol must be tcp, tls, ws or wss`);
      listeners.push({ ...l, protocol, host: l.host ?? DEFAULTS.host, port: wholeNumberFrom(String(l.port ?? DEFAULTS.port), `listeners[${i}].port`, 0, 65535) } as ListenerConfig);
    }
  } else {
    listeners.push({ protocol: "tcp", host: values.get("host"), port: values.get("port") });
  }
  const tlsPort = values.given<number>("tls-port");
  if (tlsPort !== undefined) {
    listeners.push({
      protocol: "tls", host: host ?? DEFAULTS.host, port: tlsPort,
      cert: values.given("tls-cert"), key: values.given("tls-key"), ca: values.given("tls-ca"), requestCert: values.get("tls-client-auth"),
    });
  }
  const path = values.given<string>("ws-path");
  const wsPort = values.given<number>("ws-port");
  if (wsPort !== undefined) listeners.push({ protocol: "ws", host: host ?? DEFAULTS.host, port: wsPort, path });
  const wssPort = values.given<number>("wss-port");
  if (wssPort !== undefined) {
    listeners.push({ protocol: "wss", host: host ?? DEFAULTS.host, port: wssPort, path, cert: values.given("tls-cert"), key: values.given("tls-key") });
  }
  for (const l of listeners) {
    if ((l.protocol === "tls" || l.protocol === "wss") && (!l.cert || !l.key)) {
      throw new ConfigError(`the ${l.protocol} listener on port ${l.port} needs a certificate and a key: pass --tls-cert <file> and --tls-key <file>`);
    }
    if (l.requestCert && !l.ca) throw new ConfigError(`client certificate verification on port ${l.port} needs a CA bundle: pass --tls-ca <file>`);
  }
  return listeners;
}

/** The admin API's listeners: --admin-port's (on --admin-host, else --host), else the config file's admin.listeners. */
export function buildAdminListeners(values: OptionValues, file: ConfigFile): AdminListenerConfig[] {
  const port = values.given<number>("admin-port");
  const host = values.given<string>("admin-host");
  if (port !== undefined) return [{ protocol: "http", host: host ?? values.get("host"), port }];
  if (host !== undefined) throw new ConfigError("--admin-host needs --admin-port too, e.g. --admin-port 8080");
  return (file.admin?.listeners ?? []).map((l, i) => {
    const protocol = l.protocol ?? "http";
    if (protocol !== "http" && protocol !== "https") throw new ConfigError(`admin.listeners[${i}].protocol must be http or https`);
    // An https listener needs its own certificate.
    if (protocol === "https" && (!l.cert || !l.key)) throw new ConfigError(`admin.listeners[${i}] (https) needs "cert" and "key" PEM file paths`);
    return { protocol, host: l.host ?? DEFAULTS.host, port: wholeNumberFrom(String(l.port ?? DEFAULTS.adminPort), `admin.listeners[${i}].port`, 0, 65535), cert: l.cert, key: l.key };
  });
}
