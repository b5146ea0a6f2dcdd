// What a QoS 1 or 2 acknowledgement means in a cluster (issue 13): PUBACK and
// PUBREC leave only once the NATS server has confirmed the message, so every
// node with interest has been sent it. A real nats-server, frozen with
// SIGSTOP: a node connected to it cannot get that confirmation.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, connect, sleep, waitFor } from "../support/clients.ts";
import { type RunningNats, startNats } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

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

    const again = await connect(a.url, { clientId: "ack-pub-2" });
    await again.publishAsync("ack/1", "after", { qos: 1 });
    await waitFor(() => remoteGot.some((m) => m.payload === "after"), 5000, "the message after the NATS server woke");
    pub.end(true);
    await Promise.all([again.endAsync(), remote.endAsync(), local.endAsync()]);
  }, 30_000);
});
