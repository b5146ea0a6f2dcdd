// What a QoS 1 or 2 acknowledgement means in a cluster (issue 13): PUBACK and
// PUBREC leave only once the messages stream's replicas have the message (so
// every node with interest has been sent it, and it outlives a NATS server).
// Real nats-servers, frozen with SIGSTOP: a node connected to a frozen one,
// or to one whose two peers are frozen, cannot get that acknowledgement.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, connect, sleep, waitFor } from "../support/clients.ts";
import { type RunningNats, startNats, startNatsCluster } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

// Publishes at QoS 1 from a new connection each time until a PUBACK says it was taken (a refusal, 0x83, a
// disconnection, 0x80, or no answer within 6 s: again), at most `tries` times.
async function acceptedWithin(url: string, clientId: string, topic: string, payload: string, tries: number): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    const client = await connect(url, { clientId: `${clientId}-${i}`, reconnectPeriod: 0 });
    const taken = await Promise.race([client.publishAsync(topic, payload, { qos: 1 }).then(() => true, () => false), sleep(6000).then(() => false)]);
    client.end(true);
    if (taken) return true;
    await sleep(500);
  }
  return false;
}

let nats: RunningNats;
let a: RunningBroker;
let b: RunningBroker;
const node = (id: string) => ["--cluster", nats.url, "--node-id", id, "--sys-interval", "0"];
beforeAll(async () => {
  nats = await startNats();
  [a, b] = await Promise.all([startBroker(node("ack-a"), {}, { runtime: "node" }), startBroker(node("ack-b"), {}, { runtime: "bun" })]);
}, 30_000);
afterAll(async () => {
  nats?.signal("SIGCONT");
  await Promise.all([a?.stop(), b?.stop()]);
  await nats?.stop();
});

describe("a QoS 1 or 2 acknowledgement in a cluster", () => {
  it("leaves once the NATS server confirmed the message: at once while it answers, never while it is frozen (the publisher is disconnected unacknowledged after 5 s and sends it again)", async () => {
    const remote = await connect(b.url, { clientId: "ack-remote" });
    await remote.subscribeAsync("ack/#", { qos: 1 });
    const remoteGot = collect(remote);
    const local = await connect(a.url, { clientId: "ack-local" });
    await local.subscribeAsync("ack/#", { qos: 0 });
    const localGot = collect(local);
    const pub = await connect(a.url, { clientId: "ack-pub" });
    await pub.publishAsync("ack/1", "confirmed", { qos: 1 });
    await pub.publishAsync("ack/1", "confirmed 2", { qos: 2 });
    await waitFor(() => remoteGot.length === 2, 3000, "both messages on node b");

    nats.signal("SIGSTOP");
    let acked = false;
    let reason: number | undefined;
    pub.on("disconnect", (p) => (reason = p.reasonCode));
    void pub.publishAsync("ack/1", "unconfirmed", { qos: 1 }).then(() => (acked = true), () => {});
    await waitFor(() => localGot.some((m) => m.payload === "unconfirmed"), 2000, "the local QoS 0 delivery");
    await sleep(3000);
    expect(acked, "no PUBACK while the NATS server cannot confirm").toBe(false);
    await waitFor(() => reason !== undefined, 4000, "the publisher to be disconnected");
    expect(reason).toBe(0x80);
    expect(acked).toBe(false);
    nats.signal("SIGCONT");

    // Refused (PUBACK 0x83) until the stream answers again, then taken.
    expect(await acceptedWithin(a.url, "ack-pub-2", "ack/1", "after", 20), "a PUBACK once the NATS server woke").toBe(true);
    await waitFor(() => remoteGot.some((m) => m.payload === "after"), 5000, "the message after the NATS server woke");
    pub.end(true);
    await Promise.all([remote.endAsync(), local.endAsync()]);
  }, 30_000);
});

// The messages stream as nats-server's monitoring page shows it: its replicas and how many messages it holds.
async function messageStream(server: RunningNats): Promise<{ replicas: number; messages: number } | undefined> {
  const res = await fetch(`http://127.0.0.1:${server.monitorPort}/jsz?streams=1&config=1`);
  const body = (await res.json()) as { account_details?: { stream_detail?: { name: string; config: { num_replicas: number }; state: { messages: number } }[] }[] };
  const stream = body.account_details?.flatMap((a) => a.stream_detail ?? []).find((s) => s.name === "EDGEMQ_MESSAGES");
  return stream === undefined ? undefined : { replicas: stream.config.num_replicas, messages: stream.state.messages };
}

describe("a QoS 1 acknowledgement over a cluster of three NATS servers", () => {
  let servers: RunningNats[] = [];
  let c: RunningBroker;
  let d: RunningBroker;
  afterAll(async () => {
    for (const s of servers) s.signal("SIGCONT");
    await Promise.all([c?.stop(), d?.stop()]);
    await Promise.all(servers.map((s) => s.stop()));
  });

  it("leaves once three servers keep the message: never while the node's own server is up but its two peers are frozen", async () => {
    servers = await startNatsCluster(3);
    const on = (id: string, s: RunningNats) => ["--cluster", s.url, "--node-id", id, "--sys-interval", "0"];
    [c, d] = await Promise.all([startBroker(on("r3-c", servers[0]!), {}, { runtime: "node" }), startBroker(on("r3-d", servers[0]!), {}, { runtime: "node" })]);
    const sub = await connect(d.url, { clientId: "r3-sub" });
    await sub.subscribeAsync("r3/#", { qos: 1 });
    const got = collect(sub);
    const pub = await connect(c.url, { clientId: "r3-pub" });
    for (let i = 0; i < 20; i++) await pub.publishAsync("r3/x", `kept ${i}`, { qos: 1 });
    await waitFor(() => got.length === 20, 5000, "20 messages on the other node");
    const stream = await messageStream(servers[0]!);
    expect(stream, "the messages stream").toBeDefined();
    expect(stream!.replicas).toBe(3);
    expect(stream!.messages).toBeGreaterThanOrEqual(1); // bundled: up to 16 messages per stream entry

    // Server 0 answers its clients as ever; without a peer it cannot commit to three (nor to a majority).
    servers[1]!.signal("SIGSTOP");
    servers[2]!.signal("SIGSTOP");
    let acked = false;
    let reason: number | undefined;
    pub.on("disconnect", (p) => (reason = p.reasonCode));
    void pub.publishAsync("r3/x", "not replicated", { qos: 1 }).then(() => (acked = true), () => {});
    await sleep(3000);
    expect(acked, "no PUBACK while the stream cannot replicate").toBe(false);
    await waitFor(() => reason !== undefined, 4000, "the publisher to be disconnected");
    expect(reason).toBe(0x80);
    expect(acked).toBe(false);
    servers[1]!.signal("SIGCONT");
    servers[2]!.signal("SIGCONT");

    // Once the peers are back (and a stream leader chosen), acknowledgements come again.
    expect(await acceptedWithin(c.url, "r3-pub-2", "r3/x", "replicated again", 40), "a PUBACK once the peers woke").toBe(true);
    pub.end(true);
    await sub.endAsync();
  }, 60_000);
});
