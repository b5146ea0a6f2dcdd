// QoS 0, 1 and 2 over real sockets: what each side sees on the wire, and
// what mqtt.js and Mosquitto's clients see at 3.1.1 and 5.0.
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProtocolVersion, QoS } from "@edgemq/core/codec";
import { collect, connect, mosquittoPub, RawClient, sleep, waitFor, mosquittoSubDebug } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

const enc = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);

let broker: RunningBroker;
beforeAll(async () => {
  broker = await startBroker(["--sys-interval", "0"]);
});
afterAll(async () => {
  await broker.stop();
});

/** A connected RawClient subscribed to `filter` at `qos`. */
async function rawSubscriber(version: ProtocolVersion, clientId: string, filter: string, qos: QoS, extra: Parameters<RawClient["connect"]>[1] = {}): Promise<RawClient> {
  const raw = await RawClient.open(broker.port, version);
  expect((await raw.connect(clientId, extra)).reasonCode).toBe(0);
  raw.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
  expect((await raw.next("suback")).reasonCodes).toEqual([qos]);
  return raw;
}

const publishes = (raw: RawClient) => raw.received.filter((p) => p.type === "publish");


describe("QoS 0, 1 and 2 with mqtt.js", () => {
  for (const version of [4, 5] as const) {
    it(`delivers at the lower of the published QoS and the granted QoS at protocol level ${version}`, async () => {
      const subs = await Promise.all([0, 1, 2].map((g) => connect(broker.url, { protocolVersion: version, clientId: `qos-matrix-${version}-sub${g}` })));
      const got = subs.map((s) => collect(s));
      for (let g = 0; g < 3; g++) {
        const granted = await subs[g]!.subscribeAsync(`qos/matrix/${version}`, { qos: g as QoS });
        expect(granted[0]!.qos).toBe(g);
      }
      const pub = await connect(broker.url, { protocolVersion: version, clientId: `qos-matrix-${version}-pub` });
      for (const q of [0, 1, 2] as const) await pub.publishAsync(`qos/matrix/${version}`, `q${q}`, { qos: q });
      await waitFor(() => got.every((g) => g.length === 3), 3000, "every subscriber to get three messages");
      for (let g = 0; g < 3; g++) {
        expect(got[g]!.map((m) => [m.payload, m.packet.qos])).toEqual([0, 1, 2].map((q) => [`q${q}`, Math.min(q, g)]));
      }
      pub.end();
      for (const s of subs) s.end();
    });
  }

  it("carries QoS 1 and QoS 2 both ways between a 3.1.1 client and a 5.0 client", async () => {
    const v4 = await connect(broker.url, { protocolVersion: 4, clientId: "qos-both-v4" });
    const v5 = await connect(broker.url, { protocolVersion: 5, clientId: "qos-both-v5" });
    const got4 = collect(v4), got5 = collect(v5);
    await v4.subscribeAsync("qos/both/to4", { qos: 2 });
    await v5.subscribeAsync("qos/both/to5", { qos: 2 });
    await v5.publishAsync("qos/both/to4", "five-q1", { qos: 1 });
    await v5.publishAsync("qos/both/to4", "five-q2", { qos: 2 });
    await v4.publishAsync("qos/both/to5", "four-q1", { qos: 1 });
    await v4.publishAsync("qos/both/to5", "four-q2", { qos: 2 });
    await waitFor(() => got4.length === 2 && got5.length === 2);
    expect(got4.map((m) => [m.payload, m.packet.qos])).toEqual([["five-q1", 1], ["five-q2", 2]]);
    expect(got5.map((m) => [m.payload, m.packet.qos])).toEqual([["four-q1", 1], ["four-q2", 2]]);
    v4.end(); v5.end();
  });
});

