// A session handed from one node to another (handover-codec.ts): the record,
// each outgoing message with its delivery state, and the inbound QoS 2 ids
// come back as they went in; a message's lifetime counts on across the move.
import { describe, expect, it } from "vitest";
import type { OutgoingRecord, SessionHandover } from "@edgemq/core";
import { decodeHandedOver, decodeHandover, decodeOutgoing, encodeHandover, encodeOutgoing, Qos2Marks } from "@edgemq/cluster-nats";

const NOW = 1_700_000_000_000;

function outgoing(payload: string, extra: Partial<OutgoingRecord> = {}, expiresAt?: number): OutgoingRecord {
  return {
    message: {
      topic: `t/${payload}`, payload: new TextEncoder().encode(payload), qos: 2, retain: false, senderId: "pub-1", receivedAt: NOW, expiresAt,
      properties: { contentType: "text/plain", correlationData: new Uint8Array([1, 2, 3]), userProperties: [["k", "1"], ["k", "2"]], responseTopic: "r/1", payloadFormatIndicator: 1 },
    },
    qos: 1, retain: false, subscriptionIdentifiers: [3, 9], packetId: 0, state: "publish", ...extra,
  };
}

const handover: SessionHandover = {
  record: {
    clientId: "dev-ü", expiryInterval: 300, will: undefined, willAt: undefined, disconnectedAt: NOW - 5000,
    subscriptions: [{ clientId: "dev-ü", topicFilter: "$share/g/t/#", filter: "t/#", shareGroup: "g", qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2, subscriptionIdentifier: 9 }],
    client: { clientId: "dev-ü", username: "u", protocolVersion: 5, conn: { remoteAddress: "127.0.0.1", remotePort: 5000, transport: "tcp" }, attributes: { identity: "u" } },
  },
  outgoing: [
    outgoing("in-flight", { packetId: 7 }),
    { ...outgoing("released", { packetId: 8, qos: 2, state: "pubrel" }), message: { ...outgoing("released").message, origin: "node-a\u00003\u000042" } },
    outgoing("queued", { shareGroup: { group: "g", filter: "t/#" }, retain: true }, NOW + 60_000),
  ],
  inboundQos2: [11, 12],
};

describe("a session handed over to another node", () => {
  it("reads back whole: subscriptions, owner, each message byte for byte with its packet id, state, share group and subscription identifiers", () => {
    const back = decodeHandover(encodeHandover(handover, NOW), NOW);
    expect(back.record).toEqual(handover.record);
    expect(back.inboundQos2).toEqual([11, 12]);
    expect(back.outgoing).toHaveLength(3);
    for (const [i, r] of back.outgoing.entries()) {
      const sent = handover.outgoing[i]!;
      const { message, ...rest } = r;
      const { message: sentMessage, ...sentRest } = sent;
      expect(rest).toEqual(sentRest);
      expect({ ...message, payload: [...message.payload], properties: { ...message.properties, correlationData: [...message.properties!.correlationData!] } })
        .toEqual({ ...sentMessage, payload: [...sentMessage.payload], properties: { ...sentMessage.properties, correlationData: [1, 2, 3] } });
    }
  });

  it("counts a message's lifetime on from what was left, whatever the other node's clock says", () => {
    const bytes = encodeHandover(handover, NOW + 20_000); // 40 s of the minute left when it was handed over
    const back = decodeHandover(bytes, 5_000); // read on a node whose clock is far behind
    expect(back.outgoing[2]!.message.expiresAt).toBe(5_000 + 40_000);
  });

  it("is not read from bytes that are not one", () => {
    expect(() => decodeHandover(new Uint8Array([0, 0, 0, 2, 123, 125]), NOW)).toThrow();
    expect(() => decodeHandover(new Uint8Array([0, 0, 9, 9]), NOW)).toThrow();
  });
});

describe("a QoS 2 message in flight, as the held QoS 2 bucket keeps it", () => {
  it("reads back whole with its place in the send order and its origin in the cluster", () => {
    const sent = handover.outgoing[1]!;
    const { record, order } = decodeOutgoing(encodeOutgoing(sent, 17, NOW), NOW);
    expect(order).toBe(17);
    expect(record.message.origin).toBe("node-a\u00003\u000042");
    expect({ ...record, message: { ...record.message, payload: [...record.message.payload], properties: undefined } })
      .toEqual({ ...sent, message: { ...sent.message, payload: [...sent.message.payload], properties: undefined } });
    expect(() => decodeOutgoing(new Uint8Array([0, 0, 0, 2, 123, 125]), NOW)).toThrow();
  });
});

describe("a session's QoS 2 marks: how far it was sent each origin run's messages at QoS 2", () => {
  it("keeps the highest sequence per run, tells what it covers, and merges another's higher marks", () => {
    const marks = new Qos2Marks();
    for (const s of [5, 3, 9, 7]) marks.note(`n\u00001\u0000${s}`);
    expect(marks.note("not an origin")).toBe(false);
    expect(marks.toJSON()).toEqual({ "n\u00001": 9 });
    expect(marks.covers("n\u00001", 9)).toBe(true);
    expect(marks.covers("n\u00001", 10)).toBe(false);
    expect(marks.covers("m\u00001", 1)).toBe(false);
    marks.merge(Qos2Marks.from({ "n\u00001": 4, "m\u00002": 12, bad: "x" }));
    expect(marks.toJSON()).toEqual({ "n\u00001": 9, "m\u00002": 12 });
  });

  it("travel with a handed-over session", () => {
    const back = decodeHandedOver(encodeHandover(handover, NOW, Qos2Marks.from({ "n\u00001": 42 })), NOW);
    expect(back.sent?.toJSON()).toEqual({ "n\u00001": 42 });
    expect(decodeHandedOver(encodeHandover(handover, NOW), NOW).sent).toBeUndefined();
  });
});
