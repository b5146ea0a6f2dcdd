// Seeded generators of random, valid MQTT packets in edgemq's Packet shape,
// and converters between that shape and mqtt-packet's objects, for the
// differential and fuzz tests. Nothing here uses Math.random: every run is
// reproducible from the seed the test names.
//
// The rules below (which properties each packet allows, value ranges, reason
// code tables) are written out from the MQTT 5.0 and 3.1.1 specifications on
// purpose, instead of reusing the codec's own PROPERTY_TABLE and code tables:
// a test that borrowed them could not notice when they are wrong.
import { Buffer } from "node:buffer";
import type {
  ConnectPacket, Packet, ProtocolVersion, QoS, Subscription, UserProperty, Will,
} from "@edgemq/core/codec";

// ---------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------

/** A seeded pseudo-random generator (mulberry32) with helpers. */
export interface Rng {
  /** The seed this generator started from. */
  readonly seed: number;
  /** A uniform 32-bit unsigned integer. */
  u32(): number;
  /** A uniform float in [0, 1). */
  float(): number;
  /** A uniform integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** An integer in [min, max], biased towards the edges and encoding boundaries. */
  edgeInt(min: number, max: number): number;
  /** True with probability p. */
  bool(p?: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** n random bytes. */
  bytes(n: number): Uint8Array;
  /** An independent generator whose seed derives from this seed and a label. */
  fork(label: string): Rng;
}

// Values at which integer encodings change width (variable byte integers at
// 127/128, 16383/16384, 2097151/2097152; two- and four-byte integers at their maxima).
const BOUNDARIES = [0, 1, 2, 127, 128, 255, 256, 16_383, 16_384, 65_534, 65_535, 65_536,
  2_097_151, 2_097_152, 268_435_455, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** FNV-1a of a string, to derive sub-seeds from labels. */
export function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A mulberry32 generator. */
export function createRng(seed: number): Rng {
  let state = seed | 0;
  const u32 = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
  const float = (): number => u32() / 4_294_967_296;
  const int = (min: number, max: number): number => min + Math.floor(float() * (max - min + 1));
  const rng: Rng = {
    seed: seed >>> 0,
    u32,
    float,
    int,
    edgeInt(min, max) {
      if (float() < 0.3) {
        const edges = BOUNDARIES.filter((b) => b >= min && b <= max);
        edges.push(min, max);
        if (min < max) edges.push(min + 1, max - 1);
        return edges[int(0, edges.length - 1)]!;
      }
      return int(min, max);
    },
    bool: (p = 0.5) => float() < p,
    pick: <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!,
    bytes(n) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = u32() & 0xff;
      return out;
    },
    fork: (label) => createRng((seed ^ hashLabel(label)) >>> 0),
  };
  return rng;
}

/**
 * The seed for a test file: the environment variable `name` if set (decimal or
 * 0x-hex), otherwise the fixed default, so that a failure can be replayed.
 */
export function seedFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback >>> 0;
  const value = raw.startsWith("0x") ? Number.parseInt(raw.slice(2), 16) : Number.parseInt(raw, 10);
  if (!Number.isFinite(value)) throw new Error(`${name}=${raw} is not a number`);
  return value >>> 0;
}

/** Formats a seed the way the tests print it. */
export function formatSeed(seed: number): string {
  return `0x${(seed >>> 0).toString(16).padStart(8, "0")}`;
}

/** Hex dump of bytes, for failure messages. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

// ---------------------------------------------------------------------------
// Strings, topics, filters
// ---------------------------------------------------------------------------

// Non-ASCII characters at UTF-8 width boundaries (2, 3 and 4 bytes), a BOM
// (which a receiver must not strip [MQTT-1.5.4-3]) and a few ordinary letters.
// None is U+0000, a surrogate half, a control character or a noncharacter.
const NON_ASCII = [
  "é", "ß", "ü", "Ω", "ж", "中", "文", "€", "\u00a0", "\u07ff", "\u0800", "\ud7ff", "\ue000",
  "\ufeff", "\ufffd", "😀", "🚀", "𝄞", "\u{10000}", "\u{10fffd}",
];

function randomChar(rng: Rng, nonAscii: number, exclude: string): string {
  for (;;) {
    const c = rng.bool(nonAscii) ? rng.pick(NON_ASCII) : String.fromCharCode(rng.int(0x20, 0x7e));
    if (!exclude.includes(c)) return c;
  }
}

/** A random MQTT UTF-8 string (no U+0000, no lone surrogates), sometimes longer than 64 bytes. */
export function randomString(rng: Rng, maxLength = 16, exclude = ""): string {
  const length = rng.bool(0.05) ? rng.int(60, 200) : rng.int(0, maxLength);
  const nonAscii = rng.bool(0.3) ? 0.3 : 0;
  let s = "";
  for (let i = 0; i < length; i++) s += randomChar(rng, nonAscii, exclude);
  return s;
}