describe("QoS 2 with Mosquitto's clients", () => {
  for (const version of ["mqttv311", "mqttv5"]) {
    it(`completes PUBREC, PUBREL and PUBCOMP for mosquitto_pub and mosquitto_sub at ${version}`, async () => {
      const topic = `qos/mosquitto/${version}`;
      const sub = mosquittoSubDebug(["-h", "127.0.0.1", "-p", String(broker.port), "-V", version, "-t", topic, "-q", "2", "-C", "1", "-i", `mosq-sub-${version}`]);
      await waitFor(() => sub.lines().some((l) => l.includes("received SUBACK")), 5000, "mosquitto_sub to be subscribed");
      const pub = await mosquittoPub(["-h", "127.0.0.1", "-p", String(broker.port), "-V", version, "-t", topic, "-m", "exactly once", "-q", "2", "-d", "-i", `mosq-pub-${version}`]);
      expect(pub.code).toBe(0);
      // The publisher's side of the handshake, as mosquitto_pub logs it.
      expect(pub.output).toMatch(/sending PUBLISH \(d0, q2, r0, m\d+/);
      expect(pub.output).toMatch(/received PUBREC \(Mid: \d+/);
      expect(pub.output).toMatch(/sending PUBREL \(m\d+/);
      expect(pub.output).toMatch(/received PUBCOMP \(Mid: \d+/);
      await sub.exited;
      const out = sub.lines();
      // The subscriber's side: PUBLISH at QoS 2, PUBREC, PUBREL, PUBCOMP, then the payload once.
      expect(out.join("\n")).toMatch(/received PUBLISH \(d0, q2, r0, m[1-9]\d*/);
      expect(out.join("\n")).toMatch(/sending PUBREC/);
      expect(out.join("\n")).toMatch(/received PUBREL/);
      expect(out.filter((l) => l === "exactly once")).toHaveLength(1);
    });
  }
});

describe("the QoS 2 handshake on the wire", () => {
  for (const version of [4, 5] as const) {
    it(`runs PUBLISH, PUBREC, PUBREL, PUBCOMP in both directions with one delivery at protocol level ${version}`, async () => {
      const sub = await rawSubscriber(version, `wire2-sub-${version}`, `qos/wire/${version}`, 2);
      const pub = await RawClient.open(broker.port, version);
      await pub.connect(`wire2-pub-${version}`);

      // Publisher → broker.
      pub.send({ type: "publish", topic: `qos/wire/${version}`, payload: enc.encode("one"), qos: 2, retain: false, dup: false, packetId: 10 });
      const rec = await pub.next("pubrec");
      expect(rec).toMatchObject({ packetId: 10, reasonCode: 0 });

      // Broker → subscriber.
      const delivered = await sub.next("publish");
      expect(delivered).toMatchObject({ topic: `qos/wire/${version}`, qos: 2, dup: false, retain: false });
      expect(text(delivered.payload)).toBe("one");
      expect(delivered.packetId).toBeGreaterThan(0);
      sub.send({ type: "pubrec", packetId: delivered.packetId!, reasonCode: 0 });
      expect(await sub.next("pubrel")).toMatchObject({ packetId: delivered.packetId, reasonCode: 0 });
      sub.send({ type: "pubcomp", packetId: delivered.packetId!, reasonCode: 0 });

      // The publisher releases; the broker completes.
      pub.send({ type: "pubrel", packetId: 10, reasonCode: 0 });
      expect(await pub.next("pubcomp")).toMatchObject({ packetId: 10, reasonCode: 0 });

      await sleep(200);
      expect(publishes(sub)).toHaveLength(0);
      expect(sub.closed || pub.closed).toBe(false);
      sub.close(); pub.close();
    });

    it(`does not deliver a resent QoS 2 PUBLISH (DUP, same id, before PUBREL) twice at protocol level ${version}`, async () => {
      const sub = await rawSubscriber(version, `dup2-sub-${version}`, `qos/dup/${version}`, 2);
      const pub = await RawClient.open(broker.port, version);
      await pub.connect(`dup2-pub-${version}`);
      const topic = `qos/dup/${version}`;
      pub.send({ type: "publish", topic, payload: enc.encode("first"), qos: 2, retain: false, dup: false, packetId: 7 });
      expect(await pub.next("pubrec")).toMatchObject({ packetId: 7 });
      // The publisher did not see the PUBREC in time and sends the message again.
      pub.send({ type: "publish", topic, payload: enc.encode("first"), qos: 2, retain: false, dup: true, packetId: 7 });
      pub.send({ type: "publish", topic, payload: enc.encode("first"), qos: 2, retain: false, dup: true, packetId: 7 });
      expect(await pub.next("pubrec")).toMatchObject({ packetId: 7, reasonCode: 0 });
      expect(await pub.next("pubrec")).toMatchObject({ packetId: 7, reasonCode: 0 });
      pub.send({ type: "pubrel", packetId: 7, reasonCode: 0 });
      expect(await pub.next("pubcomp")).toMatchObject({ packetId: 7, reasonCode: 0 });
      // After PUBCOMP the identifier is free again: the same id now carries a new message.
      pub.send({ type: "publish", topic, payload: enc.encode("second"), qos: 2, retain: false, dup: false, packetId: 7 });
      expect(await pub.next("pubrec")).toMatchObject({ packetId: 7 });
      pub.send({ type: "pubrel", packetId: 7, reasonCode: 0 });
      await pub.next("pubcomp");

      await waitFor(() => publishes(sub).length >= 2);
      await sleep(200);
      expect(publishes(sub).map((p) => text(p.payload))).toEqual(["first", "second"]);
      sub.close(); pub.close();
    });
  }

  it("answers PUBREL for an unknown packet id with PUBCOMP 0x92 at 5.0", async () => {
    const raw = await RawClient.open(broker.port, 5);
    await raw.connect("pubrel-unknown-5");
    raw.send({ type: "pubrel", packetId: 4242, reasonCode: 0 });
    expect(await raw.next("pubcomp")).toMatchObject({ packetId: 4242, reasonCode: 0x92 });
    // The connection stays usable.
    raw.send({ type: "pingreq" });
    await raw.next("pingresp");
    raw.close();
  });

  it("answers PUBREL for an unknown packet id with a plain PUBCOMP at 3.1.1", async () => {
    const raw = await RawClient.open(broker.port, 4);
    await raw.connect("pubrel-unknown-4");
    raw.send({ type: "pubrel", packetId: 4242, reasonCode: 0 });
    expect(await raw.next("pubcomp")).toMatchObject({ packetId: 4242, reasonCode: 0 });
    raw.close();
  });

  it("acknowledges QoS 1 and 2 with no subscribers with 0x10 at 5.0 and plainly at 3.1.1", async () => {
    for (const version of [4, 5] as const) {
      const raw = await RawClient.open(broker.port, version);
      await raw.connect(`nobody-${version}`);
      raw.send({ type: "publish", topic: "qos/nobody/listens", payload: enc.encode("x"), qos: 1, retain: false, dup: false, packetId: 1 });
      expect(await raw.next("puback")).toMatchObject({ packetId: 1, reasonCode: version === 5 ? 0x10 : 0 });
      raw.send({ type: "publish", topic: "qos/nobody/listens", payload: enc.encode("x"), qos: 2, retain: false, dup: false, packetId: 2 });
      expect(await raw.next("pubrec")).toMatchObject({ packetId: 2, reasonCode: version === 5 ? 0x10 : 0 });
      raw.send({ type: "pubrel", packetId: 2, reasonCode: 0 });
      expect(await raw.next("pubcomp")).toMatchObject({ packetId: 2, reasonCode: 0 });
      raw.close();
    }
  });

  it("delivers QoS 0 to a RawClient with no packet identifier and QoS 1 with a PUBACK exchange", async () => {
    const sub = await rawSubscriber(5, "q01-sub", "qos/q01", 1);
    const pub = await connect(broker.url, { clientId: "q01-pub" });
    await pub.publishAsync("qos/q01", "zero", { qos: 0 });
    const p0 = await sub.next("publish");
    expect(p0).toMatchObject({ qos: 0, dup: false });
    expect(p0.packetId).toBeUndefined();
    await pub.publishAsync("qos/q01", "one", { qos: 1 });
    const p1 = await sub.next("publish");
    expect(p1).toMatchObject({ qos: 1, dup: false });
    expect(p1.packetId).toBeGreaterThan(0);
    sub.send({ type: "puback", packetId: p1.packetId!, reasonCode: 0 });
    pub.end(); sub.close();
  });
});

describe("packet identifiers of outgoing messages", () => {
  for (const version of [4, 5] as const) {
    it(`are non-zero and unique among the messages in flight at protocol level ${version}`, async () => {
      const sub = await rawSubscriber(version, `ids-sub-${version}`, `qos/ids/${version}`, 2);
      const pub = await connect(broker.url, { protocolVersion: version, clientId: `ids-pub-${version}` });
      for (let i = 0; i < 30; i++) await pub.publishAsync(`qos/ids/${version}`, `m${i}`, { qos: (1 + (i % 2)) as QoS });
      await waitFor(() => publishes(sub).length === 30, 3000, "30 messages in flight");
      const first = publishes(sub).map((p) => p.packetId!);
      expect(first.every((id) => id > 0 && id <= 65535)).toBe(true);
      expect(new Set(first).size).toBe(30);
      // Acknowledge the QoS 2 ones only half way (PUBREC, no PUBCOMP): their ids stay taken.
      const held = new Set<number>();
      for (const p of sub.received.splice(0)) {
        if (p.type !== "publish") continue;
        if (p.qos === 1) sub.send({ type: "puback", packetId: p.packetId!, reasonCode: 0 });
        else {
          sub.send({ type: "pubrec", packetId: p.packetId!, reasonCode: 0 });
          held.add(p.packetId!);
        }
      }
      await waitFor(() => sub.received.filter((p) => p.type === "pubrel").length === held.size);
      sub.received.length = 0;
      for (let i = 0; i < 30; i++) await pub.publishAsync(`qos/ids/${version}`, `n${i}`, { qos: 1 });
      await waitFor(() => publishes(sub).length === 30, 3000, "30 more messages");
      const second = publishes(sub).map((p) => p.packetId!);
      expect(second.every((id) => id > 0)).toBe(true);
      expect(new Set(second).size).toBe(30);
      expect(second.filter((id) => held.has(id))).toEqual([]);
      pub.end(); sub.close();
    });
  }
});
