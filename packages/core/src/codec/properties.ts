import { malformed, protocolError } from "./errors.ts";
import type { Reader } from "./reader.ts";
import { utf8Length } from "./utf8.ts";
import { type Writer, varintLength } from "./writer.ts";

/** A User Property: a name and a value, order and duplicates kept (§3.1.2.11.8). */
export type UserProperty = [name: string, value: string];

/** Every MQTT 5.0 property by its spec name; each packet allows a subset. */
export interface Properties {
  payloadFormatIndicator?: number;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Uint8Array;
  /** In SUBSCRIBE: the one identifier of the subscription. */
  subscriptionIdentifier?: number;
  /** In PUBLISH: every identifier of the subscriptions that matched. */
  subscriptionIdentifiers?: number[];
  sessionExpiryInterval?: number;
  assignedClientIdentifier?: string;
  serverKeepAlive?: number;
  authenticationMethod?: string;
  authenticationData?: Uint8Array;
  requestProblemInformation?: boolean;
  willDelayInterval?: number;
  requestResponseInformation?: boolean;
  responseInformation?: string;
  serverReference?: string;
  reasonString?: string;
  receiveMaximum?: number;
  topicAliasMaximum?: number;
  topicAlias?: number;
  maximumQoS?: number;
  retainAvailable?: boolean;
  userProperties?: UserProperty[];
  maximumPacketSize?: number;
  wildcardSubscriptionAvailable?: boolean;
  subscriptionIdentifiersAvailable?: boolean;
  sharedSubscriptionAvailable?: boolean;
}

/** How a property's value is stored on the wire (§2.2.2.2). */
export type PropertyType = "byte" | "bool" | "u16" | "u32" | "varint" | "string" | "binary" | "pair";

/** One row of the property table. */
export interface PropertyDefinition {
  /** The property identifier. */
  readonly id: number;
  /** The field name in {@link Properties}. */
  readonly name: keyof Properties;
  /** The wire type. */
  readonly type: PropertyType;
  /** Bit mask of the packets that allow it: bit N for packet type N, bit 0 for will properties. */
  readonly packets: number;
  /** Bit mask of the packets where it may appear more than once. */
  readonly repeatable: number;
  /** The smallest value allowed; a smaller one is a Protocol Error. */
  readonly min: number;
  /** The largest value allowed for a byte property; a larger one is a Protocol Error. */
  readonly max: number;
}

/** The bit for will properties in {@link PropertyDefinition.packets}; bits 1..15 are packet types. */
export const WILL = 1;
const CONNECT = 1 << 1, CONNACK = 1 << 2, PUBLISH = 1 << 3, PUBACK = 1 << 4, PUBREC = 1 << 5,
  PUBREL = 1 << 6, PUBCOMP = 1 << 7, SUBSCRIBE = 1 << 8, SUBACK = 1 << 9, UNSUBSCRIBE = 1 << 10,
  UNSUBACK = 1 << 11, DISCONNECT = 1 << 14, AUTH = 1 << 15;
const ACKS = PUBACK | PUBREC | PUBREL | PUBCOMP;

const row = (
  id: number, name: keyof Properties, type: PropertyType, packets: number,
  opts: { repeatable?: number; min?: number; max?: number } = {},
): PropertyDefinition => ({
  id, name, type, packets, repeatable: opts.repeatable ?? 0, min: opts.min ?? 0, max: opts.max ?? 0xffffffff,
});

