// `npm run bench:codec`: edgemq's codec against mqtt-packet on the same machine
// in the same run. Decoding is streaming for both (64 KiB chunks holding many
// packets, as a socket delivers them); encoding produces one buffer per packet.
import mqttPacket from "mqtt-packet";
import { encodePacket, FrameDecoder, type Packet } from "@edgemq/core";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);

interface Case {
  name: string;
  version: 4 | 5;
  packet: Packet;
  // The same packet in mqtt-packet's object shape.
  theirs: Record<string, unknown>;
}

const payload64 = new Uint8Array(64).fill(0x61);
const payload1k = new Uint8Array(1024).fill(0x62);
const v5Props = { contentType: "application/json", messageExpiryInterval: 60, userProperties: [["trace", "abc123"], ["source", "sensor-7"]] as [string, string][] };
const theirV5Props = { contentType: "application/json", messageExpiryInterval: 60, userProperties: { trace: "abc123", source: "sensor-7" } };

function publishCase(name: string, payload: Uint8Array, qos: 0 | 1, v5: boolean): Case {
  const topic = "devices/sensor-7/telemetry";
  return {
    name,
    version: v5 ? 5 : 4,
    packet: { type: "publish", topic, payload, qos, retain: false, dup: false, packetId: qos ? 42 : undefined, properties: v5 ? v5Props : undefined },
    theirs: { cmd: "publish", topic, payload: Buffer.from(payload), qos, retain: false, dup: false, messageId: qos ? 42 : undefined, ...(v5 ? { properties: theirV5Props } : {}) },
  };
}

const cases: Case[] = [
  publishCase("PUBLISH 64 B QoS 0 v3.1.1", payload64, 0, false),
  publishCase("PUBLISH 64 B QoS 1 v3.1.1", payload64, 1, false),
  publishCase("PUBLISH 1 KiB QoS 0 v3.1.1", payload1k, 0, false),
  publishCase("PUBLISH 64 B QoS 0 v5 +props", payload64, 0, true),
  publishCase("PUBLISH 64 B QoS 1 v5 +props", payload64, 1, true),
  publishCase("PUBLISH 1 KiB QoS 1 v5 +props", payload1k, 1, true),
  {
    name: "CONNECT v5 (will, user, password)",
    version: 5,
    packet: {
      type: "connect", protocolName: "MQTT", protocolVersion: 5, cleanStart: true, keepAlive: 60, clientId: "sensor-7",
      username: "device", password: new TextEncoder().encode("secret-token"),
      will: { topic: "devices/sensor-7/status", payload: new TextEncoder().encode("offline"), qos: 1, retain: true },
      properties: { sessionExpiryInterval: 3600, receiveMaximum: 100 },
    },
    theirs: {
      cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, keepalive: 60, clientId: "sensor-7",
      username: "device", password: Buffer.from("secret-token"),
      will: { topic: "devices/sensor-7/status", payload: Buffer.from("offline"), qos: 1, retain: true },
      properties: { sessionExpiryInterval: 3600, receiveMaximum: 100 },
    },
  },
];

// Runs `fn` (which processes `unit` packets per call) for SECONDS after a warm-up; returns packets/s.
function measure(fn: () => void, unit: number): number {
  const warmUntil = performance.now() + 200;
  while (performance.now() < warmUntil) fn();
  let calls = 0;
  const start = performance.now();
  const stop = start + SECONDS * 1000;
  let now = start;
  while (now < stop) {
    for (let i = 0; i < 16; i++) fn();
    calls += 16;
    now = performance.now();
  }
  return (calls * unit) / ((now - start) / 1000);
}

function chunkOf(bytes: Uint8Array): { chunk: Uint8Array; count: number } {
  const count = Math.max(1, Math.floor(65_536 / bytes.byteLength));
  const chunk = new Uint8Array(count * bytes.byteLength);
  for (let i = 0; i < count; i++) chunk.set(bytes, i * bytes.byteLength);
  return { chunk, count };
}

const rows: string[][] = [];
const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`);
for (const c of cases) {
  const bytes = encodePacket(c.packet, c.version);
  const theirBytes = mqttPacket.generate(c.theirs as never, { protocolVersion: c.version });
  if (theirBytes.byteLength !== bytes.byteLength) throw new Error(`${c.name}: the two codecs disagree on the packet size`);
  const { chunk, count } = chunkOf(bytes);
  const theirChunk = Buffer.from(chunk);

  const decoder = new FrameDecoder({ protocolVersion: c.version });
  let sink = 0;
  const oursDecode = measure(() => {
    decoder.push(chunk);
    while (decoder.next() !== undefined) sink++;
  }, count);
  const parser = mqttPacket.parser({ protocolVersion: c.version });
  parser.on("packet", () => sink++);
  parser.on("error", (e: Error) => { throw e; });
  const theirsDecode = measure(() => parser.parse(theirChunk), count);

  const oursEncode = measure(() => { sink += encodePacket(c.packet, c.version).byteLength; }, 1);
  const theirsEncode = measure(() => { sink += mqttPacket.generate(c.theirs as never, { protocolVersion: c.version }).byteLength; }, 1);
  if (sink === 0) throw new Error("nothing was processed");

  const mb = (pps: number) => ((pps * bytes.byteLength) / 1e6).toFixed(0);
  rows.push([c.name, "decode", fmt(oursDecode), mb(oursDecode), fmt(theirsDecode), mb(theirsDecode), (oursDecode / theirsDecode).toFixed(2)]);
  rows.push([c.name, "encode", fmt(oursEncode), mb(oursEncode), fmt(theirsEncode), mb(theirsEncode), (oursEncode / theirsEncode).toFixed(2)]);
}

const header = ["packet", "op", "edgemq pkt/s", "MB/s", "mqtt-packet pkt/s", "MB/s", "ratio"];
console.log(`codec benchmark: ${SECONDS}s per measurement, ${process.versions.node ? `node ${process.versions.node}` : "other runtime"}`);
console.log(`| ${header.join(" | ")} |`);
console.log(`|${header.map(() => "---").join("|")}|`);
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
