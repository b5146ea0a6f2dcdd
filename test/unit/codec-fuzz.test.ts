// A seeded fuzz test of the codec: valid packets mutated in the ways real
// corruption and attackers do (bit flips, inserted and deleted bytes,
// truncation, corrupted length fields, spliced packets), and random bytes
// behind a plausible first byte. Every input goes to decodePacket at levels 3,
// 4 and 5 and to a FrameDecoder in random chunks. The codec must throw only
// MqttErrors with a reason code in 0x80..0xA2 and a string code, never hang,
// agree with itself (stream vs whole packet, decode vs re-encode), and keep
// memory bounded.
//
// Reproduce a failure with CODEC_FUZZ_SEED=<seed from the test name>; the
// failure message also carries the input in hex.
import v8 from "node:v8";
import vm from "node:vm";
import { afterAll, describe, expect, it } from "vitest";
import {
  checkFixedHeader, decodePacket, encodePacket, FrameDecoder, MqttError, type Packet, type ProtocolVersion,
} from "@edgemq/core/codec";
import {
  canonical, createRng, formatSeed, PACKET_TYPES, randomPacket, type Rng, seedFromEnv, toHex, versionsOf,
} from "../support/random-packets.ts";

const SEED = seedFromEnv("CODEC_FUZZ_SEED", 0xf022_5eed);
const MUTATED_INPUTS = 200_000;
const RANDOM_INPUTS = 100_000;
const VERSIONS: readonly ProtocolVersion[] = [3, 4, 5];
const root = createRng(SEED);

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

interface Failure { where: string; input: string; detail: string; count: number }

class Checker {
  /** The first failure of each kind (keyed by what failed), with how often it happened. */
  readonly failures = new Map<string, Failure>();
  readonly errorCodes = new Map<string, number>();
  inputs = 0;
  decoded = 0;
  private where = "";
  private input: Uint8Array = new Uint8Array(0);

  begin(where: string, input: Uint8Array): void {
    this.inputs++;
    this.where = where;
    this.input = input;
  }

  fail(what: string, detail: unknown): void {
    const seen = this.failures.get(what);
    if (seen) {
      seen.count++;
      return;
    }
    const text = detail instanceof MqttError ? `MqttError ${detail.code}: ${detail.message}`
      : detail instanceof Error ? `${detail.name}: ${detail.message}\n${detail.stack ?? ""}` : String(detail);
    this.failures.set(what, { where: this.where, input: toHex(this.input), detail: text, count: 1 });
  }

  /** Every error the codec throws must be an MqttError with a 0x80..0xA2 reason code and a code. */
  error(e: unknown, what: string): e is MqttError {
    if (
      e instanceof MqttError && typeof e.reasonCode === "number" && e.reasonCode >= 0x80 && e.reasonCode <= 0xa2 &&
      typeof e.code === "string" && e.code.length > 0
    ) {
      this.errorCodes.set(e.code, (this.errorCodes.get(e.code) ?? 0) + 1);
      return true;
    }
    this.fail(`${what} threw something other than an MqttError with a 0x80..0xA2 reason code`, e);
    return false;
  }

  /**
   * A decoded packet must re-encode (without any error: it was valid), decode
   * again to the same content, and re-encode to the same bytes.
   */
  roundTrip(p: Packet, version: ProtocolVersion): void {
    this.decoded++;
    let bytes: Uint8Array;
    try {
      bytes = encodePacket(p, version);
    } catch (e) {
      this.error(e, "encodePacket of a decoded packet");
      this.fail(`a packet decoded at level ${version} does not re-encode`, e);
      return;
    }
    let again: Packet;
    try {
      again = decodePacket(bytes, version);
    } catch (e) {
      this.fail(`the re-encoding (${toHex(bytes)}) of a packet decoded at level ${version} does not decode`, e);
      return;
    }
    const a = JSON.stringify(canonical(p)), b = JSON.stringify(canonical(again));
    if (a !== b) this.fail(`a packet decoded at level ${version} changes when re-encoded and decoded`, `${a}\n!==\n${b}`);
    const twice = toHex(encodePacket(again, version));
    if (twice !== toHex(bytes)) this.fail(`a re-encoded packet encodes differently the second time at level ${version}`, `${toHex(bytes)}\n!==\n${twice}`);
  }