/** The property table of MQTT 5.0 §2.2.2.2: it alone drives reading and writing. */
export const PROPERTY_TABLE: readonly PropertyDefinition[] = [
  row(0x01, "payloadFormatIndicator", "byte", PUBLISH | WILL, { max: 1 }),
  row(0x02, "messageExpiryInterval", "u32", PUBLISH | WILL),
  row(0x03, "contentType", "string", PUBLISH | WILL),
  row(0x08, "responseTopic", "string", PUBLISH | WILL),
  row(0x09, "correlationData", "binary", PUBLISH | WILL),
  // Several subscriptions can match one message, so PUBLISH may repeat it (§3.3.2.3.8);
  // in SUBSCRIBE it appears once [MQTT-3.8.2.1.2] and 0 is a Protocol Error.
  row(0x0b, "subscriptionIdentifier", "varint", PUBLISH | SUBSCRIBE, { repeatable: PUBLISH, min: 1 }),
  row(0x11, "sessionExpiryInterval", "u32", CONNECT | CONNACK | DISCONNECT),
  row(0x12, "assignedClientIdentifier", "string", CONNACK),
  row(0x13, "serverKeepAlive", "u16", CONNACK),
  row(0x15, "authenticationMethod", "string", CONNECT | CONNACK | AUTH),
  row(0x16, "authenticationData", "binary", CONNECT | CONNACK | AUTH),
  row(0x17, "requestProblemInformation", "bool", CONNECT),
  row(0x18, "willDelayInterval", "u32", WILL),
  row(0x19, "requestResponseInformation", "bool", CONNECT),
  row(0x1a, "responseInformation", "string", CONNACK),
  row(0x1c, "serverReference", "string", CONNACK | DISCONNECT),
  row(0x1f, "reasonString", "string", CONNACK | ACKS | SUBACK | UNSUBACK | DISCONNECT | AUTH),
  row(0x21, "receiveMaximum", "u16", CONNECT | CONNACK, { min: 1 }), // 0 is a Protocol Error (§3.1.2.11.3)
  row(0x22, "topicAliasMaximum", "u16", CONNECT | CONNACK),
  row(0x23, "topicAlias", "u16", PUBLISH, { min: 1 }), // [MQTT-3.3.2-8] 0 is not a valid alias
  row(0x24, "maximumQoS", "byte", CONNACK, { max: 1 }), // only 0 or 1 may be sent (§3.2.2.3.4)
  row(0x25, "retainAvailable", "bool", CONNACK),
  row(0x26, "userProperties", "pair",
    CONNECT | CONNACK | PUBLISH | WILL | ACKS | SUBSCRIBE | SUBACK | UNSUBSCRIBE | UNSUBACK | DISCONNECT | AUTH,
    { repeatable: 0xffff }),
  row(0x27, "maximumPacketSize", "u32", CONNECT | CONNACK, { min: 1 }), // 0 is a Protocol Error (§3.1.2.11.4)
  row(0x28, "wildcardSubscriptionAvailable", "bool", CONNACK),
  row(0x29, "subscriptionIdentifiersAvailable", "bool", CONNACK),
  row(0x2a, "sharedSubscriptionAvailable", "bool", CONNACK),
];

// Lookup by identifier for reading, and per packet (in identifier order) for writing.
const BY_ID: (PropertyDefinition | undefined)[] = [];
for (const def of PROPERTY_TABLE) BY_ID[def.id] = def;
const BY_PACKET: PropertyDefinition[][] = [];
for (let bit = 0; bit < 16; bit++) BY_PACKET[bit] = PROPERTY_TABLE.filter((d) => d.packets & (1 << bit));

/** The field that holds a repeatable property's values in packets that repeat it. */
function listField(def: PropertyDefinition): keyof Properties {
  return def.id === 0x0b ? "subscriptionIdentifiers" : def.name;
}

/**
 * Reads a property block (a length, then properties) for the packet whose bit
 * is `packetBit`. Returns undefined for an empty block so that property-less
 * packets allocate nothing.
 */
export function readProperties(r: Reader, packetBit: number): Properties | undefined {
  const length = r.varint("the property length");
  if (length === 0) return undefined;
  // The property length must fit inside the packet; otherwise it is malformed.
  if (length > r.remaining) throw malformed("PROPERTY_LENGTH_OVERRUN", "the property length runs past the end of the packet");
  const end = r.pos + length;
  const outerEnd = r.end;
  r.end = end; // a property value may not run past the block either
  const props: Record<string, unknown> = {};
  while (r.pos < end) {
    const id = r.varint("a property identifier");
    const def = BY_ID[id];
    if (def === undefined) throw malformed("UNKNOWN_PROPERTY", `property identifier 0x${id.toString(16)} is not defined by MQTT 5.0`);
    const mask = 1 << packetBit;
    // An identifier not valid for its packet type is a Malformed Packet (§2.2.2.2).
    if ((def.packets & mask) === 0) {
      throw malformed("PROPERTY_NOT_ALLOWED", `property ${def.name} (0x${id.toString(16)}) is not allowed in this packet`);
    }
    const value = readValue(r, def);
    if (def.type === "pair") {
      const list = props.userProperties as UserProperty[] | undefined;
      if (list === undefined) props.userProperties = [value];
      else list.push(value as UserProperty);
    } else if (def.repeatable & mask) {
      const field = listField(def);
      const list = props[field] as unknown[] | undefined;
      if (list === undefined) props[field] = [value];
      else list.push(value);
    } else {
      // Each property other than those above may appear once (§2.2.2.2).
      if (props[def.name] !== undefined) {
        throw protocolError("DUPLICATE_PROPERTY", `property ${def.name} (0x${id.toString(16)}) appears more than once`);
      }
      props[def.name] = value;
    }
  }
  r.end = outerEnd;
  return props as Properties;
}