function randomLevel(rng: Rng): string {
  // A level may be empty ("a//b") but holds no '/', '+' or '#'.
  const length = rng.bool(0.1) ? 0 : rng.int(1, 8);
  const nonAscii = rng.bool(0.25) ? 0.3 : 0;
  let s = "";
  for (let i = 0; i < length; i++) s += randomChar(rng, nonAscii, "/+#");
  return s;
}

/** A valid Topic Name: non-empty, no wildcards [MQTT-4.7.0-1], sometimes $SYS or long. */
export function randomTopicName(rng: Rng): string {
  const n = rng.int(1, 5);
  const levels: string[] = [];
  for (let i = 0; i < n; i++) levels.push(randomLevel(rng));
  if (rng.bool(0.05)) levels[0] = "$SYS";
  if (rng.bool(0.03)) levels.push("x".repeat(rng.int(60, 300)));
  const topic = levels.join("/");
  return topic.length === 0 ? rng.pick(["/", "t", "é"]) : topic;
}

/** A valid Topic Filter: wildcards only as whole levels, '#' last [MQTT-4.7.1-1/2]. */
export function randomTopicFilter(rng: Rng, shared: boolean): string {
  let filter: string;
  if (rng.bool(0.1)) {
    filter = rng.pick(["#", "+", "/", "+/+", "/#", "+/#", "$SYS/#", "a/+/b/#"]);
  } else {
    const n = rng.int(1, 5);
    const levels: string[] = [];
    for (let i = 0; i < n; i++) levels.push(rng.bool(0.2) ? "+" : randomLevel(rng));
    if (rng.bool(0.2)) levels.push("#");
    filter = levels.join("/");
    if (filter.length === 0) filter = "#";
  }
  if (shared) {
    // $share/{ShareName}/{filter}: a non-empty share name without '/', '+', '#' [MQTT-4.8.2-1/2].
    let shareName = "";
    const length = rng.int(1, 8);
    for (let i = 0; i < length; i++) shareName += randomChar(rng, 0.1, "/+#");
    filter = `$share/${shareName}/${filter}`;
  }
  return filter;
}

// ---------------------------------------------------------------------------
// Properties (MQTT 5.0 §2.2.2.2)
// ---------------------------------------------------------------------------

/** Where a property block sits: a packet type, or the will properties of CONNECT. */
export type PropertyPlace =
  | "connect" | "will" | "connack" | "publish" | "puback" | "pubrec" | "pubrel" | "pubcomp"
  | "subscribe" | "suback" | "unsubscribe" | "unsuback" | "disconnect" | "auth";

type ValueKind = "byte01" | "bool" | "u16" | "u16min1" | "u32" | "u32min1" | "varint" | "string" | "topic" | "binary" | "pairs";

