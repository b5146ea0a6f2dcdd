// QoS 2 across a node's death: a lasting session whose node is killed with
// SIGKILL in the middle of QoS 2 exchanges carries them on, on another node,
// under the same packet ids — an outgoing message in flight is resent with
// DUP (or its PUBREL again), never as a new message; an inbound id that waits
// for PUBREL is still known, so a resent PUBLISH is acknowledged and not
// routed again. Real nats-server, edgemq nodes on Node and Bun, raw clients
// that stop at chosen points of the exchange.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import type { Packet } from "@edgemq/core";
import { collect, connect, RawClient, sleep, waitFor } from "../support/clients.ts";
import { type RunningNats, startNats } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let nats: RunningNats;
let b: RunningBroker;
let c: RunningBroker;
let pub: MqttClient;

const node = (id: string) => ["--cluster", nats.url, "--node-id", id, "--sys-interval", "0", "--allow-anonymous"];
const lasting = { cleanStart: false, properties: { sessionExpiryInterval: 300 } };
const text = (p: { payload: Uint8Array }) => new TextDecoder().decode(p.payload);

beforeAll(async () => {
  nats = await startNats();
  [b, c] = await Promise.all([startBroker(node("once-b"), {}, { runtime: "node" }), startBroker(node("once-c"), {}, { runtime: "bun" })]);
  pub = await connect(b.url, { clientId: "once-pub" });
}, 60_000);
afterAll(async () => {
  await pub?.endAsync();
  await Promise.all([b?.stop(), c?.stop()]);
  await nats?.stop();
});

