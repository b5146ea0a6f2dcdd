// The PUBLISH decoder keeps the strings of recent topics (codec/recent-topics.ts):
// what it gives back must be exactly what decoding the bytes gives, every time.
import { describe, expect, it } from "vitest";
import { decodePacket, type PublishPacket } from "@edgemq/core";

// A PUBLISH at QoS 0 with no properties whose topic is the given bytes, at 5.0.
function publish(topic: Uint8Array): Uint8Array {
  const body = [topic.length >> 8, topic.length & 0xff, ...topic, 0, 0x41];
  return new Uint8Array([0x30, body.length, ...body]);
}
const bytes = (s: string) => new TextEncoder().encode(s);
const topicOf = (b: Uint8Array) => (decodePacket(publish(b)) as PublishPacket).topic;

describe("the topics of PUBLISH packets", () => {
  it("decode to their own string when they share a length, a first, a middle and a last byte with a topic decoded before", () => {
    expect(topicOf(bytes("aXmcd"))).toBe("aXmcd");
    expect(topicOf(bytes("aYmcd"))).toBe("aYmcd");
    expect(topicOf(bytes("aXmcd"))).toBe("aXmcd");
  });

  it("decode right over and over for more topics than are kept, in ASCII and beyond", () => {
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2000; i++) {
        const t = i % 3 === 0 ? `sensors/ü/${i}` : i % 3 === 1 ? `s/${i}/x` : `${"t".repeat(i % 70)}/${i}`;
        expect(topicOf(bytes(t))).toBe(t);
      }
    }
  });

  it("are refused every time when they hold U+0000 or are not well-formed UTF-8, also right after a good topic of the same shape", () => {
    for (let round = 0; round < 2; round++) {
      expect(topicOf(bytes("a/b/c"))).toBe("a/b/c");
      expect(() => topicOf(new Uint8Array([0x61, 0x2f, 0, 0x2f, 0x63]))).toThrow(/U\+0000/);
      expect(() => topicOf(new Uint8Array([0x61, 0x2f, 0xc3, 0x2f, 0x63]))).toThrow(/UTF-8/);
    }
  });
});