// The properties by identifier, as Table 2-4 lists them, with the value each may take.
const PROPERTY_SPEC: readonly { id: number; name: string; kind: ValueKind; places: readonly PropertyPlace[] }[] = [
  { id: 0x01, name: "payloadFormatIndicator", kind: "byte01", places: ["publish", "will"] },
  { id: 0x02, name: "messageExpiryInterval", kind: "u32", places: ["publish", "will"] },
  { id: 0x03, name: "contentType", kind: "string", places: ["publish", "will"] },
  { id: 0x08, name: "responseTopic", kind: "topic", places: ["publish", "will"] }, // a Topic Name [MQTT-3.3.2-14]
  { id: 0x09, name: "correlationData", kind: "binary", places: ["publish", "will"] },
  // 1 to 268,435,455; 0 is a Protocol Error (§3.8.2.1.2). PUBLISH may carry several (§3.3.2.3.8).
  { id: 0x0b, name: "subscriptionIdentifier", kind: "varint", places: ["publish", "subscribe"] },
  { id: 0x11, name: "sessionExpiryInterval", kind: "u32", places: ["connect", "connack", "disconnect"] },
  { id: 0x12, name: "assignedClientIdentifier", kind: "string", places: ["connack"] },
  { id: 0x13, name: "serverKeepAlive", kind: "u16", places: ["connack"] },
  { id: 0x15, name: "authenticationMethod", kind: "string", places: ["connect", "connack", "auth"] },
  { id: 0x16, name: "authenticationData", kind: "binary", places: ["connect", "connack", "auth"] },
  { id: 0x17, name: "requestProblemInformation", kind: "bool", places: ["connect"] },
  { id: 0x18, name: "willDelayInterval", kind: "u32", places: ["will"] },
  { id: 0x19, name: "requestResponseInformation", kind: "bool", places: ["connect"] },
  { id: 0x1a, name: "responseInformation", kind: "string", places: ["connack"] },
  { id: 0x1c, name: "serverReference", kind: "string", places: ["connack", "disconnect"] },
  { id: 0x1f, name: "reasonString", kind: "string",
    places: ["connack", "puback", "pubrec", "pubrel", "pubcomp", "suback", "unsuback", "disconnect", "auth"] },
  { id: 0x21, name: "receiveMaximum", kind: "u16min1", places: ["connect", "connack"] }, // 0 is a Protocol Error
  { id: 0x22, name: "topicAliasMaximum", kind: "u16", places: ["connect", "connack"] },
  { id: 0x23, name: "topicAlias", kind: "u16min1", places: ["publish"] }, // 0 is not allowed [MQTT-3.3.2-8]
  { id: 0x24, name: "maximumQoS", kind: "byte01", places: ["connack"] }, // only 0 or 1 may be sent
  { id: 0x25, name: "retainAvailable", kind: "bool", places: ["connack"] },
  { id: 0x26, name: "userProperties", kind: "pairs",
    places: ["connect", "will", "connack", "publish", "puback", "pubrec", "pubrel", "pubcomp", "subscribe", "suback",
      "unsubscribe", "unsuback", "disconnect", "auth"] },
  { id: 0x27, name: "maximumPacketSize", kind: "u32min1", places: ["connect", "connack"] }, // 0 is a Protocol Error
  { id: 0x28, name: "wildcardSubscriptionAvailable", kind: "bool", places: ["connack"] },
  { id: 0x29, name: "subscriptionIdentifiersAvailable", kind: "bool", places: ["connack"] },
  { id: 0x2a, name: "sharedSubscriptionAvailable", kind: "bool", places: ["connack"] },
];

/** The property names (mqtt-packet's spelling) allowed in a place, in identifier order. */
export function allowedProperties(place: PropertyPlace): string[] {
  return PROPERTY_SPEC.filter((d) => d.places.includes(place)).map((d) => d.name);
}

// A small pool of names so that duplicates are common, including an empty
// name and integer-like names (which JavaScript objects reorder).
const USER_PROPERTY_NAMES = ["a", "b", "key", "ключ", "", "1", "0", "x-y", "content-type", "名"];

/** A user property list with duplicates, empty strings and non-ASCII text. */
export function randomUserProperties(rng: Rng): UserProperty[] {
  const n = rng.bool(0.1) ? rng.int(8, 20) : rng.int(1, 5);
  const list: UserProperty[] = [];
  for (let i = 0; i < n; i++) {
    const name = rng.bool(0.7) ? rng.pick(USER_PROPERTY_NAMES) : randomString(rng, 10);
    const value = rng.bool(0.15) ? "" : randomString(rng, 12);
    list.push([name, value]);
  }
  return list;
}

function randomValue(rng: Rng, kind: ValueKind): unknown {
  switch (kind) {
    case "byte01": return rng.int(0, 1);
    case "bool": return rng.bool();
    case "u16": return rng.edgeInt(0, 0xffff);
    case "u16min1": return rng.edgeInt(1, 0xffff);
    case "u32": return rng.edgeInt(0, 0xffffffff);
    case "u32min1": return rng.edgeInt(1, 0xffffffff);
    case "varint": return rng.edgeInt(1, 268_435_455);
    case "string": return randomString(rng, 20);
    case "topic": return randomTopicName(rng);
    case "binary": return rng.bytes(rng.bool(0.05) ? rng.int(100, 400) : rng.int(0, 32));
    case "pairs": return randomUserProperties(rng);
  }
}

/**
 * Random properties for a place, in edgemq's shape, or undefined (about a
 * quarter of the time, or when the draw picked none). Repeatable properties
 * are lists; PUBLISH's Subscription Identifiers go in `subscriptionIdentifiers`.
 */