describe("QoS 2 exactly once across a node killed with SIGKILL", () => {
  it("resends an outgoing QoS 2 message in flight with DUP and its packet id, and a PUBREL again, on the node the client comes back to: never a second copy", async () => {
    const e = await startBroker(node("once-e"), {}, { runtime: "node" });
    const sub = await RawClient.open(e.port, 5);
    expect(await sub.connect("once-out", lasting)).toMatchObject({ reasonCode: 0 });
    sub.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "onceout/#", qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
    await sub.next("suback");
    // One exchange finished, and a checkpoint after it: the node notes the session had it.
    await pub.publishAsync("onceout/x", "done before", { qos: 2 });
    const before = await sub.next("publish");
    sub.send({ type: "pubrec", packetId: before.packetId!, reasonCode: 0 });
    await sub.next("pubrel");
    sub.send({ type: "pubcomp", packetId: before.packetId!, reasonCode: 0 });
    await sleep(2200);
    for (const m of ["complete", "released", "unanswered 1", "unanswered 2"]) await pub.publishAsync("onceout/x", m, { qos: 2 });
    const sent: Extract<Packet, { type: "publish" }>[] = [];
    for (let i = 0; i < 4; i++) sent.push(await sub.next("publish"));
    expect(sent.map(text)).toEqual(["complete", "released", "unanswered 1", "unanswered 2"]);
    // The first exchange ends; the second waits for PUBCOMP; the last two were never answered.
    for (const p of sent.slice(0, 2)) sub.send({ type: "pubrec", packetId: p.packetId!, reasonCode: 0 });
    await sub.next("pubrel");
    await sub.next("pubrel");
    sub.send({ type: "pubcomp", packetId: sent[0]!.packetId!, reasonCode: 0 });
    // A checkpoint while they are unfinished (it stays before them), then the node dies.
    await sleep(2200);
    await e.stop("SIGKILL");
    sub.close();
    const again = await RawClient.open(c.port, 5);
    expect(await again.connect("once-out", lasting)).toMatchObject({ reasonCode: 0, sessionPresent: true });
    // The released one gets its PUBREL again [MQTT-4.4.0-1]; the unanswered ones their PUBLISH with DUP and the same ids.
    expect(await again.next("pubrel", 5000)).toMatchObject({ packetId: sent[1]!.packetId });
    const resent = [await again.next("publish", 5000), await again.next("publish", 5000)];
    expect(resent.map((p) => ({ text: text(p), packetId: p.packetId, dup: p.dup }))).toEqual([
      { text: "unanswered 1", packetId: sent[2]!.packetId, dup: true },
      { text: "unanswered 2", packetId: sent[3]!.packetId, dup: true },
    ]);
    again.send({ type: "pubcomp", packetId: sent[1]!.packetId!, reasonCode: 0 });
    for (const p of resent) {
      again.send({ type: "pubrec", packetId: p.packetId!, reasonCode: 0 });
      await again.next("pubrel");
      again.send({ type: "pubcomp", packetId: p.packetId!, reasonCode: 0 });
    }
    // Live again here; and none of the five comes a second time under a new id.
    await pub.publishAsync("onceout/x", "after", { qos: 2 });
    expect(text(await again.next("publish", 5000))).toBe("after");
    await sleep(500);
    expect(again.received.filter((p) => p.type === "publish")).toEqual([]);
    again.close();
  }, 40_000);

  it("knows on the new node the inbound QoS 2 ids that wait for PUBREL: a resent PUBLISH is acknowledged, not routed again, and a finished id is free for a new message", async () => {
    const watcher = await connect(c.url, { clientId: "once-in-watcher" });
    await watcher.subscribeAsync("oncein/#", { qos: 2 });
    const seen = collect(watcher);
    const f = await startBroker(node("once-f"), {}, { runtime: "node" });
    const raw = await RawClient.open(f.port, 5);
    expect(await raw.connect("once-in", lasting)).toMatchObject({ reasonCode: 0 });
    const publish = (packetId: number, payload: string, dup = false) =>
      raw.send({ type: "publish", topic: "oncein/x", payload: new TextEncoder().encode(payload), qos: 2, retain: false, dup, packetId });
    publish(21, "finished");
    publish(22, "received");
    publish(23, "released");
    for (let i = 0; i < 3; i++) await raw.next("pubrec");
    raw.send({ type: "pubrel", packetId: 21, reasonCode: 0 });
    expect(await raw.next("pubcomp")).toMatchObject({ packetId: 21, reasonCode: 0 });
    await waitFor(() => seen.length >= 3, 5000, "the three messages");
    await f.stop("SIGKILL");
    raw.close();
    const again = await RawClient.open(b.port, 5);
    expect(await again.connect("once-in", lasting)).toMatchObject({ reasonCode: 0, sessionPresent: true });
    const send = (packetId: number, payload: string, dup: boolean) =>
      again.send({ type: "publish", topic: "oncein/x", payload: new TextEncoder().encode(payload), qos: 2, retain: false, dup, packetId });
    // It cannot know whether PUBREC came for 22: it sends the PUBLISH again [MQTT-4.3.3-10]; 23 it releases.
    send(22, "received", true);
    expect(await again.next("pubrec", 5000)).toMatchObject({ packetId: 22, reasonCode: 0 });
    again.send({ type: "pubrel", packetId: 22, reasonCode: 0 });
    again.send({ type: "pubrel", packetId: 23, reasonCode: 0 });
    // 0x00, not 0x92 Packet Identifier not found: the new node knew both ids.
    expect(await again.next("pubcomp")).toMatchObject({ packetId: 22, reasonCode: 0 });
    expect(await again.next("pubcomp")).toMatchObject({ packetId: 23, reasonCode: 0 });
    // 21 was finished on the dead node: a new message under it is routed.
    send(21, "new under 21", false);
    await again.next("pubrec");
    again.send({ type: "pubrel", packetId: 21, reasonCode: 0 });
    await again.next("pubcomp");
    await waitFor(() => seen.length >= 4, 5000, "the new message");
    await sleep(300);
    expect(seen.map((m) => m.payload)).toEqual(["finished", "received", "released", "new under 21"]);
    again.close();
    await watcher.endAsync();
  }, 40_000);
});
