// A will as the cluster's wills bucket keeps it (will-record.ts): every part
// comes back as it went in, binary parts byte for byte.
import { describe, expect, it } from "vitest";
import { decodeWillRecord, encodeWillRecord, willKey, type WillRecord } from "@edgemq/cluster-nats";

const record: WillRecord = {
  node: "node-ü.1", incarnation: 42, broker: "sensors.acme", delayMs: 30_000, publishAt: 1_700_000_000_000,
  will: {
    topic: "status/dev-1", payload: new Uint8Array([0, 1, 2, 255]), qos: 2, retain: true,
    properties: { willDelayInterval: 30, payloadFormatIndicator: 0, messageExpiryInterval: 60, contentType: "application/octet-stream", responseTopic: "r/1", correlationData: new Uint8Array([9, 8, 7]), userProperties: [["a", "1"], ["a", "2"]] },
  },
  client: { clientId: "dev-1", username: "u", protocolVersion: 5, conn: { remoteAddress: "127.0.0.1", remotePort: 5000, transport: "tcp" }, attributes: { sub: "dev-1", topicAcl: "status/#" } },
};

describe("a will record in the cluster's wills bucket", () => {
  it("reads back whole: payload and correlation data byte for byte, user properties in order", () => {
    expect(decodeWillRecord(encodeWillRecord(record))).toEqual(record);
    const bare: WillRecord = { ...record, will: { topic: "t", payload: new Uint8Array(0), qos: 0, retain: false }, publishAt: undefined };
    expect(decodeWillRecord(encodeWillRecord(bare))).toEqual({ ...bare, publishAt: undefined });
  });

  it("is not read from bytes that are not one", () => {
    expect(decodeWillRecord(new TextEncoder().encode("{}"))).toBeUndefined();
    expect(decodeWillRecord(new TextEncoder().encode("not json"))).toBeUndefined();
  });

  it("is keyed by its node first, then its broker and client id, each escaped into one subject token", () => {
    expect(willKey("node-ü.1", "sensors.acme", "dev.1*")).toMatch(/^[^.*>]+\.[^.*>]+\.[^.*>]+$/);
    expect(willKey("n1", "default", "x").startsWith("n1.")).toBe(true);
    expect(willKey("n1", "default", "x")).not.toBe(willKey("n2", "default", "x"));
  });
});
