import { readFileSync } from "node:fs";
import type { IClientOptions } from "mqtt";
import type { ParsedArgs } from "./parsed-args.ts";
import { readClaims } from "./jwt.ts";
import type { FlagSpec } from "./spec.ts";

/** The broker `pub` and `sub` connect to when no --url, -h/-p or EDGEMQ_MQTT_URL is given. */
export const DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883";

/** How long to wait for CONNACK, and for a message's acknowledgement, before giving up. */
export const ANSWER_TIMEOUT_MS = 10_000;

// -V's spellings, as mosquitto's and as edgemq's earlier --mqtt-version took them, and the protocol level each means.
const VERSIONS: Record<string, 4 | 5> = { "5": 5, mqttv5: 5, "311": 4, mqttv311: 4, "3.1.1": 4 };

/**
 * Flags for reaching an MQTT broker, shared by `pub` and `sub`, with
 * mosquitto_pub/sub's letters and meanings: `-h` is the host (help is
 * `--help` only, as in mosquitto), `-V` the protocol version.
 */
export const MQTT_FLAGS: readonly FlagSpec[] = [
  { name: "host", short: "h", value: "<host>", description: "the broker's host name or address (default 127.0.0.1); instead of --url" },
  { name: "port", short: "p", value: "<port>", description: "the broker's MQTT port (default 1883, or 8883 with --cafile, --cert or --insecure); instead of --url" },
  { name: "url", value: "<url>", description: `the broker as a URL: mqtt://, mqtts://, ws:// or wss:// (env EDGEMQ_MQTT_URL; default ${DEFAULT_MQTT_URL})` },
  { name: "credential", value: "<jwt>", description: "a credential from edgemq broker issue, sent as the password (env EDGEMQ_CREDENTIAL); its client id is used" },
  { name: "username", short: "u", value: "<name>", description: "the user name (with --credential, default its client id)" },
  { name: "password", short: "P", aliases: ["pw"], value: "<password>", description: "a password (for --user accounts of the server)" },
  { name: "client-id", short: "i", aliases: ["id"], value: "<id>", description: "the client id (default: the credential's, else edgemq-cli- and 8 random hex digits)" },
  { name: "keepalive", short: "k", value: "<seconds>", description: "the keep alive interval, 0 to 65535 (default 60; 0 turns it off)" },
  { name: "protocol-version", short: "V", value: "<version>", choices: Object.keys(VERSIONS), description: "the MQTT version: 5 (or mqttv5, the default) or 311 (or mqttv311)" },
  { name: "cafile", aliases: ["ca"], value: "<file>", description: "a PEM CA certificate to verify the broker's TLS certificate with (turns on TLS for -h/-p)" },
  { name: "cert", value: "<file>", description: "a PEM client certificate, for brokers that ask for one (MTLS); needs --key" },
  { name: "key", value: "<file>", description: "the PEM private key of --cert" },
  { name: "insecure", description: "do not verify the broker's TLS certificate at all (mosquitto's checks only the host name)" },
  { name: "debug", short: "d", description: "print each MQTT packet sent and received, on stderr" },
  { name: "help", description: "show help for the command (-h is the host, as in mosquitto)" },
];

const tls = (input: ParsedArgs) => input.has("cafile") || input.has("cert") || input.has("insecure");

/** The broker address a command uses: --url, else -h/-p, else EDGEMQ_MQTT_URL, else the default. */
export function mqttUrl(input: ParsedArgs, env: Record<string, string | undefined>): string {
  const host = input.string("host");
  const port = input.int("port", 1, 65_535);
  if (input.has("url") && (host !== undefined || port !== undefined)) {
    throw input.usage("give the broker with --url or with -h/-p, not both");
  }
  if (host !== undefined || port !== undefined) {
    const name = host ?? "127.0.0.1";
    if (name.trim() === "" || /[/\s]/.test(name)) throw input.usage(`-h "${name}" is not a host name; give a name or address such as 127.0.0.1 (a whole URL goes in --url)`);
    const bracketed = name.includes(":") && !name.startsWith("[") ? `[${name}]` : name;
    return `${tls(input) ? "mqtts" : "mqtt"}://${bracketed}:${port ?? (tls(input) ? 8883 : 1883)}`;
  }
  const url = input.string("url") ?? env.EDGEMQ_MQTT_URL ?? DEFAULT_MQTT_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw input.usage(`--url "${url}" is not a URL; give the broker's address, such as ${DEFAULT_MQTT_URL}, or use -h <host> -p <port>`);
  }
  if (!["mqtt:", "mqtts:", "ws:", "wss:", "tcp:", "tls:"].includes(parsed.protocol)) {
    throw input.usage(`--url "${url}" must start with mqtt://, mqtts://, ws:// or wss://${parsed.protocol.startsWith("http") ? " (http:// is the admin API, for the other commands)" : ""}`);
  }
  if (tls(input) && !["mqtts:", "wss:", "tls:"].includes(parsed.protocol)) {
    throw input.usage(`--cafile, --cert and --insecure are for TLS, but --url "${url}" is not mqtts:// or wss://`);
  }
  return url;
}

function readPem(input: ParsedArgs, flag: string): Buffer | undefined {
  const file = input.string(flag);
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (e) {
    throw input.usage(`cannot read --${flag} ${file}: ${(e as Error).message}`);
  }
}

/** The client id edgemq generates when none is given: 19 characters, within MQTT 3.1.1's 23 that every broker accepts. */
export function generatedClientId(): string {
  return `edgemq-cli-${Math.random().toString(16).slice(2, 10).padEnd(8, "0")}`;
}

/** mqtt.js options from the flags: the credential as the password, and its client id unless one is given. */
export function clientOptions(input: ParsedArgs, env: Record<string, string | undefined>): IClientOptions & { clientId: string } {
  const credential = input.string("credential") ?? env.EDGEMQ_CREDENTIAL;
  if (credential !== undefined && input.has("password")) throw input.usage("give --credential or -P/--password, not both (a credential is sent as the password)");
  const claims = credential !== undefined ? readClaims(credential) : undefined;
  if (credential !== undefined && claims === undefined) {
    throw input.usage("--credential is not a credential (a JWT such as eyJ…); copy the CREDENTIAL column of edgemq broker issue");
  }
  if (input.has("cert") !== input.has("key")) throw input.usage("give --cert and --key together: the client certificate and its private key");
  const clientId = input.string("client-id") ?? claims?.sub ?? generatedClientId();
  const password = credential ?? input.string("password");
  // MQTT 3.1.1 sends a password only with a user name; edgemq ignores the user name beside a credential.
  const username = input.string("username") ?? (password !== undefined ? clientId : undefined);
  const ca = readPem(input, "cafile"), cert = readPem(input, "cert"), key = readPem(input, "key");
  return {
    clientId,
    username,
    password,
    protocolVersion: VERSIONS[input.string("protocol-version") ?? "5"]!,
    keepalive: input.int("keepalive", 0, 65_535) ?? 60,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: ANSWER_TIMEOUT_MS,
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert, key } : {}),
    ...(input.has("insecure") ? { rejectUnauthorized: false } : {}),
  };
}