export function randomProperties(rng: Rng, place: PropertyPlace): Record<string, unknown> | undefined {
  if (rng.bool(0.25)) return undefined;
  const density = rng.pick([0.15, 0.4, 0.8]);
  const props: Record<string, unknown> = {};
  let any = false;
  for (const def of PROPERTY_SPEC) {
    if (!def.places.includes(place) || !rng.bool(density)) continue;
    if (def.name === "subscriptionIdentifier" && place === "publish") {
      const n = rng.bool(0.3) ? rng.int(2, 4) : 1;
      props.subscriptionIdentifiers = Array.from({ length: n }, () => randomValue(rng, def.kind));
    } else {
      props[def.name] = randomValue(rng, def.kind);
    }
    any = true;
  }
  // Authentication Data without an Authentication Method is a Protocol Error (§3.1.2.11.10, §3.15.2.2.3).
  if (props.authenticationData !== undefined && props.authenticationMethod === undefined) {
    props.authenticationMethod = randomString(rng, 12);
  }
  return any ? props : undefined;
}

// ---------------------------------------------------------------------------
// Reason codes (MQTT 5.0 §3.x.2.1 tables, MQTT 3.1.1 return codes)
// ---------------------------------------------------------------------------

const CONNACK_CODES_V5 = [0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c,
  0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f];
const CONNACK_CODES_V3 = [0, 1, 2, 3, 4, 5];
const PUBACK_CODES = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]; // PUBACK and PUBREC
const PUBREL_CODES = [0x00, 0x92]; // PUBREL and PUBCOMP
const SUBACK_CODES_V5 = [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2];
const SUBACK_CODES_V3 = [0x00, 0x01, 0x02, 0x80];
const UNSUBACK_CODES = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91];
const DISCONNECT_CODES = [0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90,
  0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2];
const AUTH_CODES = [0x00, 0x18, 0x19];

// ---------------------------------------------------------------------------
// Packets
// ---------------------------------------------------------------------------

/** Every packet type, in type-number order. */
export const PACKET_TYPES = [
  "connect", "connack", "publish", "puback", "pubrec", "pubrel", "pubcomp", "subscribe", "suback",
  "unsubscribe", "unsuback", "pingreq", "pingresp", "disconnect", "auth",
] as const;
/** A packet type name. */
export type PacketTypeName = (typeof PACKET_TYPES)[number];

/** The protocol levels a packet type exists at (AUTH is 5.0 only). */
export function versionsOf(type: PacketTypeName): ProtocolVersion[] {
  return type === "auth" ? [5] : [3, 4, 5];
}

/** Options for {@link randomPacket}. */
export interface RandomPacketOptions {
  /** The largest payload (PUBLISH, will) to draw; a few KB by default. */
  maxPayload?: number;
}

function randomPayload(rng: Rng, max: number): Uint8Array {
  const r = rng.float();
  const n = r < 0.15 ? 0 : r < 0.55 ? rng.int(1, 16) : r < 0.85 ? rng.int(17, 256) : rng.int(257, 4096);
  // Now and then a payload large enough for a three-byte remaining length.
  const size = max >= 20_000 && rng.bool(0.01) ? rng.int(16_384, 20_000) : Math.min(n, max);
  return rng.bytes(size);
}

const packetId = (rng: Rng): number => rng.edgeInt(1, 0xffff); // never 0 [MQTT-2.2.1-3]
const props5 = <T>(rng: Rng, version: ProtocolVersion, place: PropertyPlace): T | undefined =>
  (version === 5 ? randomProperties(rng, place) : undefined) as T | undefined;
const qos = (rng: Rng): QoS => rng.int(0, 2) as QoS;

