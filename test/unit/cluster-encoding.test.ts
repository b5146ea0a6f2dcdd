// Unit tests of how the cluster package writes MQTT onto NATS: topics as
// subjects (total, reversible, never a wildcard), filters as subscriptions,
// and a Message as the bytes of one NATS message with every MQTT 5 property.
import { describe, expect, it } from "vitest";
import type { Message } from "@edgemq/core";
import { decodeAll, decodeMessage, durablePrefix, encodeBundle, encodeMessage, escapeToken, filterToSubjects, messagePrefix, subjectToTopic, prepareMessage, topicToSubject, unbundle, unescapeToken, Outbox, emptyPrepared } from "@edgemq/cluster-nats";

const prefix = messagePrefix("edgemq", "default");

// NATS's own matching of a subject against a subscription subject, to check that the mapping keeps MQTT's.
function natsMatches(subscription: string, subject: string): boolean {
  const s = subscription.split("."), t = subject.split(".");
  for (let i = 0; i < s.length; i++) {
    if (s[i] === ">") return t.length > i;
    if (i >= t.length || (s[i] !== "*" && s[i] !== t[i])) return false;
  }
  return s.length === t.length;
}

const HOSTILE = [
  "a/b", "a.b", "a/*/c", "*", ">", "a/>", "", "/", "//", "/leading", "trailing/", "a b", "tab\there", "$share-ish/x", "$SYS/x",
  "~", "~7E", "ünïcödé/ключ/話", "emoji/😀", "a..b", "new\nline", "#hash", "+plus", "edgemq.default.msg.x",
];

describe("topics as NATS subjects", () => {
  it("maps every topic to subject tokens of letters, digits, _, - and ~ only, and back to the same topic", () => {
    for (const topic of HOSTILE) {
      const subject = topicToSubject(prefix, topic);
      expect(subject.slice(prefix.length + 1)).toMatch(/^[A-Za-z0-9_~-]+(\.[A-Za-z0-9_~-]+)*$/);
      expect(subjectToTopic(prefix, subject)).toBe(topic);
    }
  });

  it("gives different topics different subjects", () => {
    const subjects = new Set(HOSTILE.map((t) => topicToSubject(prefix, t)));
    expect(subjects.size).toBe(HOSTILE.length);
  });

  it("round-trips random strings of any characters", () => {
    for (let n = 0; n < 500; n++) {
      const chars = Array.from({ length: n % 20 }, () => String.fromCodePoint(Math.floor(Math.random() * 0x2ffff) % 0xd800));
      const level = chars.join("");
      expect(unescapeToken(escapeToken(level))).toBe(level);
    }
  });

  it("keeps each broker under its own prefix, whatever its name holds", () => {
    expect(messagePrefix("edgemq", "b1.ns1")).toBe("edgemq.b1~2Ens1.msg.*");
    expect(topicToSubject(messagePrefix("edgemq", "a"), "x")).not.toBe(topicToSubject(messagePrefix("edgemq", "b"), "x"));
  });

  it("publishes QoS 0 and durable messages under two prefixes that the one subscribed prefix reads back", () => {
    const qos0 = durablePrefix("edgemq", "default", false), durable = durablePrefix("edgemq", "default", true);
    expect([qos0, durable]).toEqual(["edgemq.default.msg.0", "edgemq.default.msg.1"]);
    for (const topic of ["a/b", "ünï/~", "x"]) {
      expect(subjectToTopic(prefix, topicToSubject(qos0, topic))).toBe(topic);
      expect(subjectToTopic(prefix, topicToSubject(durable, topic))).toBe(topic);
    }
    // The messages stream keeps `<root>.*.msg.1.>`: the durable subjects only.
    expect(topicToSubject(durable, "a/b")).toMatch(/^edgemq\.[^.]+\.msg\.1\./);
    expect(topicToSubject(qos0, "a/b")).not.toMatch(/^edgemq\.[^.]+\.msg\.1\./);
  });

  it("refuses a token that no topic maps to", () => {
    expect(() => unescapeToken("~zz")).toThrow();
  });
});

