// Differential tests of edgemq's codec against mqtt-packet (v9), the codec of
// MQTT.js. For every packet type and protocol level, random valid packets go
// both ways: (a) mqtt-packet generates the bytes and edgemq decodes them, with
// decodePacket and with a FrameDecoder fed random chunks; (b) edgemq encodes
// and mqtt-packet's parser reads them back. Contents must agree exactly,
// except where mqtt-packet differs legitimately; each such place is modelled
// or excluded below, with a comment that says why.
//
// Reproduce a failure with CODEC_DIFF_SEED=<seed from the test name>.
import { Buffer } from "node:buffer";
import mqttPacket from "mqtt-packet";
import { afterAll, describe, expect, it } from "vitest";
import {
  decodePacket, encodePacket, FrameDecoder, type Packet, type ProtocolVersion,
} from "@edgemq/core/codec";
import {
  canonical, createRng, formatSeed, fromMqttPacket, groupUserProperties, type MqttObject, mapUserProperties,
  PACKET_TYPES, type PacketTypeName, randomPacket, type Rng, seedFromEnv, toHex, toMqttPacket,
  userPropertiesAsMqttPacketParses, versionsOf,
} from "../support/random-packets.ts";

const SEED = seedFromEnv("CODEC_DIFF_SEED", 0x5eed_d1ff);
const COUNT = 300;
const root = createRng(SEED);

// Counts for the summary line printed at the end.
const stats = new Map<string, { decoded: number; byteEqual: number; encoded: number; excluded: string[] }>();
const statFor = (type: string) => {
  let s = stats.get(type);
  if (!s) stats.set(type, s = { decoded: 0, byteEqual: 0, encoded: 0, excluded: [] });
  return s;
};

// The same packets serve both directions; each (type, level) has its own
// sub-seed, so one test can be replayed without running the others.
const cache = new Map<string, Packet[]>();
function packetsFor(type: PacketTypeName, version: ProtocolVersion): Packet[] {
  const key = `${type}/${version}`;
  let list = cache.get(key);
  if (!list) {
    const rng = root.fork(key);
    list = Array.from({ length: COUNT }, () => randomPacket(rng, type, version));
    cache.set(key, list);
  }
  return list;
}

function mqttGenerate(o: MqttObject, version: ProtocolVersion): Uint8Array {
  return new Uint8Array(mqttPacket.generate(o as mqttPacket.Packet, { protocolVersion: version }));
}

/**
 * Parses one packet with a fresh mqtt-packet parser: the packet, or the error
 * it emitted. One packet per parser on purpose: mqtt-packet's _parseDisconnect
 * and _parseAuth test `this._list.length` (every byte buffered) instead of the
 * packet's length, so a short-form DISCONNECT (Remaining Length 0 or 1)
 * followed by another packet in the same buffer is misread: e0 00 c0 00 gives
 * "Invalid disconnect reason code", e0 01 04 40 02 00 01 gives "Cannot parse
 * property code type". edgemq's side of streaming is tested with FrameDecoder.
 */
function mqttParse(bytes: Uint8Array, version: ProtocolVersion): { packet?: MqttObject; error?: Error } {
  const parser = mqttPacket.parser({ protocolVersion: version });
  const packets: MqttObject[] = [];
  let error: Error | undefined;
  parser.on("packet", (p: MqttObject) => packets.push(p));
  parser.on("error", (e: Error) => { error ??= e; });
  parser.parse(Buffer.from(bytes));
  if (error) return { error };
  if (packets.length !== 1) return { error: new Error(`mqtt-packet emitted ${packets.length} packets`) };
  return { packet: packets[0]! };
}

//
// Cases mqtt-packet refuses to GENERATE although the spec allows them. They
// are left out of direction (a) only, after checking that mqtt-packet really
// throws (it checks the Client Identifier first); direction (b) still covers them, as mqtt-packet's parser reads them.
//
function mqttPacketRefusesToGenerate(p: Packet): RegExp | undefined {
  if (p.type !== "connect" || p.protocolVersion !== 5) return undefined;
  // MQTT 5.0 allows a zero-byte Client Identifier with Clean Start 0 at the
  // codec level (§3.1.3.1: the Server may accept it or answer 0x85); only
  // 3.1.1 required Clean Session 1 [MQTT-3.1.3-7]. mqtt-packet throws
  // "clientId must be given if cleanSession set to 0" for 5.0 too.
  if (p.clientId === "" && !p.cleanStart) return /clientId must be given/;
  // MQTT 5.0 allows a Password without a User Name (§3.1.2.9; the rule
  // [MQTT-3.1.2-22] against it is 3.1.1's), but mqtt-packet's writer throws
  // "Username is required to use password" at every level.
  if (p.password !== undefined && p.username === undefined) return /Username is required/;
  return undefined;
}

