import { describe, expect, it } from "vitest";
import { decodePacket, encodePacket, MqttError, type Packet } from "@edgemq/core/codec";

const longReason = "r".repeat(200);
const userProperties: [string, string][] = [["a", "1".repeat(100)], ["b", "2"]];

describe("encodePacket", () => {
  it("writes a buffer of exactly the packet's size", () => {
    const p: Packet = { type: "publish", topic: "x/y", payload: new Uint8Array(1000), qos: 1, retain: true, dup: false, packetId: 9 };
    const bytes = encodePacket(p, 5);
    // 1 type byte + 2 length bytes + 2+3 topic + 2 packet id + 1 property length + 1000 payload
    expect(bytes.byteLength).toBe(1 + 2 + 5 + 2 + 1 + 1000);
  });

  const acks: Packet[] = [
    { type: "puback", packetId: 1, reasonCode: 0x87, properties: { reasonString: longReason, userProperties } },
    { type: "pubrec", packetId: 1, reasonCode: 0x80, properties: { reasonString: longReason, userProperties } },
    { type: "pubrel", packetId: 1, reasonCode: 0x92, properties: { reasonString: longReason, userProperties } },
    { type: "pubcomp", packetId: 1, reasonCode: 0x92, properties: { reasonString: longReason, userProperties } },
    { type: "suback", packetId: 1, reasonCodes: [0, 0x87], properties: { reasonString: longReason, userProperties } },
    { type: "unsuback", packetId: 1, reasonCodes: [0x11], properties: { reasonString: longReason, userProperties } },
    { type: "connack", sessionPresent: false, reasonCode: 0x87, properties: { reasonString: longReason, userProperties, receiveMaximum: 10 } },
    { type: "disconnect", reasonCode: 0x8b, properties: { reasonString: longReason, userProperties, serverReference: "other" } },
    { type: "auth", reasonCode: 0x18, properties: { authenticationMethod: "SCRAM", reasonString: longReason, userProperties } },
  ];
  for (const p of acks) {
    it(`drops the reason string and user properties of ${p.type.toUpperCase()} to fit the receiver's maximum packet size`, () => {
      const full = encodePacket(p, 5);
      const fitted = encodePacket(p, 5, 60);
      expect(full.byteLength).toBeGreaterThan(60);
      expect(fitted.byteLength).toBeLessThanOrEqual(60);
      const decoded = decodePacket(fitted, 5) as { properties?: Record<string, unknown> };
      expect(decoded.properties?.reasonString).toBeUndefined();
      expect(decoded.properties?.userProperties).toBeUndefined();
      // Everything else survives.
      const { reasonString: _r, userProperties: _u, ...rest } = (p as { properties: Record<string, unknown> }).properties;
      expect(decoded.properties ?? {}).toEqual(rest);
    });
  }

  it("keeps the reason string when the packet fits as it is", () => {
    const p: Packet = { type: "puback", packetId: 1, reasonCode: 0x87, properties: { reasonString: "no" } };
    expect(decodePacket(encodePacket(p, 5, 100), 5)).toEqual(p);
  });

  it("refuses a PUBLISH larger than the receiver's maximum with 0x95, keeping its user properties", () => {
    const p: Packet = { type: "publish", topic: "t", payload: new Uint8Array(100), qos: 0, retain: false, dup: false, properties: { userProperties } };
    let error: unknown;
    try { encodePacket(p, 5, 100); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(MqttError);
    expect((error as MqttError).reasonCode).toBe(0x95);
  });

  it("refuses to encode a string with U+0000 or a lone surrogate", () => {
    const bad = (topic: string): Packet => ({ type: "publish", topic, payload: new Uint8Array(0), qos: 0, retain: false, dup: false });
    expect(() => encodePacket(bad("a\u0000b"))).toThrow(expect.objectContaining({ code: "UTF8_NULL_CHARACTER" }));
    expect(() => encodePacket(bad("a\ud800b"))).toThrow(expect.objectContaining({ code: "UTF8_INVALID" }));
    expect(() => encodePacket(bad("a\udc00"))).toThrow(expect.objectContaining({ code: "UTF8_INVALID" }));
  });

  it("writes a QoS > 0 PUBLISH only with a non-zero packet identifier", () => {
    const p: Packet = { type: "publish", topic: "t", payload: new Uint8Array(0), qos: 1, retain: false, dup: false };
    expect(() => encodePacket(p)).toThrow(expect.objectContaining({ reasonCode: 0x82, code: "PACKET_ID_ZERO" }));
  });

  it("clears DUP on a QoS 0 PUBLISH", () => {
    const p: Packet = { type: "publish", topic: "t", payload: new Uint8Array(0), qos: 0, retain: false, dup: true };
    expect(encodePacket(p, 4)[0]).toBe(0x30);
  });

  it("writes strings with characters outside ASCII and the BMP", () => {
    const topic = "caf\u00e9/\u20ac/\u{1f600}";
    const p: Packet = { type: "publish", topic, payload: new Uint8Array(0), qos: 0, retain: false, dup: false };
    const bytes = encodePacket(p, 4);
    expect(bytes[3]).toBe(new TextEncoder().encode(topic).length);
    expect(decodePacket(bytes, 4)).toMatchObject({ topic });
  });

  it("hands out separate buffers for consecutive packets", () => {
    const a = encodePacket({ type: "pingreq" });
    const b = encodePacket({ type: "puback", packetId: 5, reasonCode: 0 }, 4);
    const c = encodePacket({ type: "puback", packetId: 6, reasonCode: 0 }, 4);
    expect([...a]).toEqual([0xc0, 0]);
    expect([...b]).toEqual([0x40, 2, 0, 5]);
    expect([...c]).toEqual([0x40, 2, 0, 6]);
  });
});