describe("filters as NATS subscriptions", () => {
  it("maps + to * and a trailing # to > plus its parent level", () => {
    expect(filterToSubjects(prefix, "a/+/c")).toEqual([`${prefix}.a.*.c`]);
    expect(filterToSubjects(prefix, "a/#")).toEqual([`${prefix}.a.>`, `${prefix}.a`]);
    expect(filterToSubjects(prefix, "#")).toEqual([`${prefix}.>`]);
    expect(filterToSubjects(prefix, "+/#")).toEqual([`${prefix}.*.>`, `${prefix}.*`]);
  });

  it("matches exactly the topics MQTT matches, for hostile topics too", () => {
    const filters = ["a/+", "a/#", "#", "+", "+/+", "a.b", "*", ">", "/+", "+/", "a/*/c", "$SYS/#"];
    const mqttMatches = (filter: string, topic: string) => {
      const f = filter.split("/"), t = topic.split("/");
      for (let i = 0; i < f.length; i++) {
        if (f[i] === "#") return true;
        if (i >= t.length || (f[i] !== "+" && f[i] !== t[i])) return false;
      }
      return f.length === t.length;
    };
    for (const filter of filters) {
      for (const topic of HOSTILE) {
        const subject = topicToSubject(prefix, topic);
        const nats = filterToSubjects(prefix, filter).some((s) => natsMatches(s, subject));
        // The $-topic rule for wildcards [MQTT-4.7.2-1] is the local fan-out's, on every node.
        expect(nats, `${filter} against ${JSON.stringify(topic)}`).toBe(mqttMatches(filter, topic));
      }
    }
  });
});

