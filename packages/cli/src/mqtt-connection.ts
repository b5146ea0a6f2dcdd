import { readFileSync } from "node:fs";
import type { IClientOptions, MqttClient } from "mqtt";
import type { ParsedArgs } from "./parsed-args.ts";
import { CliError } from "./errors.ts";
import { readClaims } from "./jwt.ts";
import { connackHint, reasonText } from "./mqtt-reasons.ts";
import type { FlagSpec } from "./spec.ts";

/** The broker `pub` and `sub` connect to when no --url or EDGEMQ_MQTT_URL is given. */
export const DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883";

/** Flags for reaching an MQTT broker, shared by `pub` and `sub`. */
export const MQTT_FLAGS: readonly FlagSpec[] = [
  { name: "url", value: "<url>", description: `the broker: mqtt://, mqtts://, ws:// or wss:// (env EDGEMQ_MQTT_URL; default ${DEFAULT_MQTT_URL})` },
  { name: "credential", value: "<jwt>", description: "a credential from edgemq broker issue, sent as the password (env EDGEMQ_CREDENTIAL); its client id is used" },
  { name: "username", short: "u", value: "<name>", description: "the user name (with --credential, default its client id)" },
  { name: "password", short: "P", value: "<password>", description: "a password (for --user accounts of the server)" },
  { name: "client-id", short: "i", value: "<id>", description: "the client id (default: the credential's, else generated)" },
  { name: "mqtt-version", short: "V", value: "<5|3.1.1>", choices: ["5", "3.1.1"], description: "MQTT protocol version (default 5)" },
  { name: "ca", value: "<file>", description: "a PEM CA certificate to verify an mqtts:// or wss:// server with" },
  { name: "insecure", description: "do not verify the server's TLS certificate" },
  { name: "help", short: "h", description: "show help for the command" },
];

const CONNECT_TIMEOUT_MS = 10_000;

/** The broker address a command uses, for messages. */
export function mqttUrl(input: ParsedArgs, env: Record<string, string | undefined>): string {
  const url = input.string("url") ?? env.EDGEMQ_MQTT_URL ?? DEFAULT_MQTT_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw input.usage(`--url "${url}" is not a URL; give the broker's address, such as ${DEFAULT_MQTT_URL}`);
  }
  if (!["mqtt:", "mqtts:", "ws:", "wss:", "tcp:", "tls:"].includes(parsed.protocol)) {
    throw input.usage(`--url "${url}" must start with mqtt://, mqtts://, ws:// or wss://${parsed.protocol.startsWith("http") ? " (http:// is the admin API, for the other commands)" : ""}`);
  }
  return url;
}

// mqtt.js options from the flags: the credential as the password, and its client id unless one is given.
function clientOptions(input: ParsedArgs, env: Record<string, string | undefined>): IClientOptions {
  const credential = input.string("credential") ?? env.EDGEMQ_CREDENTIAL;
  if (credential !== undefined && input.has("password")) throw input.usage("give --credential or --password, not both (a credential is sent as the password)");
  const claims = credential !== undefined ? readClaims(credential) : undefined;
  if (credential !== undefined && claims === undefined) {
    throw input.usage("--credential is not a credential (a JWT such as eyJ…); copy the CREDENTIAL column of edgemq broker issue");
  }
  const clientId = input.string("client-id") ?? claims?.sub ?? `edgemq-cli-${Math.random().toString(16).slice(2, 10)}`;
  const password = credential ?? input.string("password");
  // MQTT 3.1.1 sends a password only with a user name; edgemq ignores the user name beside a credential.
  const username = input.string("username") ?? (password !== undefined ? clientId : undefined);
  let ca: Buffer | undefined;
  const caFile = input.string("ca");
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile);
    } catch (e) {
      throw input.usage(`cannot read --ca ${caFile}: ${(e as Error).message}`);
    }
  }
  return {
    clientId,
    username,
    password,
    protocolVersion: input.string("mqtt-version") === "3.1.1" ? 4 : 5,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    ...(ca !== undefined ? { ca } : {}),
    ...(input.has("insecure") ? { rejectUnauthorized: false } : {}),
  };
}

// Why a connection attempt failed, in one line with what to do.
function connectFailure(url: string, e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (typeof code === "number") {
    const hint = connackHint(code);
    return `the broker at ${url} refused the connection: ${reasonText(code, true)}${hint ? `; ${hint}` : ""}`;
  }
  const message = (e as Error)?.message ?? String(e);
  if (code === "ECONNREFUSED") return `cannot reach the MQTT broker at ${url} (connection refused): is edgemq running, and is this its --port (or --ws-port)? Check --url or EDGEMQ_MQTT_URL`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `cannot reach the MQTT broker at ${url} (host not found): check the host in --url`;
  if (/certificate|self.signed|SSL|TLS/i.test(`${String(code)} ${message}`)) return `TLS with ${url} failed (${message}): pass --ca <file> with the server's CA, or --insecure`;
  return `cannot connect to the MQTT broker at ${url}: ${message}`;
}

/**
 * Connects to the broker the flags name and resolves once it accepted
 * (CONNACK 0); rejects with a one-line {@link CliError} saying why not.
 */
export async function connectMqtt(input: ParsedArgs, env: Record<string, string | undefined>): Promise<{ client: MqttClient; url: string }> {
  const url = mqttUrl(input, env);
  const options = clientOptions(input, env);
  // Loaded here, not at start-up: only pub and sub need an MQTT client.
  const { default: mqtt } = await import("mqtt");
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, options);
    const fail = (message: string) => {
      clearTimeout(timer);
      client.removeAllListeners();
      client.on("error", () => {}); // late socket errors after giving up are not news
      client.end(true);
      reject(new CliError(message));
    };
    // mqtt.js gives up silently after connectTimeout when nothing answers.
    const timer = setTimeout(() => fail(`no answer from the MQTT broker at ${url} within ${CONNECT_TIMEOUT_MS / 1000} s: is that the broker's MQTT port?`), CONNECT_TIMEOUT_MS + 1000);
    client.once("connect", () => {
      clearTimeout(timer);
      client.removeAllListeners("close");
      client.removeAllListeners("error");
      resolve({ client, url });
    });
    client.once("error", (e) => fail(connectFailure(url, e)));
    client.once("close", () => fail(`the MQTT broker at ${url} closed the connection before accepting it: is --url the MQTT port (not the admin API's)?`));
  });
}

/** A one-line reason for a broker's DISCONNECT, e.g. `administrative action (0x98): an administrator disconnected the client`. */
export function disconnectText(packet: { reasonCode?: number; properties?: { reasonString?: string } }): string {
  const reason = packet.properties?.reasonString;
  return `${reasonText(packet.reasonCode ?? 0)}${reason ? `: ${reason}` : ""}`;
}