/** A random valid packet of `type` at protocol level `version`. */
export function randomPacket(rng: Rng, type: PacketTypeName, version: ProtocolVersion, options: RandomPacketOptions = {}): Packet {
  const maxPayload = options.maxPayload ?? 20_000;
  switch (type) {
    case "connect": return randomConnect(rng, version, maxPayload);
    case "connack": {
      const reasonCode = rng.bool(0.4) ? 0 : rng.pick(version === 5 ? CONNACK_CODES_V5 : CONNACK_CODES_V3);
      // Session Present only on success [MQTT-3.2.2-6]; MQTT 3.1 has no such flag.
      const sessionPresent = version > 3 && reasonCode === 0 && rng.bool();
      return { type, sessionPresent, reasonCode, properties: props5(rng, version, "connack") };
    }
    case "publish": {
      const q = qos(rng);
      const properties = props5<Record<string, unknown>>(rng, version, "publish");
      // With a Topic Alias the topic name may be empty (§3.3.2.3.4).
      const topic = properties?.topicAlias !== undefined && rng.bool(0.4) ? "" : randomTopicName(rng);
      return {
        type, topic, payload: randomPayload(rng, maxPayload), qos: q, retain: rng.bool(),
        dup: q > 0 && rng.bool(), // DUP is 0 for QoS 0 [MQTT-3.3.1-2]
        packetId: q > 0 ? packetId(rng) : undefined, properties,
      };
    }
    case "puback": case "pubrec": case "pubrel": case "pubcomp": {
      const codes = type === "puback" || type === "pubrec" ? PUBACK_CODES : PUBREL_CODES;
      const reasonCode = version === 5 && rng.bool(0.6) ? rng.pick(codes) : 0;
      return { type, packetId: packetId(rng), reasonCode, properties: props5(rng, version, type) };
    }
    case "subscribe": {
      const n = rng.bool(0.1) ? rng.int(6, 20) : rng.int(1, 5);
      const subscriptions: Subscription[] = [];
      for (let i = 0; i < n; i++) {
        const shared = rng.bool(0.15);
        const noLocal = version === 5 && !shared && rng.bool(); // No Local on a shared subscription is a Protocol Error [MQTT-3.8.3-4]
        subscriptions.push({
          topicFilter: randomTopicFilter(rng, shared), qos: qos(rng), noLocal,
          retainAsPublished: version === 5 && rng.bool(),
          retainHandling: version === 5 ? rng.int(0, 2) as 0 | 1 | 2 : 0,
        });
      }
      return { type, packetId: packetId(rng), subscriptions, properties: props5(rng, version, "subscribe") };
    }
    case "suback": {
      const n = rng.bool(0.1) ? rng.int(6, 40) : rng.int(1, 5);
      const codes = version === 5 ? SUBACK_CODES_V5 : SUBACK_CODES_V3;
      return {
        type, packetId: packetId(rng), reasonCodes: Array.from({ length: n }, () => rng.pick(codes)),
        properties: props5(rng, version, "suback"),
      };
    }
    case "unsubscribe": {
      const n = rng.bool(0.1) ? rng.int(6, 20) : rng.int(1, 5);
      return {
        type, packetId: packetId(rng), topicFilters: Array.from({ length: n }, () => randomTopicFilter(rng, rng.bool(0.15))),
        properties: props5(rng, version, "unsubscribe"),
      };
    }
    case "unsuback": {
      // A 3.1.1 UNSUBACK has no payload (§3.11.3); a 5.0 one has a code per filter.
      const n = version === 5 ? (rng.bool(0.1) ? rng.int(6, 40) : rng.int(1, 5)) : 0;
      return {
        type, packetId: packetId(rng), reasonCodes: Array.from({ length: n }, () => rng.pick(UNSUBACK_CODES)),
        properties: props5(rng, version, "unsuback"),
      };
    }
    case "pingreq": case "pingresp":
      return { type };
    case "disconnect":
      return {
        type, reasonCode: version === 5 && rng.bool(0.6) ? rng.pick(DISCONNECT_CODES) : 0,
        properties: props5(rng, version, "disconnect"),
      };
    case "auth":
      if (version !== 5) throw new Error("AUTH exists only in MQTT 5.0");
      return { type, reasonCode: rng.pick(AUTH_CODES), properties: props5(rng, version, "auth") };
  }
}

function randomConnect(rng: Rng, version: ProtocolVersion, maxPayload: number): ConnectPacket {
  const cleanStart = rng.bool();
  let clientId: string;
  if (version === 3) {
    // MQTT 3.1: the Client Identifier is 1 to 23 characters.
    clientId = "";
    const n = rng.int(1, 23);
    for (let i = 0; i < n; i++) clientId += String.fromCharCode(rng.int(0x21, 0x7e));
  } else if (version === 4 && !cleanStart) {
    // A zero-byte ClientId needs Clean Session 1 in 3.1.1 [MQTT-3.1.3-7]; 5.0 dropped that rule.
    clientId = randomString(rng, 23) || "c";
  } else {
    clientId = rng.bool(0.15) ? "" : randomString(rng, 23);
  }
  let will: Will | undefined;
  if (rng.bool(0.5)) {
    will = {
      topic: randomTopicName(rng), payload: randomPayload(rng, maxPayload), qos: qos(rng), retain: rng.bool(),
      properties: props5(rng, version, "will"),
    };
  }
  const username = rng.bool(0.5) ? randomString(rng, 16) : undefined;
  // A password without a user name is allowed only in 5.0 [MQTT-3.1.2-22] (3.1.1).
  const password = rng.bool(username !== undefined ? 0.5 : version === 5 ? 0.15 : 0) ? rng.bytes(rng.int(0, 40)) : undefined;
  return {
    type: "connect", protocolName: version === 3 ? "MQIsdp" : "MQTT", protocolVersion: version, cleanStart,
    keepAlive: rng.edgeInt(0, 0xffff), clientId, will, username, password,
    properties: props5(rng, version, "connect"),
  };
}