function readValue(r: Reader, def: PropertyDefinition): unknown {
  switch (def.type) {
    case "byte": {
      const v = r.u8(def.name);
      if (v > def.max) throw protocolError("INVALID_PROPERTY_VALUE", `property ${def.name} has value ${v}; at most ${def.max} is allowed`);
      return v;
    }
    case "bool": {
      const v = r.u8(def.name);
      if (v > 1) throw protocolError("INVALID_PROPERTY_VALUE", `property ${def.name} must be 0 or 1, not ${v}`);
      return v === 1;
    }
    case "u16":
    case "u32":
    case "varint": {
      const v = def.type === "u16" ? r.u16(def.name) : def.type === "u32" ? r.u32(def.name) : r.varint(def.name);
      if (v < def.min) throw protocolError("INVALID_PROPERTY_VALUE", `property ${def.name} must be at least ${def.min}, not ${v}`);
      return v;
    }
    case "string":
      return r.utf8(def.name);
    case "binary":
      return r.binary(def.name);
    case "pair":
      return [r.utf8("a user property name"), r.utf8("a user property value")];
  }
}

/**
 * Computes the byte length of a property block's contents (without its own
 * length prefix). With `omitDiagnostics`, the Reason String and User Properties
 * are left out, as a sender may do to fit the receiver's Maximum Packet Size.
 */
export function propertiesLength(props: Properties | undefined, packetBit: number, omitDiagnostics = false): number {
  if (props === undefined) return 0;
  let n = 0;
  const p = props as Record<string, unknown>;
  for (const def of BY_PACKET[packetBit]!) {
    if (omitDiagnostics && (def.id === 0x1f || def.id === 0x26)) continue;
    const repeated = def.type === "pair" || (def.repeatable & (1 << packetBit)) !== 0;
    const value = p[repeated ? listField(def) : def.name];
    if (value === undefined) continue;
    if (repeated) {
      for (const v of value as unknown[]) n += 1 + valueLength(def, v);
    } else {
      n += 1 + valueLength(def, value);
    }
  }
  return n;
}

function valueLength(def: PropertyDefinition, v: unknown): number {
  switch (def.type) {
    case "byte":
    case "bool":
      return 1;
    case "u16":
      return 2;
    case "u32":
      return 4;
    case "varint":
      return varintLength(v as number);
    case "string":
      return 2 + utf8Length(v as string);
    case "binary":
      return 2 + (v as Uint8Array).byteLength;
    case "pair": {
      const [k, val] = v as UserProperty;
      return 4 + utf8Length(k) + utf8Length(val);
    }
  }
}

/** Writes a property block: its length, then each property in identifier order. */
export function writeProperties(
  w: Writer, props: Properties | undefined, packetBit: number, length: number, omitDiagnostics = false,
): void {
  w.varint(length);
  if (props === undefined || length === 0) return;
  const p = props as Record<string, unknown>;
  for (const def of BY_PACKET[packetBit]!) {
    if (omitDiagnostics && (def.id === 0x1f || def.id === 0x26)) continue;
    const repeated = def.type === "pair" || (def.repeatable & (1 << packetBit)) !== 0;
    const value = p[repeated ? listField(def) : def.name];
    if (value === undefined) continue;
    if (repeated) {
      for (const v of value as unknown[]) writeValue(w, def, v);
    } else {
      writeValue(w, def, value);
    }
  }
}

function writeValue(w: Writer, def: PropertyDefinition, v: unknown): void {
  w.u8(def.id); // every identifier is below 128, so its varint is one byte
  switch (def.type) {
    case "byte":
      w.u8(v as number);
      return;
    case "bool":
      w.u8(v ? 1 : 0);
      return;
    case "u16":
      w.u16(v as number);
      return;
    case "u32":
      w.u32(v as number);
      return;
    case "varint":
      w.varint(v as number);
      return;
    case "string":
      w.utf8(v as string, utf8Length(v as string));
      return;
    case "binary":
      w.binary(v as Uint8Array);
      return;
    case "pair": {
      const [k, val] = v as UserProperty;
      w.utf8(k, utf8Length(k));
      w.utf8(val, utf8Length(val));
      return;
    }
  }
}
