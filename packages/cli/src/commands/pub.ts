import { readFileSync } from "node:fs";
import { CliError } from "../errors.ts";
import { connectMqtt, disconnectText, MQTT_FLAGS } from "../mqtt-connection.ts";
import { reasonText } from "../mqtt-reasons.ts";
import type { CommandSpec } from "../spec.ts";

/** `edgemq pub`: publish one message over MQTT, like mosquitto_pub, and wait for the broker's acknowledgement. */
export const PUB_COMMAND: CommandSpec = {
  path: ["pub"],
  summary: "publish one message over MQTT (a quick check with a credential)",
  details: "Connects, publishes, waits for PUBACK or PUBCOMP at QoS 1 or 2, and disconnects. A refused connection or publish ends with exit 1 and the broker's reason code.",
  flags: [
    { name: "topic", short: "t", value: "<topic>", required: true, description: "the topic name" },
    { name: "message", short: "m", value: "<text>", description: "the payload" },
    { name: "file", short: "f", value: "<path>", description: "send a file's bytes as the payload instead of -m" },
    { name: "qos", short: "q", value: "<0|1|2>", choices: ["0", "1", "2"], description: "QoS (default 0)" },
    { name: "retain", short: "r", description: "keep it as the topic's retained message" },
    ...MQTT_FLAGS,
  ],
  examples: [
    "edgemq pub -t sensors/room-1 -m 21.5",
    "edgemq pub --url mqtt://127.0.0.1:1883 --credential \"$CRED\" -t sensors/room-1 -m 21.5 -q 1 -r",
  ],
  async run(input, io) {
    const text = input.string("message");
    const file = input.string("file");
    if ((text === undefined) === (file === undefined)) throw input.usage("give the payload with -m <text> or -f <file> (one of them)");
    let payload: Buffer;
    try {
      payload = file !== undefined ? readFileSync(file) : Buffer.from(text!, "utf8");
    } catch (e) {
      throw input.usage(`cannot read -f ${file}: ${(e as Error).message}`);
    }
    const topic = input.string("topic")!;
    const qos = Number(input.string("qos") ?? "0") as 0 | 1 | 2;
    const { client, url } = await connectMqtt(input, io.env);
    try {
      await new Promise<void>((resolve, reject) => {
        // A broker that refuses a QoS 0 message can only disconnect.
        client.once("disconnect", (packet) => reject(new CliError(`the broker at ${url} disconnected: ${disconnectText(packet)}`)));
        client.once("close", () => reject(new CliError(`the broker at ${url} closed the connection before the message was acknowledged`)));
        // Without a listener mqtt.js would throw a socket error as an uncaught exception.
        client.on("error", (e) => reject(new CliError(`the connection to the broker at ${url} failed: ${e.message}`)));
        client.publish(topic, payload, { qos, retain: input.has("retain") }, (err, packet) => {
          if (err === undefined || err === null) return resolve();
          const code = (err as { code?: number }).code ?? (packet as { reasonCode?: number } | undefined)?.reasonCode;
          reject(new CliError(`the broker at ${url} refused the message on "${topic}": ${typeof code === "number" ? reasonText(code) : err.message}${code === 0x87 ? "; the credential's topic ACL may not allow publishing there" : ""}`));
        });
      });
    } finally {
      client.removeAllListeners("close");
      await client.endAsync().catch(() => {});
    }
    io.out(`Published ${payload.byteLength} byte${payload.byteLength === 1 ? "" : "s"} to "${topic}" (QoS ${qos}${input.has("retain") ? ", retained" : ""}).`);
  },
};