// ---------------------------------------------------------------------------
// Canonical form, for comparing packets with readable diffs
// ---------------------------------------------------------------------------

/**
 * A plain, JSON-like copy of a packet for deep comparison: byte arrays become
 * hex strings (so views and copies compare alike), undefined fields and empty
 * property blocks are dropped, and keys are sorted (so JSON.stringify of two
 * canonical packets compares their content, not their key order).
 */
export function canonical(value: unknown): unknown {
  if (value instanceof Uint8Array) return `bytes:${toHex(value)}`;
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (v === undefined) continue;
      if (k === "properties" && typeof v === "object" && v !== null && Object.keys(v).every((key) => (v as Record<string, unknown>)[key] === undefined)) continue;
      out[k] = canonical(v);
    }
    return out;
  }
  return value;
}

/** Applies `fn` to every user property list of a packet (its own and its will's). */
export function mapUserProperties(p: Packet, fn: (list: UserProperty[]) => UserProperty[]): Packet {
  const mapProps = <T extends { userProperties?: UserProperty[] } | undefined>(props: T): T =>
    props?.userProperties === undefined ? props : { ...props, userProperties: fn(props.userProperties) };
  const out = { ...p, properties: "properties" in p ? mapProps(p.properties) : undefined } as Packet;
  if (out.type === "connect" && out.will) out.will = { ...out.will, properties: mapProps(out.will.properties) };
  return out;
}

// ---------------------------------------------------------------------------
// mqtt-packet's object shape
// ---------------------------------------------------------------------------

/** A packet as mqtt-packet generates and emits it. */
export type MqttObject = Record<string, any>;

/**
 * mqtt-packet keeps user properties in an object, `{name: value | value[]}`:
 * values of one name stay in order, but the order across names is the
 * object's key order (integer-like names first). A null-prototype object, as
 * mqtt-packet's parser uses, so that any name (even `__proto__`) is a key.
 */
export function userPropertiesToMqtt(list: readonly UserProperty[]): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of list) {
    const current = out[name];
    if (current === undefined) out[name] = value;
    else if (Array.isArray(current)) current.push(value);
    else out[name] = [current, value];
  }
  return out;
}

/** mqtt-packet's user property object back to a list, in the order mqtt-packet writes it. */
export function userPropertiesFromMqtt(obj: Record<string, string | string[]>): UserProperty[] {
  const list: UserProperty[] = [];
  for (const name of Object.getOwnPropertyNames(obj)) {
    const v = obj[name]!;
    for (const value of Array.isArray(v) ? v : [v]) list.push([name, value]);
  }
  return list;
}

/**
 * The order mqtt-packet puts a user property list in: grouped by name, names
 * in JavaScript key order. Both directions lose the original interleaving.
 */
export function groupUserProperties(list: UserProperty[]): UserProperty[] {
  return userPropertiesFromMqtt(userPropertiesToMqtt(list));
}

/**
 * What mqtt-packet's parser makes of a user property list. Besides grouping
 * by name, it tests the value already stored for a name by truthiness
 * (`if (result[name][key])`), so when the first value of a name is the empty
 * string a later value of that name replaces it instead of being appended:
 * [["k", ""], ["k", "v"]] parses as {k: "v"}. A known mqtt-packet quirk
 * (parser.js, _parseProperties), modelled here so the tests still compare
 * everything else exactly.
 */
export function userPropertiesAsMqttPacketParses(list: UserProperty[]): UserProperty[] {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of list) {
    const current = out[name];
    if (current) {
      if (Array.isArray(current)) current.push(value);
      else out[name] = [current, value];
    } else {
      out[name] = value;
    }
  }
  return userPropertiesFromMqtt(out);
}

const PROPERTY_NAMES_BY_PLACE = new Map<PropertyPlace, string[]>();
for (const def of PROPERTY_SPEC) {
  for (const place of def.places) {
    const list = PROPERTY_NAMES_BY_PLACE.get(place) ?? [];
    list.push(def.name);
    PROPERTY_NAMES_BY_PLACE.set(place, list);
  }
}
const KIND_BY_NAME = new Map(PROPERTY_SPEC.map((d) => [d.name, d.kind]));

