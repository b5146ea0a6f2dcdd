import { describe, expect, it } from "vitest";
import {
  decodePacket, encodePacket, FrameDecoder, MqttError, type Packet, PROPERTY_TABLE, type ProtocolVersion,
} from "@edgemq/core/codec";
import { type MalformedFixture, malformedFixtures } from "../fixtures/malformed.ts";
import { type ValidFixture, validFixtures } from "../fixtures/packets.ts";

const hex = (bytes: Uint8Array | number[]): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");

const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, "0")}`;

/** Every packet a decoder returns until it needs more bytes. */
function drain(decoder: FrameDecoder): Packet[] {
  const out: Packet[] = [];
  for (let p = decoder.next(); p !== undefined; p = decoder.next()) out.push(p);
  return out;
}

/** Pushes each chunk and drains after every push, as a socket reader would. */
function decodeChunks(version: ProtocolVersion, chunks: Uint8Array[]): Packet[] {
  const decoder = new FrameDecoder({ protocolVersion: version });
  const out: Packet[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    out.push(...drain(decoder));
  }
  expect(decoder.buffered).toBe(0);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The remaining length in a fixed header, and how many bytes its varint takes. */
function parseRemainingLength(bytes: number[]): { value: number; length: number } {
  let value = 0;
  let multiplier = 1;
  for (let i = 1; i <= 4; i++) {
    const b = bytes[i];
    if (b === undefined) throw new Error("the fixed header is cut short");
    value += (b & 0x7f) * multiplier;
    if ((b & 0x80) === 0) return { value, length: i };
    multiplier *= 128;
  }
  throw new Error("the remaining length is longer than 4 bytes");
}

/** Runs `fn` and returns the MqttError it throws; fails if it throws anything else or nothing. */
function mqttErrorOf(fn: () => unknown): MqttError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, "expected an MqttError to be thrown").toBeInstanceOf(MqttError);
  return thrown as MqttError;
}

function expectRefused(f: MalformedFixture, error: MqttError): void {
  expect(hex2(error.reasonCode), error.message).toBe(hex2(f.reasonCode));
  if (f.code !== undefined) expect(error.code, error.message).toBe(f.code);
}

describe("valid packet fixtures", () => {
  it("have unique names", () => {
    const names = validFixtures.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it("cover every packet type at every protocol level where it exists", () => {
    const types = ["connect", "connack", "publish", "puback", "pubrec", "pubrel", "pubcomp", "subscribe", "suback",
      "unsubscribe", "unsuback", "pingreq", "pingresp", "disconnect", "auth"] as const;
    for (const version of [3, 4, 5] as const) {
      const seen = new Set(validFixtures.filter((f) => f.version === version).map((f) => f.packet.type));
      for (const type of types) {
        if (type === "auth" && version < 5) expect(seen.has(type)).toBe(false);
        else expect(seen.has(type), `${type} at level ${version}`).toBe(true);
      }
    }
  });

  it("cover every MQTT 5.0 property", () => {
    const seen = new Set<string>();
    const collect = (props: object | undefined): void => {
      for (const key of Object.keys(props ?? {})) seen.add(key === "subscriptionIdentifiers" ? "subscriptionIdentifier" : key);
    };
    for (const f of validFixtures) {
      const p = f.packet;
      if ("properties" in p) collect(p.properties);
      if (p.type === "connect") collect(p.will?.properties);
    }
    expect(PROPERTY_TABLE.length).toBe(27);
    for (const def of PROPERTY_TABLE) expect(seen.has(def.name), def.name).toBe(true);
  });

  for (const f of validFixtures) {
    describe(f.name, () => {
      const bytes = new Uint8Array(f.bytes);
      const v = f.version;

      it(`${f.name}: decodes to the expected packet`, () => {
        expect(decodePacket(bytes, v)).toEqual(f.packet);
      });

      it(`${f.name}: encodes to the fixture bytes`, () => {
        expect(hex(encodePacket(f.packet, v))).toBe(hex(f.bytes));
      });

      it(`${f.name}: round-trips decode→encode→decode`, () => {
        const decoded = decodePacket(bytes, v);
        const encoded = encodePacket(decoded, v);
        expect(hex(encoded)).toBe(hex(f.bytes));
        expect(decodePacket(encoded, v)).toEqual(decoded);
      });

      it(`${f.name}: has a remaining length that matches its byte length`, () => {
        const { value, length } = parseRemainingLength(f.bytes);
        expect(1 + length + value).toBe(f.bytes.length);
        expect(encodePacket(f.packet, v).byteLength).toBe(f.bytes.length);
      });

      it(`${f.name}: decodes the same when split at every byte boundary`, () => {
        // Small packets are compared field by field at every split point. A large
        // one is compared by re-encoding at every point (a deep compare of a
        // 20 kB payload 20,000 times is too slow) and field by field at a sample.
        const n = bytes.byteLength;
        const deepEvery = n > 512 ? Math.ceil(n / 97) : 1;
        for (let k = 0; k <= n; k++) {
          const packets = decodeChunks(v, [bytes.subarray(0, k), bytes.subarray(k)]);
          expect(packets.length, `split at ${k}`).toBe(1);
          if (k % deepEvery === 0 || k < 8 || k > n - 8) {
            expect(packets, `split at ${k}`).toEqual([f.packet]);
          } else if (!sameBytes(encodePacket(packets[0]!, v), bytes)) {
            expect.fail(`split at ${k}: decoded to a different packet`);
          }
        }
        const oneByteAtATime = Array.from({ length: n }, (_, i) => bytes.subarray(i, i + 1));
        expect(decodeChunks(v, oneByteAtATime)).toEqual([f.packet]);
      });
    });
  }

  for (const version of [3, 4, 5] as const) {
    it(`all level-${version} fixtures concatenated into one chunk decode in order`, () => {
      const fixtures: ValidFixture[] = validFixtures.filter((f) => f.version === version);
      const total = fixtures.reduce((n, f) => n + f.bytes.length, 0);
      const stream = new Uint8Array(total);
      let at = 0;
      for (const f of fixtures) {
        stream.set(f.bytes, at);
        at += f.bytes.length;
      }
      expect(decodeChunks(version, [stream])).toEqual(fixtures.map((f) => f.packet));
    });
  }
});

describe("malformed packet fixtures", () => {
  it("have unique names and unique bytes", () => {
    const names = malformedFixtures.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    const keys = malformedFixtures.map((f) => `${f.version}:${hex(f.bytes)}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("are complete frames whose remaining length matches their byte length", () => {
    for (const f of malformedFixtures) {
      let rl: { value: number; length: number } | undefined;
      try {
        rl = parseRemainingLength(f.bytes);
      } catch {
        continue; // the remaining length itself is the fault
      }
      expect(1 + rl.length + rl.value, f.name).toBe(f.bytes.length);
    }
  });

  for (const f of malformedFixtures) {
    const bytes = new Uint8Array(f.bytes);
    it(`${f.name}: is refused with reason ${hex2(f.reasonCode)}`, () => {
      expectRefused(f, mqttErrorOf(() => decodePacket(bytes, f.version)));

      const whole = new FrameDecoder({ protocolVersion: f.version });
      whole.push(bytes);
      expectRefused(f, mqttErrorOf(() => drain(whole)));

      const byteByByte = new FrameDecoder({ protocolVersion: f.version });
      expectRefused(f, mqttErrorOf(() => {
        for (let i = 0; i < bytes.byteLength; i++) {
          byteByByte.push(bytes.subarray(i, i + 1));
          drain(byteByByte);
        }
      }));
    });
  }
});

describe("maximum packet size", () => {
  it("a FrameDecoder refuses a packet larger than its maximum packet size with 0x95 from the fixed header", () => {
    const big = validFixtures.find((f) => f.version === 5 && f.bytes.length > 20000)!;
    const decoder = new FrameDecoder({ protocolVersion: 5, maximumPacketSize: 1000 });
    decoder.push(new Uint8Array(big.bytes.slice(0, 4)));
    const error = mqttErrorOf(() => decoder.next());
    expect(error.reasonCode).toBe(0x95);
    expect(error.code).toBe("PACKET_TOO_LARGE");
  });
});