  assertClean(): void {
    if (this.failures.size === 0) return;
    const kinds = [...this.failures].map(([what, f]) =>
      `${what} (${f.count}x), first at ${f.where}\n  input: ${f.input}\n  ${f.detail}`);
    expect.fail(`seed ${formatSeed(SEED)}: ${kinds.length} kinds of failure:\n${kinds.join("\n\n")}`);
  }
}

/** Splits bytes into random chunks: often whole, often one byte at a time, usually in between. */
function randomChunks(rng: Rng, bytes: Uint8Array): Uint8Array[] {
  const r = rng.float();
  if (r < 0.3) return [bytes];
  const max = r < 0.45 ? 1 : rng.int(2, 32);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength;) {
    const n = rng.int(1, max);
    chunks.push(bytes.subarray(at, at + n));
    at += n;
  }
  return chunks;
}

/** Feeds one input to decodePacket at every level and to a FrameDecoder. */
function fuzzOne(rng: Rng, check: Checker, input: Uint8Array, where: string): void {
  check.begin(where, input);
  for (const version of VERSIONS) {
    let p: Packet;
    try {
      p = decodePacket(input, version);
    } catch (e) {
      check.error(e, `decodePacket at level ${version}`);
      continue;
    }
    check.roundTrip(p, version);
  }

  // The same bytes through a FrameDecoder in random chunks, sometimes with a
  // small maximum packet size. The loop is bounded: each packet takes at least
  // two bytes, so there can be no more packets than half the input.
  const version = rng.pick(VERSIONS);
  const maximumPacketSize = rng.bool(0.15) ? rng.int(2, 128) : undefined;
  const decoder = new FrameDecoder({ protocolVersion: version, maximumPacketSize });
  const packets: Packet[] = [];
  let error: MqttError | undefined;
  try {
    for (const chunk of randomChunks(rng, input)) {
      decoder.push(chunk);
      for (let p = decoder.next(); p !== undefined; p = decoder.next()) {
        packets.push(p);
        if (packets.length > input.byteLength / 2) throw new Error("FrameDecoder returns more packets than the input can hold");
      }
    }
  } catch (e) {
    if (check.error(e, `FrameDecoder at level ${version}`)) error = e;
  }
  if (error) {
    // A failed decoder stays failed and rethrows the same error.
    try {
      decoder.next();
      check.fail("FrameDecoder returned after an error", "no rethrow");
    } catch (e) {
      if (e !== error) check.fail("FrameDecoder rethrew a different error", e);
    }
  }

  // The stream decoder must agree with a model of it built from decodePacket:
  // walk the input frame by frame, as the spec frames packets, and decode each
  // whole frame with decodePacket at the level the stream is at (a CONNECT
  // sets it). Same packets, then the same end: the same error, or waiting for
  // more bytes with the rest still buffered.
  const model = modelStream(input, version, maximumPacketSize);
  const got = packets.map((p) => JSON.stringify(canonical(p)));
  const want = model.packets.map((p) => JSON.stringify(canonical(p)));
  const same = got.length === want.length && got.every((g, i) => g === want[i]);
  if (!same) {
    check.fail(`FrameDecoder at level ${version} decoded other packets than decodePacket frame by frame`, `${got.join("\n")}\n!==\n${want.join("\n")}`);
  } else if (model.error !== (error?.code)) {
    check.fail(`FrameDecoder at level ${version} ended with ${error?.code ?? "no error"}, decodePacket frame by frame with ${model.error ?? "no error"}`, error ?? "");
  } else if (!error && decoder.buffered !== model.buffered) {
    check.fail("FrameDecoder holds another number of bytes than are left unframed", `${decoder.buffered} !== ${model.buffered}`);
  }
}

