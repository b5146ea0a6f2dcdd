import { ConfigError } from "./config-error.ts";
import type { AdminListenerConfig, ConfigFile, ListenerConfig } from "./config-types.ts";
import { DEFAULTS } from "./defaults.ts";
import type { OptionValues } from "./option-values.ts";

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
    // Their shapes were checked with the file.
    for (const l of file.listeners) listeners.push({ ...l, protocol: l.protocol ?? "tcp", host: l.host ?? DEFAULTS.host, port: l.port ?? DEFAULTS.port });
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
  const problems: string[] = [];
  for (const [i, l] of listeners.entries()) {
    // The fix is in the file for the file's listeners, on the command line for the flags'.
    const inFile = file.listeners !== undefined && host === undefined && port === undefined && i < file.listeners.length;
    if ((l.protocol === "tls" || l.protocol === "wss") && (!l.cert || !l.key)) {
      problems.push(inFile
        ? `the config file's listeners[${i}] (${l.protocol}) needs "cert" and "key" PEM file paths`
        : `the ${l.protocol} listener on port ${l.port} needs a certificate and a key: pass --tls-cert <file> and --tls-key <file>`);
    }
    if (l.requestCert && !l.ca) {
      problems.push(`client certificate verification on port ${l.port} needs a CA bundle: ${inFile ? `add "ca" to the config file's listeners[${i}]` : "pass --tls-ca <file>"}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return listeners;
}

/** The admin API's listeners: --admin-port's (on --admin-host, else --host), else the config file's admin.listeners. */
export function buildAdminListeners(values: OptionValues, file: ConfigFile): AdminListenerConfig[] {
  const port = values.given<number>("admin-port");
  const host = values.given<string>("admin-host");
  if (port !== undefined) return [{ protocol: "http", host: host ?? values.get("host"), port }];
  if (host !== undefined) throw new ConfigError("--admin-host needs --admin-port too, e.g. --admin-port 8080");
  const problems: string[] = [];
  const listeners = (file.admin?.listeners ?? []).map((l, i) => {
    const protocol = l.protocol ?? "http";
    // An https listener needs its own certificate.
    if (protocol === "https" && (!l.cert || !l.key)) problems.push(`the config file's admin.listeners[${i}] (https) needs "cert" and "key" PEM file paths`);
    return { protocol, host: l.host ?? DEFAULTS.host, port: l.port ?? DEFAULTS.adminPort, cert: l.cert, key: l.key };
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return listeners;
}
