import { CliError } from "../errors.ts";
import { closeMqtt, connectMqtt, disconnectText } from "../mqtt-connection.ts";
import { ANSWER_TIMEOUT_MS, MQTT_FLAGS } from "../mqtt-flags.ts";
import { reasonText } from "../mqtt-reasons.ts";
import type { CommandSpec } from "../spec.ts";
import { checkSubscribeFilter } from "../topic-check.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

// A message as one JSON line: text payloads as text, other bytes as base64.
function jsonLine(topic: string, payload: Buffer, qos: number, retain: boolean): string {
  let text: string | undefined;
  try {
    text = decoder.decode(payload);
  } catch {
    text = undefined;
  }
  return JSON.stringify({ topic, ...(text !== undefined ? { payload: text } : { payload_base64: payload.toString("base64") }), qos, retain });
}

/** `edgemq sub`: subscribe and print messages, with mosquitto_sub's flags, until -C messages, -W seconds or Ctrl-C. */
export const SUB_COMMAND: CommandSpec = {
  path: ["sub"],
  summary: "subscribe over MQTT and print the messages, with mosquitto_sub's flags (a quick check with a credential)",
  details: "Prints each payload on its own line (with -v, the topic first; with --json, one JSON object per line). Says on stderr once subscribed. Ends after -C messages, after -W seconds, or on Ctrl-C; an invalid filter (refused before connecting), a refused subscription or a DISCONNECT from the broker ends with exit 1. Unlike mosquitto_sub the protocol is MQTT 5 unless -V 311 is given, and -W without -C ends with exit 0.",
  flags: [
    { name: "topic", short: "t", value: "<filter>", required: true, repeatable: true, description: "a topic filter such as sensors/# (repeatable)" },
    { name: "qos", short: "q", value: "<0|1|2>", choices: ["0", "1", "2"], description: "the QoS to subscribe with (default 0)" },
    { name: "count", short: "C", value: "<n>", description: "exit after this many messages" },
    { name: "timeout", short: "W", value: "<seconds>", description: "exit after this many seconds (exit 1 if -C messages did not arrive by then)" },
    { name: "verbose", short: "v", description: "print the topic before each payload" },
    { name: "json", description: "print each message as a JSON line: {topic, payload, qos, retain}" },
    ...MQTT_FLAGS,
  ],
  examples: [
    "edgemq sub -t 'sensors/#' -v",
    "edgemq sub --credential \"$CRED\" -t sensors/room-1 -C 1 -W 10",
    "edgemq sub -h 127.0.0.1 -p 1883 -V mqttv311 -t 'sensors/+/temp' -t 'alerts/#' -d",
  ],
  async run(input, io) {
    const filters = input.strings("topic");
    for (const f of filters) checkSubscribeFilter(f);
    const qos = Number(input.string("qos") ?? "0") as 0 | 1 | 2;
    const count = input.int("count", 1, 1_000_000_000);
    const timeout = input.int("timeout", 1, 86_400 * 365);
    const { client, url } = await connectMqtt(input, io);
    let received = 0;
    return new Promise<number>((resolve, reject) => {
      let done = false;
      const finish = (error?: CliError) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearTimeout(subackTimer);
        client.removeAllListeners("message");
        void closeMqtt(client, error !== undefined).then(() => (error ? reject(error) : resolve(0)));
      };
      // -W counts from the connection, as mosquitto_sub's does; the SUBACK itself is awaited for a bounded time.
      const timer = timeout === undefined ? undefined : setTimeout(() => finish(count !== undefined
        ? new CliError(`timed out after ${timeout} s with ${received} of ${count} message${count === 1 ? "" : "s"}`)
        : undefined), timeout * 1000);
      const subackTimer = setTimeout(() => finish(new CliError(`no answer (SUBACK) from the broker at ${url} within ${ANSWER_TIMEOUT_MS / 1000} s to the subscription`)), ANSWER_TIMEOUT_MS);
      client.on("message", (topic, payload, packet) => {
        if (count !== undefined && received >= count) return;
        received++;
        if (input.has("json")) io.out(jsonLine(topic, payload, packet.qos, packet.retain));
        else io.out(input.has("verbose") ? `${topic} ${payload.toString()}` : payload.toString());
        if (count !== undefined && received >= count) finish();
      });
      client.on("disconnect", (packet) => finish(new CliError(`the broker at ${url} disconnected: ${disconnectText(packet)}`)));
      client.on("close", () => finish(new CliError(`the connection to the broker at ${url} closed`)));
      // A socket error (a reset after the broker's DISCONNECT, say) ends the command with
      // its message; without a listener mqtt.js would throw it as an uncaught exception.
      client.on("error", (e) => finish(new CliError(`the connection to the broker at ${url} failed: ${e.message}`)));
      io.onInterrupt(() => finish());
      client.subscribe(filters, { qos }, (err, granted, packet) => {
        clearTimeout(subackTimer);
        // On a refusal mqtt.js hands back the SUBACK only, whose codes follow the filters' order.
        const suback = packet as { granted?: number[]; properties?: { reasonString?: string } } | undefined;
        const codes = suback?.granted ?? (granted ?? []).map((g) => g.qos);
        const refused = filters.map((f, i) => ({ filter: f, code: codes[i] })).filter((r) => r.code !== undefined && r.code >= 0x80);
        if (err || refused.length > 0) {
          const code = refused[0]?.code;
          const which = (refused.length > 0 ? refused.map((r) => r.filter) : filters).map((f) => `"${f}"`).join(", ");
          const reason = suback?.properties?.reasonString;
          finish(new CliError(`the broker at ${url} refused the subscription to ${which}: ${code !== undefined ? reasonText(code) : err?.message}${reason ? `: ${reason}` : ""}${code === 0x87 ? "; the credential's topic ACL may not allow subscribing there" : ""}`));
          return;
        }
        io.err(`edgemq: subscribed to ${filters.join(", ")} on ${url} (granted QoS ${codes.join(", ")}); waiting for messages${count !== undefined ? ` (${count})` : ""}, Ctrl-C to stop`);
      });
    });
  },
};
