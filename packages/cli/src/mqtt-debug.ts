import type { MqttClient } from "mqtt";

// The fields of an mqtt-packet packet that the lines below read.
interface AnyPacket {
  cmd: string;
  messageId?: number;
  reasonCode?: number;
  returnCode?: number;
  dup?: boolean;
  qos?: number;
  retain?: boolean;
  topic?: string;
  payload?: Uint8Array | string;
  granted?: number[];
  subscriptions?: { topic: string; qos: number }[];
  unsubscriptions?: string[];
}

const bytes = (p: Uint8Array | string | undefined) => (typeof p === "string" ? Buffer.byteLength(p) : p?.byteLength ?? 0);
const rc = (p: AnyPacket) => p.reasonCode ?? p.returnCode ?? 0;

/** One packet as mosquitto's -d prints it: `PUBLISH (d0, q1, r0, m1, 'a/b', ... (2 bytes))`. */
export function describePacket(packet: AnyPacket): string {
  const name = packet.cmd.toUpperCase();
  switch (packet.cmd) {
    case "connack":
      return `${name} (${rc(packet)})`;
    case "publish":
      return `${name} (d${packet.dup ? 1 : 0}, q${packet.qos ?? 0}, r${packet.retain ? 1 : 0}, m${packet.messageId ?? 0}, '${packet.topic}', ... (${bytes(packet.payload)} bytes))`;
    case "puback": case "pubrec": case "pubcomp":
      return `${name} (Mid: ${packet.messageId}, RC:${rc(packet)})`;
    case "pubrel":
      return `${name} (m${packet.messageId})`;
    case "subscribe":
      return (packet.subscriptions ?? []).map((s) => `${name} (Mid: ${packet.messageId}, Topic: ${s.topic}, QoS: ${s.qos})`).join("; ");
    case "suback":
      return `${name} (Mid: ${packet.messageId}, granted: ${(packet.granted ?? []).join(", ")})`;
    case "unsubscribe":
      return `${name} (Mid: ${packet.messageId}, Topic: ${(packet.unsubscriptions ?? []).join(", ")})`;
    case "disconnect":
      return packet.reasonCode ? `${name} (RC:${packet.reasonCode})` : name;
    default:
      return name;
  }
}

/** With -d, prints every packet the client sends and receives on stderr, the way mosquitto's -d names them. */
export function traceMqtt(client: MqttClient, clientId: string, print: (line: string) => void): void {
  client.on("packetsend", (p) => print(`Client ${clientId} sending ${describePacket(p as AnyPacket)}`));
  client.on("packetreceive", (p) => print(`Client ${clientId} received ${describePacket(p as AnyPacket)}`));
}