describe("a message as one NATS message", () => {
  const enc = new TextEncoder();
  const message: Message = {
    topic: "t/1", payload: enc.encode("hello"), qos: 2, retain: true, senderId: "pub-ü", receivedAt: 1_000, expiresAt: 61_000,
    properties: {
      payloadFormatIndicator: 1, contentType: "text/plain", responseTopic: "reply/here", correlationData: new Uint8Array([0, 1, 255]),
      userProperties: [["b", "2"], ["a", "1"], ["b", "3"]],
    },
  };

  it("carries QoS, retain, sender, every MQTT 5 property in order, the payload and the origin", () => {
    const bytes = encodeMessage(message, { node: "n1", incarnation: 7, sequence: 42 }, 1_500);
    const { origin, message: back } = decodeMessage(bytes, "t/1", 10_000);
    expect(origin).toEqual({ node: "n1", incarnation: 7, sequence: 42 });
    expect(back.qos).toBe(2);
    expect(back.retain).toBe(true);
    expect(back.senderId).toBe("pub-ü");
    expect(back.properties).toEqual(message.properties);
    expect(new TextDecoder().decode(back.payload)).toBe("hello");
    // 59.5 s of its lifetime were left when it was sent; the receiver counts them from its own clock.
    expect(back.expiresAt).toBe(10_000 + 59_500);
    expect(back.receivedAt).toBe(10_000);
  });

  it("carries a message without properties in a few bytes more than its payload", () => {
    const bare: Message = { topic: "x", payload: new Uint8Array(3), qos: 0, retain: false, senderId: "c", receivedAt: 0, expiresAt: undefined, properties: undefined };
    const bytes = encodeMessage(bare, { node: "n", incarnation: 1, sequence: 1 }, 0);
    expect(bytes.length).toBe(3 + 3 + 12 + 3 + 3); // header, node, incarnation and sequence, sender, payload
    const back = decodeMessage(bytes, "x", 5).message;
    expect(back.properties).toBeUndefined();
    expect(back.expiresAt).toBeUndefined();
    expect(back.qos).toBe(0);
  });

  it("says whether the origin served its share groups itself, beside QoS and RETAIN", () => {
    const m: Message = { topic: "x", payload: new Uint8Array(1), qos: 2, retain: true, senderId: "c", receivedAt: 0, expiresAt: undefined, properties: undefined };
    const served = decodeMessage(encodeMessage(m, { node: "n", incarnation: 1, sequence: 1 }, 0, true), "x", 0);
    expect([served.sharesServed, served.message.qos, served.message.retain]).toEqual([true, 2, true]);
    expect(decodeMessage(encodeMessage(m, { node: "n", incarnation: 1, sequence: 2 }, 0), "x", 0).sharesServed).toBe(false);
  });

  it("carries several messages of one subject as one bundle, each read back whole and in order", () => {
    const m = (n: number): Message => ({ topic: "x", payload: enc.encode(`m${n}`), qos: 1, retain: false, senderId: `c${n}`, receivedAt: 0, expiresAt: undefined, properties: undefined });
    const parts = [1, 2, 3].map((n) => encodeMessage(m(n), { node: "n", incarnation: 1, sequence: n }, 0));
    const read = unbundle(encodeBundle(parts));
    expect(read).toEqual(parts);
    expect(read.map((b) => decodeMessage(b, "x", 0)).map((d) => [d.origin.sequence, d.message.senderId, new TextDecoder().decode(d.message.payload)]))
      .toEqual([[1, "c1", "m1"], [2, "c2", "m2"], [3, "c3", "m3"]]);
    // A lone message is not a bundle: it reads back as itself.
    expect(unbundle(parts[0]!)).toEqual([parts[0]]);
  });

  it("writes a turn's messages as they come into one buffer and sends them as they lie: a lone message as itself, a run on one subject as a bundle", () => {
    const m = (n: number): Message => ({
      topic: "x", payload: enc.encode(`payload ${n}`), qos: 1, retain: n === 2, senderId: `c${n}`, receivedAt: 0, expiresAt: n === 3 ? 9_000 : undefined,
      properties: n === 1 ? { contentType: "text/plain", userProperties: [["k", "v"]], correlationData: new Uint8Array([7]) } : undefined,
    });
    const origin = (n: number) => ({ node: "node-ü", incarnation: 3, sequence: n });
    const outbox = new Outbox(16, 64 * 1024);
    const scratch = emptyPrepared();
    for (const [n, subject] of [[1, "s.a"], [2, "s.b"], [3, "s.b"], [4, "s.a"]] as const) outbox.add(subject, prepareMessage(m(n), origin(n), 1_000, false, scratch));
    const sent: [string, Uint8Array, number][] = [];
    outbox.drain((subject, data, count) => sent.push([subject, data, count]));
    const one = (n: number) => encodeMessage(m(n), origin(n), 1_000);
    expect(sent).toEqual([["s.a", one(1), 1], ["s.b", encodeBundle([one(2), one(3)]), 2], ["s.a", one(4), 1]]);
    expect(sent[0]![1].buffer).toBe(sent[2]![1].buffer);
    const read = decodeAll(sent[1]![1], "x", 2_000);
    expect(read.map((d) => [d.origin.sequence, d.message.retain, d.message.expiresAt, new TextDecoder().decode(d.message.payload)]))
      .toEqual([[2, true, undefined, "payload 2"], [3, false, 10_000, "payload 3"]]);
    expect(read.map((d) => d.bytes)).toEqual([one(2), one(3)]);
    expect(decodeAll(sent[0]![1], "x", 0)[0]!.message.properties).toEqual(m(1).properties);
    expect(outbox.length).toBe(0);
  });

  it("cuts a run at the outbox's count and byte limits, and never writes over what it sent", () => {
    const m = (n: number, size = 10): Message => ({ topic: "x", payload: new Uint8Array(size).fill(n), qos: 0, retain: false, senderId: "c", receivedAt: 0, expiresAt: undefined, properties: undefined });
    const outbox = new Outbox(3, 200);
    const scratch = emptyPrepared();
    const counts = (sizes: number[]) => {
      sizes.forEach((size, n) => outbox.add("s", prepareMessage(m(n, size), { node: "n", incarnation: 1, sequence: n }, 0, false, scratch)));
      const sent: [Uint8Array, number][] = [];
      outbox.drain((_s, data, count) => sent.push([data.slice(), count]));
      return sent;
    };
    expect(counts([10, 10, 10, 10, 10, 10, 10]).map(([, c]) => c)).toEqual([3, 3, 1]);
    expect(counts([90, 90, 10]).map(([, c]) => c)).toEqual([1, 2]);
    // Bigger than a buffer: a buffer of its own, and what was sent before stays as it was.
    const first: Uint8Array[] = [];
    outbox.add("s", prepareMessage(m(1), { node: "n", incarnation: 1, sequence: 1 }, 0, false, scratch));
    outbox.drain((_s, data) => first.push(data));
    const before = first[0]!.slice();
    const big = counts([70_000, 10]);
    expect(big.map(([d, c]) => [decodeAll(d, "x", 0).map((x) => x.message.payload.length), c])).toEqual([[[70_000], 1], [[10], 1]]);
    expect(first[0]).toEqual(before);
  });

  it("refuses a bundle cut short", () => {
    const bundle = encodeBundle([encodeMessage({ topic: "x", payload: new Uint8Array(8), qos: 0, retain: false, senderId: "c", receivedAt: 0, expiresAt: undefined, properties: undefined }, { node: "n", incarnation: 1, sequence: 1 }, 0)]);
    expect(() => unbundle(bundle.subarray(0, bundle.length - 1))).toThrow(/truncated/);
    expect(() => unbundle(bundle.subarray(0, 3))).toThrow(/truncated/);
  });

  it("refuses bytes that are not a cluster message", () => {
    expect(() => decodeMessage(new Uint8Array([9, 0, 0]), "x", 0)).toThrow(/version/);
    expect(() => decodeMessage(new Uint8Array([1, 0, 0, 0, 200]), "x", 0)).toThrow();
  });
});