//
// Cases mqtt-packet's parser cannot READ although the spec allows them; left
// out of direction (b) after checking that mqtt-packet really reports an error.
//
function mqttPacketRefusesToParse(p: Packet): RegExp | undefined {
  // An AUTH with Reason Code 0x00 and no properties may have a Remaining
  // Length of 0 (§3.15.2.1), and edgemq encodes it so, as it does DISCONNECT.
  // mqtt-packet's _parseAuth reads the reason code unconditionally, finds no
  // byte, and emits "Invalid auth reason code".
  if (p.type === "auth" && p.reasonCode === 0 && p.properties === undefined) return /Invalid auth reason code/;
  return undefined;
}

//
// Where mqtt-packet's bytes legitimately differ from edgemq's for the same
// content, so that only the content is compared.
//
function mqttPacketWritesLongerForm(p: Packet, version: ProtocolVersion): boolean {
  if (version !== 5 || !("properties" in p) || p.properties !== undefined) return false;
  switch (p.type) {
    // With a non-zero reason code and no properties, edgemq stops after the
    // reason code (Remaining Length 3, §3.4.2.2.1 lets the Property Length be
    // absent); mqtt-packet adds an empty Property Length (Remaining Length 4).
    case "puback": case "pubrec": case "pubrel": case "pubcomp":
      return p.reasonCode !== 0;
    // mqtt-packet always writes DISCONNECT's and AUTH's reason code and
    // Property Length; edgemq uses the short forms of §3.14.2.1 / §3.15.2.1
    // (Remaining Length 0 for 0x00, 1 for another code without properties).
    case "disconnect": case "auth":
      return true;
    default:
      return false;
  }
}

/**
 * The content edgemq should decode from mqtt-packet's bytes for packet `p`:
 * `p` itself, except that mqtt-packet holds user properties in an object, so
 * it writes them grouped by name, names in JavaScript key order (integer-like
 * names first). Values of one name keep their order.
 */
const asMqttPacketWrites = (p: Packet): Packet => mapUserProperties(p, groupUserProperties);

/**
 * The content mqtt-packet's parser should emit for edgemq's encoding of `p`:
 * grouped user properties again, and mqtt-packet's truthiness quirk on a
 * first value of "" (see userPropertiesAsMqttPacketParses).
 */
const asMqttPacketParses = (p: Packet): Packet => mapUserProperties(p, userPropertiesAsMqttPacketParses);

/** Splits bytes into 1..n random chunks (some of one byte), as a socket might. */
function randomChunks(rng: Rng, bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.byteLength) {
    const r = rng.float();
    const n = r < 0.2 ? 1 : r < 0.6 ? rng.int(2, 16) : r < 0.9 ? rng.int(17, 512) : rng.int(513, 8192);
    chunks.push(bytes.slice(at, at + n)); // a copy: the decoder may keep views into chunks
    at += n;
  }
  return chunks;
}

const where = (i: number, bytes: Uint8Array, version: ProtocolVersion) =>
  `seed ${formatSeed(SEED)}, level ${version}, packet #${i}, bytes ${toHex(bytes).slice(0, 4000)}`;

const TITLES: Record<PacketTypeName, string> = {
  connect: "CONNECT", connack: "CONNACK", publish: "PUBLISH", puback: "PUBACK", pubrec: "PUBREC", pubrel: "PUBREL",
  pubcomp: "PUBCOMP", subscribe: "SUBSCRIBE", suback: "SUBACK", unsubscribe: "UNSUBSCRIBE", unsuback: "UNSUBACK",
  pingreq: "PINGREQ", pingresp: "PINGRESP", disconnect: "DISCONNECT", auth: "AUTH",
};