/**
 * What a FrameDecoder should make of a stream: the order of its checks
 * (fixed header once two bytes are in, then the Remaining Length, then the
 * maximum packet size, then the body) with decodePacket for each whole frame.
 */
function modelStream(input: Uint8Array, start: ProtocolVersion, maximumPacketSize: number | undefined): { packets: Packet[]; error?: string; buffered: number } {
  const packets: Packet[] = [];
  let version = start;
  let at = 0;
  for (;;) {
    const rest = input.subarray(at);
    if (rest.byteLength < 2) return { packets, buffered: rest.byteLength };
    try {
      checkFixedHeader(rest[0]!, version);
    } catch (e) {
      return { packets, error: (e as MqttError).code, buffered: rest.byteLength };
    }
    let total: number | undefined;
    let value = 0;
    for (let i = 1, mul = 1; i <= 4; i++, mul *= 128) {
      if (i >= rest.byteLength) return { packets, buffered: rest.byteLength };
      value += (rest[i]! & 0x7f) * mul;
      if ((rest[i]! & 0x80) === 0) {
        if (rest[i] === 0 && i > 1) return { packets, error: "MALFORMED_VARINT", buffered: rest.byteLength }; // not in the fewest bytes
        total = i + 1 + value;
        break;
      }
    }
    if (total === undefined) return { packets, error: "MALFORMED_VARINT", buffered: rest.byteLength };
    if (maximumPacketSize !== undefined && total > maximumPacketSize) return { packets, error: "PACKET_TOO_LARGE", buffered: rest.byteLength };
    if (total > rest.byteLength) return { packets, buffered: rest.byteLength };
    try {
      const p = decodePacket(rest.subarray(0, total), version);
      packets.push(p);
      if (p.type === "connect") version = p.protocolVersion;
    } catch (e) {
      return { packets, error: (e as MqttError).code, buffered: rest.byteLength };
    }
    at += total;
  }
}

// ---------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------

/** Valid packets of every type and level, encoded, with mostly small payloads so that mutations hit structure. */
function validPool(rng: Rng, size: number): Uint8Array[] {
  const pool: Uint8Array[] = [];
  while (pool.length < size) {
    const type = rng.pick(PACKET_TYPES);
    const version = rng.pick(versionsOf(type));
    const p = randomPacket(rng, type, version, { maxPayload: rng.bool(0.9) ? 24 : 600 });
    pool.push(encodePacket(p, version).slice());
  }
  return pool;
}

function varint(v: number): number[] {
  const out: number[] = [];
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    out.push(byte);
  } while (v > 0);
  return out;
}

const INTERESTING = [0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xff, 0xfe, 0x23, 0x2b, 0x2f, 0x24, 0xc0, 0xed, 0xf4, 0xf5, 0x26, 0x0b, 0x1f];

type Mutation = (rng: Rng, b: Uint8Array, pool: Uint8Array[]) => Uint8Array;