function propertiesToMqtt(props: Record<string, unknown> | undefined, place: PropertyPlace): MqttObject | undefined {
  if (props === undefined) return undefined;
  const allowed = PROPERTY_NAMES_BY_PLACE.get(place)!;
  for (const key of Object.keys(props)) {
    const name = key === "subscriptionIdentifiers" && place === "publish" ? "subscriptionIdentifier" : key;
    if (props[key] !== undefined && !allowed.includes(name)) throw new Error(`property ${key} is not allowed in ${place}`);
  }
  // Keys are inserted in identifier order, the order edgemq writes, because
  // mqtt-packet writes properties in the object's key order.
  const out: MqttObject = {};
  for (const name of allowed) {
    const value = name === "subscriptionIdentifier" && place === "publish" ? props.subscriptionIdentifiers : props[name];
    if (value === undefined) continue;
    const kind = KIND_BY_NAME.get(name)!;
    if (name === "payloadFormatIndicator") out[name] = value === 1; // mqtt-packet holds it as a boolean
    else if (kind === "binary") out[name] = Buffer.from(value as Uint8Array);
    else if (kind === "pairs") out[name] = userPropertiesToMqtt(value as UserProperty[]);
    else if (Array.isArray(value)) out[name] = value.length === 1 ? value[0] : [...value];
    else out[name] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function propertiesFromMqtt(props: MqttObject | undefined, place: PropertyPlace): Record<string, unknown> | undefined {
  if (props === undefined || props === null) return undefined;
  const allowed = PROPERTY_NAMES_BY_PLACE.get(place)!;
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(props)) {
    if (!allowed.includes(name)) throw new Error(`mqtt-packet emitted property ${name}, which ${place} does not allow`);
    const value = props[name];
    const kind = KIND_BY_NAME.get(name)!;
    if (name === "payloadFormatIndicator") out[name] = value ? 1 : 0;
    else if (kind === "binary") out[name] = new Uint8Array(value as Buffer);
    else if (kind === "pairs") out[name] = userPropertiesFromMqtt(value as Record<string, string | string[]>);
    else if (name === "subscriptionIdentifier" && place === "publish") out.subscriptionIdentifiers = Array.isArray(value) ? value : [value];
    else out[name] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

const bytesToBuffer = (b: Uint8Array): Buffer => Buffer.from(b);
const bufferToBytes = (b: Buffer | string | undefined | null): Uint8Array | undefined =>
  b === undefined || b === null ? undefined : typeof b === "string" ? new TextEncoder().encode(b) : new Uint8Array(b);

/** Converts an edgemq packet to the object mqtt-packet generates from. */
export function toMqttPacket(p: Packet, version: ProtocolVersion): MqttObject {
  switch (p.type) {
    case "connect": {
      const o: MqttObject = {
        cmd: "connect", protocolId: p.protocolName, protocolVersion: p.protocolVersion, clean: p.cleanStart,
        keepalive: p.keepAlive, clientId: p.clientId,
      };
      if (p.will) {
        o.will = { topic: p.will.topic, payload: bytesToBuffer(p.will.payload), qos: p.will.qos, retain: p.will.retain };
        const wp = propertiesToMqtt(p.will.properties, "will");
        if (wp) o.will.properties = wp;
      }
      if (p.username !== undefined) o.username = p.username;
      if (p.password !== undefined) o.password = bytesToBuffer(p.password);
      const props = propertiesToMqtt(p.properties, "connect");
      if (props) o.properties = props;
      return o;
    }
    case "connack": {
      const o: MqttObject = { cmd: "connack", sessionPresent: p.sessionPresent };
      if (version === 5) o.reasonCode = p.reasonCode;
      else o.returnCode = p.reasonCode;
      return withProps(o, p.properties, "connack", version);
    }
    case "publish": {
      const o: MqttObject = { cmd: "publish", topic: p.topic, payload: bytesToBuffer(p.payload), qos: p.qos, retain: p.retain, dup: p.dup };
      if (p.qos > 0) o.messageId = p.packetId;
      return withProps(o, p.properties, "publish", version);
    }
    case "puback": case "pubrec": case "pubrel": case "pubcomp": {
      const o: MqttObject = { cmd: p.type, messageId: p.packetId };
      if (version === 5) o.reasonCode = p.reasonCode;
      return withProps(o, p.properties, p.type, version);
    }
    case "subscribe":
      return withProps({
        cmd: "subscribe", messageId: p.packetId,
        subscriptions: p.subscriptions.map((s) => (version === 5
          ? { topic: s.topicFilter, qos: s.qos, nl: s.noLocal, rap: s.retainAsPublished, rh: s.retainHandling }
          : { topic: s.topicFilter, qos: s.qos })),
      }, p.properties, "subscribe", version);
    case "suback":
      return withProps({ cmd: "suback", messageId: p.packetId, granted: [...p.reasonCodes] }, p.properties, "suback", version);
    case "unsubscribe":
      return withProps({ cmd: "unsubscribe", messageId: p.packetId, unsubscriptions: [...p.topicFilters] }, p.properties, "unsubscribe", version);
    case "unsuback": {
      const o: MqttObject = { cmd: "unsuback", messageId: p.packetId };
      if (version === 5) o.granted = [...p.reasonCodes];
      return withProps(o, p.properties, "unsuback", version);
    }
    case "pingreq": case "pingresp":
      return { cmd: p.type };
    case "disconnect": case "auth": {
      const o: MqttObject = { cmd: p.type };
      if (version === 5) o.reasonCode = p.reasonCode;
      return withProps(o, p.properties, p.type, version);
    }
  }
}

function withProps(o: MqttObject, props: object | undefined, place: PropertyPlace, version: ProtocolVersion): MqttObject {
  if (version !== 5) return o;
  const converted = propertiesToMqtt(props as Record<string, unknown> | undefined, place);
  if (converted) o.properties = converted;
  return o;
}

/**
 * Converts an object mqtt-packet emitted (or would generate from) to an
 * edgemq packet, with the defaults edgemq's decoder fills in at `version`.
 */
export function fromMqttPacket(o: MqttObject, version: ProtocolVersion): Packet {
  const props = (place: PropertyPlace) => (version === 5 ? propertiesFromMqtt(o.properties, place) : undefined);
  switch (o.cmd) {
    case "connect": {
      const level = o.protocolVersion as ProtocolVersion;
      const will: Will | undefined = o.will
        ? {
          topic: o.will.topic, payload: bufferToBytes(o.will.payload) ?? new Uint8Array(0), qos: o.will.qos ?? 0,
          retain: o.will.retain ?? false, properties: level === 5 ? propertiesFromMqtt(o.will.properties, "will") : undefined,
        }
        : undefined;
      return {
        type: "connect", protocolName: o.protocolId, protocolVersion: level, cleanStart: o.clean, keepAlive: o.keepalive,
        clientId: o.clientId, will, username: o.username ?? undefined, password: bufferToBytes(o.password),
        properties: level === 5 ? propertiesFromMqtt(o.properties, "connect") : undefined,
      };
    }
    case "connack":
      return { type: "connack", sessionPresent: o.sessionPresent, reasonCode: version === 5 ? o.reasonCode : o.returnCode, properties: props("connack") };
    case "publish":
      return {
        type: "publish", topic: o.topic, payload: bufferToBytes(o.payload) ?? new Uint8Array(0), qos: o.qos, retain: o.retain,
        dup: o.dup, packetId: o.qos > 0 ? o.messageId : undefined, properties: props("publish"),
      };
    case "puback": case "pubrec": case "pubrel": case "pubcomp":
      return { type: o.cmd, packetId: o.messageId, reasonCode: version === 5 ? o.reasonCode ?? 0 : 0, properties: props(o.cmd) };
    case "subscribe":
      return {
        type: "subscribe", packetId: o.messageId, properties: props("subscribe"),
        subscriptions: (o.subscriptions as MqttObject[]).map((s) => ({
          topicFilter: s.topic, qos: s.qos, noLocal: version === 5 ? s.nl : false,
          retainAsPublished: version === 5 ? s.rap : false, retainHandling: version === 5 ? s.rh : 0,
        })),
      };
    case "suback":
      return { type: "suback", packetId: o.messageId, reasonCodes: [...o.granted], properties: props("suback") };
    case "unsubscribe":
      return { type: "unsubscribe", packetId: o.messageId, topicFilters: [...o.unsubscriptions], properties: props("unsubscribe") };
    case "unsuback":
      return { type: "unsuback", packetId: o.messageId, reasonCodes: version === 5 ? [...o.granted] : [], properties: props("unsuback") };
    case "pingreq": case "pingresp":
      return { type: o.cmd };
    case "disconnect": case "auth":
      return { type: o.cmd, reasonCode: version === 5 ? o.reasonCode ?? 0 : 0, properties: props(o.cmd) };
    default:
      throw new Error(`unknown mqtt-packet cmd ${String(o.cmd)}`);
  }
}