describe(`codec differential against mqtt-packet (seed ${formatSeed(SEED)})`, () => {
  for (const type of PACKET_TYPES) {
    const TYPE = TITLES[type];
    describe(TYPE, () => {
      for (const version of versionsOf(type)) {
        it(`decodes ${COUNT} random ${TYPE} packets generated by mqtt-packet at level ${version} to the same content`, () => {
          const stat = statFor(TYPE);
          let checked = 0;
          packetsFor(type, version).forEach((p, i) => {
            const refusal = mqttPacketRefusesToGenerate(p);
            if (refusal) {
              expect(() => mqttGenerate(toMqttPacket(p, version), version), `mqtt-packet should refuse packet #${i}`).toThrow(refusal);
              stat.excluded.push(`generate: ${refusal.source}`);
              return;
            }
            const bytes = mqttGenerate(toMqttPacket(p, version), version);
            const expected = asMqttPacketWrites(p);
            const decoded = decodePacket(bytes, version);
            expect(canonical(decoded), where(i, bytes, version)).toEqual(canonical(expected));
            // Same content, same bytes: unless mqtt-packet picks a longer
            // legal form, edgemq's encoding must be byte for byte mqtt-packet's.
            if (!mqttPacketWritesLongerForm(p, version)) {
              expect(toHex(encodePacket(expected, version)), where(i, bytes, version)).toBe(toHex(bytes));
              stat.byteEqual++;
            }
            checked++;
          });
          stat.decoded += checked;
          expect(checked).toBeGreaterThan(COUNT * 0.75);
        });

        it(`decodes the same ${TYPE} packets from one stream split into random chunks by FrameDecoder at level ${version}`, () => {
          const rng = root.fork(`chunks/${type}/${version}`);
          const packets = packetsFor(type, version).filter((p) => !mqttPacketRefusesToGenerate(p));
          const frames = packets.map((p) => mqttGenerate(toMqttPacket(p, version), version));
          const stream = Buffer.concat(frames);
          const decoder = new FrameDecoder({ protocolVersion: version });
          const decoded: Packet[] = [];
          for (const chunk of randomChunks(rng, stream)) {
            decoder.push(chunk);
            for (let p = decoder.next(); p !== undefined; p = decoder.next()) decoded.push(p);
          }
          expect(decoder.buffered).toBe(0);
          expect(decoded.length).toBe(packets.length);
          decoded.forEach((d, i) => {
            expect(canonical(d), where(i, frames[i]!, version)).toEqual(canonical(asMqttPacketWrites(packets[i]!)));
          });
        });

        it(`encodes ${COUNT} random ${TYPE} packets that mqtt-packet parses at level ${version} to the same content`, () => {
          const stat = statFor(TYPE);
          let checked = 0;
          packetsFor(type, version).forEach((p, i) => {
            const bytes = encodePacket(p, version);
            const { packet, error } = mqttParse(bytes, version);
            const refusal = mqttPacketRefusesToParse(p);
            if (refusal) {
              expect(error?.message, `mqtt-packet should refuse packet #${i}`).toMatch(refusal);
              stat.excluded.push(`parse: ${refusal.source}`);
              return;
            }
            expect(error, where(i, bytes, version)).toBeUndefined();
            expect(canonical(fromMqttPacket(packet!, version)), where(i, bytes, version)).toEqual(canonical(asMqttPacketParses(p)));
            // mqtt-packet's view of the framing must agree too.
            expect(packet!.length, where(i, bytes, version)).toBe(remainingLength(bytes));
            checked++;
          });
          stat.encoded += checked;
          expect(checked).toBeGreaterThan(COUNT * 0.75);
        });
      }
    });
  }
});

/** The Remaining Length field of an encoded packet. */
function remainingLength(bytes: Uint8Array): number {
  let value = 0;
  for (let i = 1, mul = 1; i < 5; i++, mul *= 128) {
    value += (bytes[i]! & 0x7f) * mul;
    if ((bytes[i]! & 0x80) === 0) break;
  }
  return value;
}

afterAll(() => {
  const lines = [...stats].map(([type, s]) => {
    const excluded = new Map<string, number>();
    for (const e of s.excluded) excluded.set(e, (excluded.get(e) ?? 0) + 1);
    const ex = [...excluded].map(([why, n]) => `${n} excluded (${why})`).join(", ");
    return `  ${type.padEnd(11)} decoded ${s.decoded} (${s.byteEqual} byte-identical), encoded ${s.encoded}${ex ? `, ${ex}` : ""}`;
  });
  console.log(`codec differential, seed ${formatSeed(SEED)}:\n${lines.join("\n")}`);
});