const MUTATIONS: [string, Mutation][] = [
  ["flip bits", (rng, b) => {
    const out = b.slice();
    if (out.byteLength === 0) return out;
    const n = rng.int(1, 8);
    for (let i = 0; i < n; i++) {
      // Half the flips land in the headers, where one bit changes the most.
      const at = rng.bool() ? rng.int(0, Math.min(out.byteLength - 1, 16)) : rng.int(0, out.byteLength - 1);
      out[at]! ^= 1 << rng.int(0, 7);
    }
    return out;
  }],
  ["insert bytes", (rng, b) => {
    const at = rng.int(0, b.byteLength);
    const extra = rng.bool() ? rng.bytes(rng.int(1, 4)) : Uint8Array.of(rng.pick(INTERESTING));
    return Uint8Array.from([...b.subarray(0, at), ...extra, ...b.subarray(at)]);
  }],
  ["delete bytes", (rng, b) => {
    const at = rng.int(0, b.byteLength);
    return Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + rng.int(1, 4))]);
  }],
  ["truncate", (rng, b) => b.slice(0, rng.int(0, Math.max(0, b.byteLength - 1)))],
  ["set an interesting byte", (rng, b) => {
    const out = b.slice();
    if (out.byteLength > 0) out[rng.int(0, out.byteLength - 1)] = rng.pick(INTERESTING);
    return out;
  }],
  ["corrupt the remaining length", (rng, b) => {
    // Rewrite the fixed header's Remaining Length: off by a little, random,
    // huge, non-minimal, or five bytes long.
    const start = bodyStart(b);
    if (start === undefined) return b;
    const body = b.subarray(start);
    const r = rng.float();
    let field: number[];
    if (r < 0.4) field = varint(Math.max(0, body.byteLength + rng.pick([-3, -2, -1, 1, 2, 3])));
    else if (r < 0.6) field = varint(rng.int(0, 300));
    else if (r < 0.75) field = varint(rng.edgeInt(0, 268_435_455));
    else if (r < 0.9) field = [...varint(body.byteLength)].map((x) => x | 0x80).concat([0x00]).slice(0, 4); // non-minimal
    else field = [0xff, 0xff, 0xff, 0xff, rng.int(0, 0x7f)];
    return Uint8Array.from([b[0]!, ...field, ...body]);
  }],
  ["corrupt an inner length", (rng, b) => {
    // Overwrite two bytes inside the body, where string, binary and property
    // lengths live, with a length that is off by a little or far too big.
    const out = b.slice();
    if (out.byteLength < 4) return out;
    const at = rng.int(2, out.byteLength - 2);
    const current = (out[at]! << 8) | out[at + 1]!;
    const v = rng.bool() ? Math.max(0, Math.min(0xffff, current + rng.int(-3, 3))) : rng.edgeInt(0, 0xffff);
    out[at] = v >> 8;
    out[at + 1] = v & 0xff;
    return out;
  }],
  ["splice two packets", (rng, b, pool) => {
    const other = rng.pick(pool);
    if (rng.bool(0.3)) return Uint8Array.from([...b, ...other]); // two whole packets back to back
    return Uint8Array.from([...b.subarray(0, rng.int(0, b.byteLength)), ...other.subarray(rng.int(0, other.byteLength))]);
  }],
  ["change the first byte", (rng, b) => {
    const out = b.slice();
    if (out.byteLength > 0) out[0] = rng.bool() ? (rng.int(0, 15) << 4) | (out[0]! & 0x0f) : rng.int(0, 255);
    return out;
  }],
];

/** Where the body starts: after the first byte and the Remaining Length (undefined if that is incomplete). */
function bodyStart(b: Uint8Array): number | undefined {
  for (let i = 1; i < 5 && i < b.byteLength; i++) {
    if ((b[i]! & 0x80) === 0) return i + 1;
  }
  return undefined;
}

/** Rewrites the Remaining Length to the number of bytes that follow it. */
function repairRemainingLength(b: Uint8Array): Uint8Array {
  const start = bodyStart(b);
  if (start === undefined) return b;
  return Uint8Array.from([b[0]!, ...varint(b.byteLength - start), ...b.subarray(start)]);
}

// The first bytes a real packet can start with: each type with its required
// flags, PUBLISH with every flag combination.
const PLAUSIBLE_FIRST_BYTES = [0x10, 0x20, 0x62, 0x40, 0x50, 0x70, 0x82, 0x90, 0xa2, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0,
  ...Array.from({ length: 16 }, (_, i) => 0x30 | i)];

