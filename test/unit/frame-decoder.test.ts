import { describe, expect, it } from "vitest";
import { encodePacket, FrameDecoder, MqttError, type Packet, type PublishPacket } from "@edgemq/core/codec";

const enc = new TextEncoder();
const publish = (topic: string, body: string, qos: 0 | 1 = 0): PublishPacket => ({
  type: "publish", topic, payload: enc.encode(body), qos, retain: false, dup: false, packetId: qos ? 1 : undefined,
});

function drain(d: FrameDecoder): Packet[] {
  const out: Packet[] = [];
  for (let p = d.next(); p !== undefined; p = d.next()) out.push(p);
  return out;
}

describe("FrameDecoder", () => {
  it("returns nothing until a whole packet has arrived", () => {
    const bytes = encodePacket(publish("a/b", "hello"), 4);
    const d = new FrameDecoder({ protocolVersion: 4 });
    d.push(bytes.subarray(0, bytes.length - 1));
    expect(d.next()).toBeUndefined();
    expect(d.buffered).toBe(bytes.length - 1);
    d.push(bytes.subarray(bytes.length - 1));
    expect(d.next()).toMatchObject({ type: "publish", topic: "a/b" });
    expect(d.buffered).toBe(0);
  });

  it("takes several packets out of one chunk, in order", () => {
    const parts = [publish("t/1", "one"), publish("t/2", "two", 1), publish("t/3", "three")].map((p) => encodePacket(p, 5));
    const chunk = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { chunk.set(p, at); at += p.length; }
    const d = new FrameDecoder();
    expect(drain(d)).toEqual([]);
    d.push(chunk);
    expect(drain(d).map((p) => (p as PublishPacket).topic)).toEqual(["t/1", "t/2", "t/3"]);
  });

  it("gives payloads that are views into the received chunk, not copies", () => {
    const bytes = encodePacket(publish("a", "payload-bytes"), 4);
    const chunk = new Uint8Array(bytes); // own ArrayBuffer
    const d = new FrameDecoder({ protocolVersion: 4 });
    d.push(chunk);
    const p = d.next() as PublishPacket;
    expect(p.payload.buffer).toBe(chunk.buffer);
    expect(new TextDecoder().decode(p.payload)).toBe("payload-bytes");
  });

  it("copies a packet split across chunks once, into a buffer of its exact size", () => {
    const bytes = encodePacket(publish("a", "x".repeat(100)), 4);
    const d = new FrameDecoder({ protocolVersion: 4 });
    d.push(bytes.slice(0, 10));
    d.push(bytes.slice(10));
    const p = d.next() as PublishPacket;
    expect(p.payload.buffer.byteLength).toBe(bytes.length);
    expect(p.payload.length).toBe(100);
  });

  it("refuses an oversized packet from its fixed header, before the body arrives", () => {
    const d = new FrameDecoder({ maximumPacketSize: 1024 });
    // PUBLISH with a remaining length of 200,000,000 (varint 0x80 0x84 0xaf 0x5f), no body sent
    d.push(new Uint8Array([0x30, 0x80, 0x84, 0xaf, 0x5f]));
    let error: unknown;
    try { d.next(); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(MqttError);
    expect((error as MqttError).reasonCode).toBe(0x95);
    expect((error as MqttError).code).toBe("PACKET_TOO_LARGE");
    expect(d.buffered).toBe(5);
  });

  it("accepts a packet of exactly the maximum packet size", () => {
    const bytes = encodePacket(publish("a", "x".repeat(50)), 4);
    const d = new FrameDecoder({ protocolVersion: 4, maximumPacketSize: bytes.length });
    d.push(bytes);
    expect(d.next()).toMatchObject({ type: "publish" });
  });

  it("refuses a remaining length of five bytes as soon as the fourth has its continuation bit", () => {
    const d = new FrameDecoder();
    d.push(new Uint8Array([0x30, 0xff, 0xff, 0xff, 0xff]));
    expect(() => d.next()).toThrow(expect.objectContaining({ reasonCode: 0x81, code: "MALFORMED_VARINT" }));
  });

  it("reads a remaining length split across chunks", () => {
    const bytes = encodePacket(publish("a", "y".repeat(20_000)), 4); // 3-byte remaining length
    const d = new FrameDecoder({ protocolVersion: 4 });
    d.push(bytes.subarray(0, 2));
    expect(d.next()).toBeUndefined();
    d.push(bytes.subarray(2, 3));
    expect(d.next()).toBeUndefined();
    d.push(bytes.subarray(3));
    expect((d.next() as PublishPacket).payload.length).toBe(20_000);
  });

  it("stays failed after an error and rethrows it", () => {
    const d = new FrameDecoder();
    d.push(new Uint8Array([0x00, 0x00])); // packet type 0 is reserved
    let first: unknown;
    try { d.next(); } catch (e) { first = e; }
    expect(first).toBeInstanceOf(MqttError);
    d.push(encodePacket({ type: "pingreq" }));
    expect(() => d.next()).toThrow(first as Error);
  });

  it("switches to the protocol level of a decoded CONNECT", () => {
    const connect = encodePacket({ type: "connect", protocolName: "MQTT", protocolVersion: 4, cleanStart: true, keepAlive: 30, clientId: "c" });
    // A 3.1.1 PUBLISH has no property length: decoded at level 5 it would differ.
    const pub = encodePacket(publish("a/b", "hi", 1), 4);
    const d = new FrameDecoder();
    d.push(connect);
    d.push(pub);
    expect(d.next()).toMatchObject({ type: "connect", protocolVersion: 4 });
    expect(d.protocolVersion).toBe(4);
    expect(d.next()).toMatchObject({ type: "publish", topic: "a/b", packetId: 1, payload: enc.encode("hi") });
  });

  it("refuses AUTH at protocol level 4, where packet type 15 is reserved", () => {
    const d = new FrameDecoder({ protocolVersion: 4 });
    d.push(new Uint8Array([0xf0, 0x00]));
    expect(() => d.next()).toThrow(expect.objectContaining({ reasonCode: 0x81, code: "PACKET_TYPE_RESERVED" }));
  });

  it("holds memory to the packet in progress while a long stream passes through", () => {
    const bytes = encodePacket(publish("s", "z".repeat(300)), 4);
    const d = new FrameDecoder({ protocolVersion: 4 });
    let count = 0;
    for (let i = 0; i < 10_000; i++) {
      // Odd chunk sizes so packets straddle chunk boundaries.
      d.push(bytes.subarray(0, 7));
      d.push(bytes.subarray(7));
      count += drain(d).length;
      expect(d.buffered).toBe(0);
    }
    expect(count).toBe(10_000);
  });
});
