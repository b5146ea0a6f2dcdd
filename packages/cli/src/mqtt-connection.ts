import type { MqttClient } from "mqtt";
import type { ParsedArgs } from "./parsed-args.ts";
import { CliError } from "./errors.ts";
import { traceMqtt } from "./mqtt-debug.ts";
import { ANSWER_TIMEOUT_MS, clientOptions, mqttUrl } from "./mqtt-flags.ts";
import { connackHint, type ConnectRefusal, reasonText } from "./mqtt-reasons.ts";

/** A connection `pub` or `sub` made: the client, the broker's address and the client id it connected with. */
export interface MqttSession {
  client: MqttClient;
  url: string;
  clientId: string;
}

// Why a connection attempt failed, in one line with what to do.
function connectFailure(url: string, e: unknown, refusal: Omit<ConnectRefusal, "code">): string {
  const code = (e as { code?: unknown }).code;
  if (typeof code === "number") {
    const hint = connackHint({ ...refusal, code });
    return `the broker at ${url} refused the connection: ${reasonText(code, true)}${refusal.reason ? ` (${refusal.reason})` : ""}${hint ? `; ${hint}` : ""}`;
  }
  // OpenSSL's messages span lines and carry source paths; the reason is the part after its routine's name.
  const raw = ((e as Error)?.message ?? String(e)).trim();
  const message = /:SSL routines:[^:]*:([^:]+)/.exec(raw)?.[1] ?? raw.split("\n")[0]!;
  if (/certificate required|alert (bad certificate|unknown ca)|certificate unknown/i.test(raw)) {
    return `TLS with ${url} failed (${message}): the broker asks for a client certificate its CA signed; pass --cert <file> and --key <file>`;
  }
  if (code === "ECONNREFUSED") return `cannot reach the MQTT broker at ${url} (connection refused): is edgemq running, and is this its --port (or --ws-port)? Check --url, -h/-p or EDGEMQ_MQTT_URL`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `cannot reach the MQTT broker at ${url} (host not found): check the host in --url or -h`;
  if (/certificate|self.signed|SSL|TLS/i.test(`${String(code)} ${message}`)) return `TLS with ${url} failed (${message}): pass --cafile <file> with the server's CA, or --insecure`;
  return `cannot connect to the MQTT broker at ${url}: ${message}`;
}

/**
 * Connects to the broker the flags name and resolves once it accepted
 * (CONNACK 0); rejects with a one-line {@link CliError} saying why not,
 * within {@link ANSWER_TIMEOUT_MS} when nothing answers.
 */
export async function connectMqtt(input: ParsedArgs, io: { env: Record<string, string | undefined>; err(text: string): void }): Promise<MqttSession> {
  const url = mqttUrl(input, io.env);
  const options = clientOptions(input, io.env);
  // Loaded here, not at start-up: only pub and sub need an MQTT client.
  const { default: mqtt } = await import("mqtt");
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { ...options, manualConnect: true });
    if (input.has("debug")) traceMqtt(client, options.clientId, io.err);
    let reason: string | undefined;
    client.on("packetreceive", (p) => {
      if (p.cmd === "connack") reason = (p as { properties?: { reasonString?: string } }).properties?.reasonString;
    });
    const fail = (message: string) => {
      clearTimeout(timer);
      client.removeAllListeners("connect");
      client.removeAllListeners("close");
      client.removeAllListeners("error");
      client.on("error", () => {}); // late socket errors after giving up are not news
      client.end(true);
      reject(new CliError(message));
    };
    // mqtt.js gives up silently after connectTimeout when nothing answers.
    const timer = setTimeout(() => fail(`no answer from the MQTT broker at ${url} within ${ANSWER_TIMEOUT_MS / 1000} s: is that the broker's MQTT port?`), ANSWER_TIMEOUT_MS + 1000);
    client.once("connect", () => {
      clearTimeout(timer);
      client.removeAllListeners("close");
      client.removeAllListeners("error");
      resolve({ client, url, clientId: options.clientId });
    });
    const credential = input.has("credential") || io.env.EDGEMQ_CREDENTIAL !== undefined;
    client.once("error", (e) => fail(connectFailure(url, e, { reason, clientId: options.clientId, credential })));
    client.once("close", () => fail(`the MQTT broker at ${url} closed the connection before accepting it: is it the MQTT port (not the admin API's)?`));
    client.connect();
  });
}

/** A one-line reason for a broker's DISCONNECT, e.g. `administrative action (0x98): an administrator disconnected the client`. */
export function disconnectText(packet: { reasonCode?: number; properties?: { reasonString?: string } }): string {
  const reason = packet.properties?.reasonString;
  return `${reasonText(packet.reasonCode ?? 0)}${reason ? `: ${reason}` : ""}`;
}

/**
 * Ends the connection: politely (DISCONNECT, after in-flight messages) within the answer timeout, or at
 * once with `force`, after the broker refused or left, when nothing in flight will ever be answered.
 */
export async function closeMqtt(client: MqttClient, force = false): Promise<void> {
  client.removeAllListeners("close");
  client.removeAllListeners("disconnect");
  client.on("error", () => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    client.endAsync(force).catch(() => {}),
    new Promise<void>((r) => (timer = setTimeout(() => { client.end(true); r(); }, ANSWER_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
}