function randomInput(rng: Rng): Uint8Array {
  const first = rng.bool(0.85) ? rng.pick(PLAUSIBLE_FIRST_BYTES) : rng.int(0, 255);
  const bodyLength = rng.bool(0.1) ? rng.int(97, 400) : rng.int(0, 96);
  const body = rng.bytes(bodyLength);
  // Random bodies seldom get far; seed some with a plausible start (a small
  // string length, a packet identifier, a property length).
  if (bodyLength >= 2 && rng.bool(0.5)) {
    body[0] = 0;
    body[1] = rng.int(0, Math.min(bodyLength, 12));
  }
  const length = rng.bool(0.75) ? varint(bodyLength) : varint(rng.edgeInt(0, 268_435_455));
  return Uint8Array.from([first, ...length, ...body]);
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

const summary: string[] = [];
afterAll(() => {
  console.log(`codec fuzz, seed ${formatSeed(SEED)}:\n${summary.map((s) => `  ${s}`).join("\n")}`);
});

// A full collection on demand, so that what the codec keeps can be told from
// garbage not yet collected: --expose-gc set at run time takes effect for new
// contexts, and a fresh context hands out the gc function.
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

/** Heap growth while `body` ran, in MB: the peak (garbage included), and what is still held after a full GC. */
interface HeapGrowth { peak: number; retained: number }

function heapGrowth(body: (sample: () => void) => void): HeapGrowth {
  gc();
  const start = process.memoryUsage().heapUsed;
  let max = start;
  body(() => {
    const used = process.memoryUsage().heapUsed;
    if (used > max) max = used;
  });
  gc();
  const end = process.memoryUsage().heapUsed;
  return { peak: (max - start) / 1024 / 1024, retained: (end - start) / 1024 / 1024 };
}

const mb = (g: HeapGrowth) => `heap peak +${g.peak.toFixed(1)} MB, retained +${g.retained.toFixed(1)} MB`;

// The peak includes garbage between collections; what is retained after a
// full collection is what the codec (or the test) keeps. A leak of a few bytes
// per input over 100,000+ inputs, or one large buffer kept, breaks these.
function expectBoundedHeap(g: HeapGrowth): void {
  expect(g.peak).toBeLessThan(128);
  expect(g.retained).toBeLessThan(8);
}

describe(`codec fuzz (seed ${formatSeed(SEED)})`, () => {
  it(`throws only MqttErrors for ${MUTATED_INPUTS} mutated valid packets at levels 3, 4, 5 and in a FrameDecoder`, () => {
    const rng = root.fork("mutated");
    const pool = validPool(rng, 2000);
    const check = new Checker();
    const used = new Map<string, number>();
    const started = performance.now();
    const growth = heapGrowth((sample) => {
      for (let i = 0; i < MUTATED_INPUTS; i++) {
        let input = rng.pick(pool);
        const steps = rng.int(1, 3);
        const names: string[] = [];
        for (let s = 0; s < steps; s++) {
          const [name, mutate] = rng.pick(MUTATIONS);
          input = mutate(rng, input, pool);
          names.push(name);
          used.set(name, (used.get(name) ?? 0) + 1);
        }
        // Mutations mostly break the framing; repairing the Remaining Length
        // afterwards lets many more of them reach the body decoders.
        if (rng.bool(0.4)) {
          input = repairRemainingLength(input);
          names.push("repair the remaining length");
          used.set(names[names.length - 1]!, (used.get(names[names.length - 1]!) ?? 0) + 1);
        }
        fuzzOne(rng, check, input, `mutated input #${i} (${names.join(", ")})`);
        if (i % 5000 === 0) sample();
      }
    });
    const seconds = (performance.now() - started) / 1000;
    summary.push(`${check.inputs} mutated inputs in ${seconds.toFixed(1)} s, ${check.decoded} decodes succeeded, ${mb(growth)}`);
    summary.push(`mutations: ${[...used].map(([n, c]) => `${n} ${c}`).join(", ")}`);
    summary.push(`errors: ${[...check.errorCodes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(", ")}`);
    check.assertClean();
    expect(check.inputs).toBe(MUTATED_INPUTS);
    expect(check.decoded).toBeGreaterThan(1000); // the mutations leave many packets valid
    expectBoundedHeap(growth);
  });

  it(`throws only MqttErrors for ${RANDOM_INPUTS} random inputs behind a plausible first byte`, () => {
    const rng = root.fork("random");
    const check = new Checker();
    const started = performance.now();
    const growth = heapGrowth((sample) => {
      for (let i = 0; i < RANDOM_INPUTS; i++) {
        fuzzOne(rng, check, randomInput(rng), `random input #${i}`);
        if (i % 5000 === 0) sample();
      }
    });
    const seconds = (performance.now() - started) / 1000;
    summary.push(`${check.inputs} random inputs in ${seconds.toFixed(1)} s, ${check.decoded} decodes succeeded, ${mb(growth)}`);
    check.assertClean();
    expect(check.inputs).toBe(RANDOM_INPUTS);
    expectBoundedHeap(growth);
  });

  it("refuses a header claiming 200 MB at maximumPacketSize 1024 before buffering the body", () => {
    const claimed = 200 * 1024 * 1024;
    for (const first of PLAUSIBLE_FIRST_BYTES) {
      for (const version of VERSIONS) {
        if (first >> 4 === 15 && version < 5) continue; // AUTH is refused as reserved below 5.0
        const header = Uint8Array.from([first, ...varint(claimed)]);
        // The header alone is enough to refuse the packet.
        const d1 = new FrameDecoder({ protocolVersion: version, maximumPacketSize: 1024 });
        d1.push(header);
        expect(() => d1.next()).toThrow(expect.objectContaining({ reasonCode: 0x95, code: "PACKET_TOO_LARGE" }));
        expect(d1.buffered).toBe(header.byteLength);
        // Byte by byte, the decoder waits for the whole Remaining Length and
        // then refuses at once, holding no more than the header.
        const d2 = new FrameDecoder({ protocolVersion: version, maximumPacketSize: 1024 });
        let thrown: unknown;
        for (let i = 0; i < header.byteLength && thrown === undefined; i++) {
          d2.push(header.subarray(i, i + 1));
          try {
            expect(d2.next()).toBeUndefined();
          } catch (e) {
            thrown = e;
          }
        }
        expect(thrown).toBeInstanceOf(MqttError);
        expect((thrown as MqttError).reasonCode).toBe(0x95);
        expect(d2.buffered).toBeLessThanOrEqual(header.byteLength);
        // With body bytes arriving in the same chunk, nothing is copied or
        // waited for: the refusal comes from the header, and the decoder
        // stays failed.
        const d3 = new FrameDecoder({ protocolVersion: version, maximumPacketSize: 1024 });
        d3.push(Uint8Array.from([...header, ...new Uint8Array(1000)]));
        expect(() => d3.next()).toThrow(MqttError);
        expect(() => d3.next()).toThrow(expect.objectContaining({ code: "PACKET_TOO_LARGE" }));
        expect(d3.buffered).toBeLessThanOrEqual(1024);
      }
    }
  });

  it("refuses a Remaining Length longer than four bytes before buffering more", () => {
    const d = new FrameDecoder({ maximumPacketSize: 1024 });
    d.push(Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0xff));
    expect(() => d.next()).toThrow(expect.objectContaining({ reasonCode: 0x81, code: "MALFORMED_VARINT" }));
    expect(d.buffered).toBe(5);
  });

  // Found by this fuzz test: the codec took a Variable Byte Integer padded
  // with a zero byte, such as 0x80 0x00 for 0, which MQTT 5.0 forbids: "The
  // encoded value MUST use the minimum number of bytes necessary to represent
  // the value" [MQTT-1.5.5-1].
  it("refuses Variable Byte Integers not encoded in the fewest bytes, in the fixed header and inside the packet", () => {
    const overlong = [[0x80, 0x00], [0x81, 0x00], [0xff, 0x80, 0x00], [0x80, 0x80, 0x80, 0x00]];
    for (const field of overlong) {
      // PINGREQ with a padded Remaining Length (whatever its value, it is padded).
      const ping = Uint8Array.from([0xc0, ...field]);
      expect(() => decodePacket(ping, 5)).toThrow(expect.objectContaining({ reasonCode: 0x81, code: "MALFORMED_VARINT" }));
      const d = new FrameDecoder();
      d.push(ping);
      expect(() => d.next()).toThrow(expect.objectContaining({ reasonCode: 0x81, code: "MALFORMED_VARINT" }));
    }
    // A PUBACK whose property length 0 is written as 0x80 0x00.
    expect(() => decodePacket(Uint8Array.of(0x40, 0x05, 0x00, 0x01, 0x10, 0x80, 0x00), 5))
      .toThrow(expect.objectContaining({ reasonCode: 0x81, code: "MALFORMED_VARINT" }));
    // A SUBSCRIBE whose Subscription Identifier 1 is written as 0x81 0x00.
    expect(() => decodePacket(Uint8Array.of(0x82, 0x0a, 0x00, 0x01, 0x03, 0x0b, 0x81, 0x00, 0x00, 0x01, 0x61, 0x00), 5))
      .toThrow(expect.objectContaining({ reasonCode: 0x81, code: "MALFORMED_VARINT" }));
    // The boundaries themselves are fine: 127 in one byte, 128 in two, 16384 in three.
    for (const [field, value] of [[[0x7f], 127], [[0x80, 0x01], 128], [[0x80, 0x80, 0x01], 16_384]] as const) {
      const publish = Uint8Array.from([0x30, ...field, 0x00, 0x01, 0x74, ...new Uint8Array(value - 3)]);
      expect(decodePacket(publish, 4)).toMatchObject({ type: "publish", topic: "t" });
    }
  });

  it("streams 50000 valid packets through one FrameDecoder in random chunks with bounded memory", () => {
    const rng = root.fork("stream");
    const pool: { bytes: Uint8Array; version: ProtocolVersion }[] = [];
    while (pool.length < 500) {
      const type = rng.pick(PACKET_TYPES);
      if (type === "connect") continue; // a CONNECT would switch the decoder's level
      const p = randomPacket(rng, type, 5, { maxPayload: 2048 });
      pool.push({ bytes: encodePacket(p, 5).slice(), version: 5 });
    }
    const decoder = new FrameDecoder({ protocolVersion: 5, maximumPacketSize: 64 * 1024 });
    let sent = 0, received = 0, maxBuffered = 0;
    const growth = heapGrowth((sample) => {
      let pending: Uint8Array[] = [];
      for (let i = 0; i < 50_000; i++) {
        const { bytes } = rng.pick(pool);
        pending.push(bytes);
        sent++;
        // Cut the pending bytes into random chunks, as a socket would.
        if (rng.bool(0.2) || i === 49_999) {
          const all = Uint8Array.from(pending.flatMap((b) => [...b]));
          pending = [];
          for (let at = 0; at < all.byteLength;) {
            const n = rng.int(1, rng.bool(0.5) ? 64 : 4096);
            decoder.push(all.subarray(at, at + n));
            at += n;
            for (let p = decoder.next(); p !== undefined; p = decoder.next()) received++;
            maxBuffered = Math.max(maxBuffered, decoder.buffered);
          }
        }
        if (i % 2000 === 0) sample();
      }
    });
    summary.push(`stream: ${received} packets through one FrameDecoder, max buffered ${maxBuffered} bytes, ${mb(growth)}`);
    expect(received).toBe(sent);
    expect(decoder.buffered).toBe(0);
    expectBoundedHeap(growth);
  });
});
