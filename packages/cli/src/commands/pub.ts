import type { MqttClient } from "mqtt";
import { CliError } from "../errors.ts";
import { closeMqtt, connectMqtt, disconnectText } from "../mqtt-connection.ts";
import { ANSWER_TIMEOUT_MS, MQTT_FLAGS } from "../mqtt-flags.ts";
import { reasonText } from "../mqtt-reasons.ts";
import { PAYLOAD_FLAGS, payloadsOf, stdinLines } from "../pub-payloads.ts";
import type { CommandSpec } from "../spec.ts";
import { checkPublishTopic } from "../topic-check.ts";

// What a refusal of a publish usually means, beside the code.
const REFUSAL_HINTS: Record<number, string> = {
  0x87: "the credential's topic ACL may not allow publishing there",
  0x95: "the message is larger than the broker's max_message_size limit",
  0x97: "the broker's quota (such as max_retained_messages or max_retained_bytes) is used up",
};

function refused(url: string, topic: string, code: number | undefined, reason: string | undefined, fallback: string): CliError {
  const hint = code === undefined ? undefined : REFUSAL_HINTS[code];
  return new CliError(`the broker at ${url} refused the message on "${topic}": ${code !== undefined ? reasonText(code) : fallback}${reason ? `: ${reason}` : ""}${hint ? `; ${hint}` : ""}`);
}

// Publishes one message; at QoS 1 and 2 resolves on the broker's acceptance (PUBACK, PUBCOMP) and rejects on
// a refusal (a reason code of 0x80 or more in PUBACK or PUBREC) or when no answer comes in time.
function publishOne(client: MqttClient, url: string, topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new CliError(`no acknowledgement from the broker at ${url} within ${ANSWER_TIMEOUT_MS / 1000} s for the message on "${topic}"`)), ANSWER_TIMEOUT_MS);
    client.publish(topic, payload, { qos, retain }, (err, packet) => {
      clearTimeout(timer);
      if (err === undefined || err === null) return resolve();
      const answer = packet as { reasonCode?: number; properties?: { reasonString?: string } } | undefined;
      const code = (err as { code?: number }).code ?? answer?.reasonCode;
      reject(refused(url, topic, typeof code === "number" ? code : undefined, answer?.properties?.reasonString, err.message));
    });
  });
}

// QoS 0 has no acknowledgement; a PINGREQ answered means the broker read the messages before it and did
// not disconnect over them (it answers packets in order), so a refusal by DISCONNECT is not missed.
function roundTrip(client: MqttClient, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new CliError(`no answer from the broker at ${url} within ${ANSWER_TIMEOUT_MS / 1000} s after publishing`)), ANSWER_TIMEOUT_MS);
    const onPacket = (p: { cmd: string }) => {
      if (p.cmd !== "pingresp") return;
      clearTimeout(timer);
      client.off("packetreceive", onPacket);
      resolve();
    };
    client.on("packetreceive", onPacket);
    client.sendPing();
  });
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** `edgemq pub`: publish over MQTT with mosquitto_pub's flags, and wait for the broker's answer. */
export const PUB_COMMAND: CommandSpec = {
  path: ["pub"],
  summary: "publish over MQTT, with mosquitto_pub's flags (a quick check with a credential)",
  details: "Connects, publishes, waits for PUBACK or PUBCOMP at QoS 1 or 2 (at QoS 0, for the broker to answer a PINGREQ, so that a DISCONNECT is not missed), and disconnects. A topic with + or # is refused before connecting. A refused connection or message, or a DISCONNECT from the broker, ends with exit 1 and the broker's reason code. Unlike mosquitto_pub the protocol is MQTT 5 unless -V 311 is given.",
  flags: [
    { name: "topic", short: "t", value: "<topic>", required: true, description: "the topic to publish to (no wildcards)" },
    ...PAYLOAD_FLAGS,
    { name: "qos", short: "q", value: "<0|1|2>", choices: ["0", "1", "2"], description: "QoS (default 0)" },
    { name: "retain", short: "r", description: "keep it as the topic's retained message" },
    ...MQTT_FLAGS,
  ],
  examples: [
    "edgemq pub -t sensors/room-1 -m 21.5",
    "edgemq pub -h 127.0.0.1 -p 1883 -V mqttv311 -t sensors/room-1 -m 21.5 -q 1 -r",
    "edgemq pub --credential \"$CRED\" -t sensors/room-1 -n -r",
    "tail -f readings.log | edgemq pub --credential \"$CRED\" -t sensors/log -l -q 1",
  ],
  async run(input, io) {
    const topic = input.string("topic")!;
    checkPublishTopic(topic);
    const source = await payloadsOf(input, io.stdin);
    const qos = Number(input.string("qos") ?? "0") as 0 | 1 | 2;
    const retain = input.has("retain");
    const { client, url } = await connectMqtt(input, io);
    // Whatever ends the connection early (a DISCONNECT, the socket closing or failing) ends the command with its reason.
    let end!: (e: CliError) => void;
    const ended = new Promise<never>((_, reject) => (end = reject));
    ended.catch(() => {});
    client.once("disconnect", (packet) => end(new CliError(`the broker at ${url} disconnected: ${disconnectText(packet)}`)));
    client.once("close", () => end(new CliError(`the broker at ${url} closed the connection before the message${source.kind === "lines" ? "s were" : " was"} ${qos === 0 ? "read" : "acknowledged"}`)));
    // Without a listener mqtt.js would throw a socket error as an uncaught exception.
    client.on("error", (e) => end(new CliError(`the connection to the broker at ${url} failed: ${e.message}`)));
    let messages = 0, bytes = 0, failed = true;
    try {
      const payloads = source.kind === "lines" ? stdinLines(io.stdin) : (async function* () { yield* source.payloads; })();
      for (;;) {
        const next = await Promise.race([payloads.next(), ended]);
        if (next.done) break;
        await Promise.race([publishOne(client, url, topic, next.value, qos, retain), ended]);
        messages++;
        bytes += next.value.byteLength;
      }
      if (qos === 0) await Promise.race([roundTrip(client, url), ended]);
      failed = false;
    } finally {
      await closeMqtt(client, failed);
    }
    const what = source.kind === "lines" ? `${plural(messages, "message")} (${plural(bytes, "byte")})` : plural(bytes, "byte");
    const how = `QoS ${qos}${retain ? ", retained" : ""}`;
    io.out(qos === 0
      ? `Sent ${what} to "${topic}" (${how}: not acknowledged by MQTT; -q 1 waits for the broker to accept it).`
      : `Published ${what} to "${topic}" (${how}).`);
  },
};
