// NATS servers dying under two edgemq nodes (issue 12), on a three-server
// NATS cluster: one server killed, the nodes move to the others and messages
// keep crossing; every server down, each node serves QoS 0 locally, refuses
// QoS 1 and 2 (5.0: PUBACK 0x83; 3.1.1: connection closed), says not ready
// on /readyz and disconnected on /metrics; the servers back, all is as before.
// Node a runs on Node, node b on Deno.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mqtt, { type MqttClient } from "mqtt";
import { collect, connect, mosquittoPub, mosquittoSub, sleep, waitFor } from "../support/clients.ts";
import { namingProblems, parseExposition, valueOf } from "../support/exposition.ts";
import { type RunningNats, startNatsCluster } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let nats: RunningNats[];
let a: RunningBroker;
let b: RunningBroker;
beforeAll(async () => {
  nats = await startNatsCluster(3);
  const servers = nats.map((n) => n.url).join(",");
  const node = (id: string, runtime: "node" | "deno") => startBroker(["--cluster", servers, "--node-id", id, "--sys-interval", "0", "--admin-port", "0", "--metrics-public"], {}, { runtime });
  [a, b] = await Promise.all([node("outage-a", "node"), node("outage-b", "deno")]);
}, 30_000); // a NATS cluster and a Deno node, on a loaded machine
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await Promise.all((nats ?? []).map((n) => n.stop()));
});

const metrics = async (node: RunningBroker) => parseExposition(await (await fetch(`http://127.0.0.1:${node.ports.http}/metrics`)).text());
const readyz = async (node: RunningBroker) => {
  const res = await fetch(`http://127.0.0.1:${node.ports.http}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; reason?: string } };
};
// The NATS server a node is connected to now, as /metrics labels it (`127.0.0.1:<port>`), while connected.
const natsServerOf = async (node: RunningBroker) => {
  const sample = (await metrics(node)).get("edgemq_cluster_nats_connected")?.samples[0];
  return sample?.value === 1 ? sample.labels.server : undefined;
};

// Publishes QoS 0 probes on `pub` until `got` has one (and `also` holds): the interest has crossed the NATS routes.
async function crossing(pub: MqttClient, topic: string, got: { payload: string }[], also = () => true): Promise<void> {
  for (let i = 0; i < 300 && !(got.some((m) => m.payload === "probe") && also()); i++) {
    await pub.publishAsync(topic, "probe", { qos: 0 });
    await sleep(20);
  }
  if (!got.some((m) => m.payload === "probe")) throw new Error(`no probe on ${topic} crossed nodes in 6 s`);
  await sleep(50);
  got.length = 0;
}

describe("edgemq nodes while NATS servers die", () => {
  it("counts both nodes, and shows each node's NATS server, connected, on /metrics and ready on /readyz", async () => {
    for (const node of [a, b]) {
      await waitFor(() => node.output().includes("listening"), 1000);
      for (let i = 0; i < 50 && valueOf(await metrics(node), "edgemq_cluster_nodes") !== 2; i++) await sleep(100);
      const m = await metrics(node);
      expect(valueOf(m, "edgemq_cluster_nodes")).toBe(2);
      expect(namingProblems(m)).toEqual([]);
      expect(await natsServerOf(node)).toMatch(/^127\.0\.0\.1:\d+$/);
      for (const name of ["edgemq_cluster_messages_sent_total", "edgemq_cluster_messages_received_total", "edgemq_cluster_reconnects_total", "edgemq_cluster_slow_consumer_events_total"]) {
        expect(valueOf(m, name), name).toBe(0);
      }
      expect(await readyz(node)).toEqual({ status: 200, body: { status: "ready" } });
    }
  });

  it("counts a node that joins (once, though it is renamed after its port when bound), and stops counting it as soon as it leaves", async () => {
    // No --node-id: the node is named host:0 until its listener is bound on a free port.
    const c = await startBroker(["--cluster", nats.map((n) => n.url).join(","), "--sys-interval", "0"]);
    const nodes = async () => valueOf(await metrics(a), "edgemq_cluster_nodes");
    for (let i = 0; i < 50 && (await nodes()) !== 3; i++) await sleep(100);
    expect(await nodes()).toBe(3);
    await sleep(2500); // past a round of presence messages
    expect(await nodes()).toBe(3);
    await c.stop();
    // Its "left" message, not three silent rounds (6 s): well within a second.
    for (let i = 0; i < 10 && (await nodes()) !== 2; i++) await sleep(100);
    expect(await nodes()).toBe(2);
  });

  it("moves a node whose NATS server is killed to another, refusing QoS 1 only while it moves, and every QoS 1 message acknowledged outside that moment crosses", async () => {
    const sub = await connect(b.url, { clientId: "outage-sub" });
    const got = collect(sub);
    await sub.subscribeAsync("kill/#", { qos: 1 });
    const moSub = mosquittoSub(["-p", String(b.port), "-t", "kill/#", "-q", "1", "-V", "mqttv311"]);
    let pub = await connect(a.url, { clientId: "outage-pub" });
    await crossing(pub, "kill/t", got, () => moSub.lines().includes("probe"));
    expect(moSub.lines()).toContain("probe");

    // A publisher keeps sending QoS 1 while its node's NATS server dies.
    const acked: string[] = [];
    let refused = 0;
    let dropped = 0;
    let sending = true;
    const closedOf = (c: typeof pub) => new Promise<"closed">((r) => c.once("close", () => r("closed")));
    let closed = closedOf(pub);
    const reconnect = async () => {
      dropped++;
      pub.end(true);
      pub = await connect(a.url, { clientId: `outage-pub-${dropped}` });
      closed = closedOf(pub);
    };
    const publishing = (async () => {
      for (let i = 0; sending; i++) {
        try {
          const outcome = await Promise.race([pub.publishAsync("kill/t", `q1-${i}`, { qos: 1 }).then(() => "acked" as const), closed]);
          if (outcome === "acked") acked.push(`q1-${i}`);
          // Its NATS server died, or the messages stream did not store it in time (its leader died with it): the
          // connection was closed unacknowledged (0x80, not owed); a new one goes on.
          else await reconnect();
        } catch (e) {
          // 0x83 while the node is between NATS servers, or the stream chooses a new leader: not acknowledged, so not owed.
          if ((e as { code?: number }).code === 0x83) refused++;
          else await reconnect(); // the DISCONNECT's rejection came before the close event
        }
        await sleep(5);
      }
    })();
    const arrived = (p: string) => got.some((m) => m.payload === p);
    await waitFor(() => acked.length >= 20, 5000, "20 acknowledged before the kill");
    const settled = acked.length;
    await waitFor(() => acked.slice(0, settled).every(arrived), 5000, "those 20 on node b");
    const before = await natsServerOf(a);
    const victim = nats.find((n) => before === `127.0.0.1:${n.port}`)!;
    expect(victim).toBeDefined();
    await victim.kill("SIGKILL");
    await waitFor(() => /cluster: lost the NATS server/.test(a.output()), 5000, "node a to notice");
    await waitFor(() => /cluster: reconnected to the NATS server/.test(a.output()), 10_000, "node a on another NATS server");
    // Node b may have been on the same server: it moves too.
    for (let i = 0; i < 200 && [undefined, before].includes(await natsServerOf(b)); i++) await sleep(50);
    expect([undefined, before]).not.toContain(await natsServerOf(b));
    await sleep(300);
    const moved = acked.length;
    // JetStream may take some seconds to choose the stream's new leader when the old one died.
    await waitFor(() => acked.length >= moved + 50, 30_000, "50 acknowledged after the move");
    sending = false;
    await publishing;
    // Every message acknowledged once both nodes were on their new servers arrives, in order. Across
    // nodes delivery is at most once (core NATS): one acknowledged as its NATS server died may be lost.
    await waitFor(() => acked.slice(moved).every(arrived), 10_000, "every message acknowledged after the move on node b");
    const received = got.map((m) => m.payload).filter((p) => p.startsWith("q1-"));
    const after = acked.slice(moved);
    expect(received.filter((p) => after.includes(p))).toEqual(after);
    expect(acked.filter((p) => !arrived(p)).every((p) => acked.indexOf(p) >= settled && acked.indexOf(p) < moved)).toBe(true);
    expect(new Set(received).size).toBe(received.length);
    expect(await natsServerOf(a)).not.toBe(before);
    expect(await natsServerOf(a)).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(valueOf(await metrics(a), "edgemq_cluster_reconnects_total")).toBeGreaterThanOrEqual(1);
    expect(valueOf(await metrics(a), "edgemq_cluster_messages_sent_total")).toBeGreaterThanOrEqual(acked.length);
    expect(valueOf(await metrics(b), "edgemq_cluster_messages_received_total")).toBeGreaterThanOrEqual(after.length);
    expect(valueOf(await metrics(a), "edgemq_unavailable_refusals_total", { namespace: "", broker: "default" })).toBe(refused);

    // QoS 0 crosses too, to mqtt.js and to mosquitto_sub (3.1.1) on node b, from mosquitto_pub on node a.
    got.length = 0;
    for (let i = 0; i < 5; i++) expect((await mosquittoPub(["-p", String(a.port), "-t", "kill/zero", "-m", `zero-${i}`, "-q", "0"])).code).toBe(0);
    await waitFor(() => got.filter((m) => m.topic === "kill/zero").length === 5 && moSub.lines().filter((l) => l.startsWith("zero-")).length === 5, 5000, "5 QoS 0 messages on node b");
    await moSub.stop();
    nats[nats.indexOf(victim)] = await victim.restart();
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  });

  it("with every NATS server down, serves QoS 0 locally, refuses QoS 1 (5.0: PUBACK 0x83; 3.1.1: connection closed), says not ready; and crosses again once they are back", async () => {
    const local = await connect(a.url, { clientId: "down-local" });
    const gotLocal = collect(local);
    await local.subscribeAsync("down/#", { qos: 1 });
    const remote = await connect(b.url, { clientId: "down-remote" });
    const gotRemote = collect(remote);
    await remote.subscribeAsync("down/#", { qos: 1 });
    const pub = await connect(a.url, { clientId: "down-pub" });
    await crossing(pub, "down/t", gotRemote);
    const lost = (node: RunningBroker) => node.output().split("cluster: lost the NATS server").length - 1;
    const [lostA, lostB] = [lost(a), lost(b)];

    await Promise.all(nats.map((n) => n.kill("SIGKILL")));
    await waitFor(() => lost(a) > lostA && lost(b) > lostB, 5000, "both nodes to notice");
    const r = await readyz(a);
    expect(r.status).toBe(503);
    expect(r.body.status).toBe("not ready");
    expect(r.body.reason).toMatch(/cut off from NATS/);
    expect(valueOf(await metrics(a), "edgemq_cluster_nats_connected", { server: (await metrics(a)).get("edgemq_cluster_nats_connected")!.samples[0]!.labels.server! })).toBe(0);

    // QoS 0 goes on on the node: mqtt.js and mosquitto_pub to a local subscriber.
    gotLocal.length = 0;
    await pub.publishAsync("down/t", "local-zero", { qos: 0 });
    expect((await mosquittoPub(["-p", String(a.port), "-t", "down/t", "-m", "mosquitto-zero", "-q", "0"])).code).toBe(0);
    await waitFor(() => gotLocal.length === 2, 3000, "two QoS 0 messages on node a");
    // Two publishers: MQTT orders each one's messages, not the two against each other.
    expect(gotLocal.map((m) => m.payload).sort()).toEqual(["local-zero", "mosquitto-zero"]);

    // QoS 1 at 5.0: PUBACK 0x83 with a reason string, and the connection stays (QoS 0 still passes on it).
    const refusal = await pub.publishAsync("down/t", "durable", { qos: 1 }).then(() => undefined, (e: { code?: number }) => e);
    expect(refusal?.code).toBe(0x83);
    await expect(pub.publishAsync("down/t", "durable", { qos: 2 })).rejects.toMatchObject({ code: 0x83 });
    expect(pub.connected).toBe(true);
    // QoS 1 at 3.1.1: no negative acknowledgement exists, so the connection is closed unacknowledged.
    const v311 = await mosquittoPub(["-p", String(a.port), "-t", "down/t", "-m", "durable-311", "-q", "1", "-V", "mqttv311"]);
    expect(v311.code).not.toBe(0);
    // An mqtt.js 3.1.1 client with a lasting session keeps the message, reconnecting, until it is taken (below).
    const v311Client = mqtt.connect(a.url, { protocolVersion: 4, clean: false, clientId: "down-311", reconnectPeriod: 300, connectTimeout: 5000 });
    await new Promise((r) => v311Client.once("connect", r));
    let closes = 0;
    v311Client.on("close", () => closes++);
    const resent = v311Client.publishAsync("down/t", "resent-311", { qos: 1 });
    await waitFor(() => closes >= 1, 3000, "the 3.1.1 connection closed");
    // mosquitto_pub at 5.0 is told the reason.
    const v5 = await mosquittoPub(["-p", String(a.port), "-t", "down/t", "-m", "durable-5", "-q", "1", "-V", "mqttv5"]);
    expect(v5.output).toMatch(/Implementation specific error/i);
    await sleep(200);
    expect(gotLocal.map((m) => m.payload).sort()).toEqual(["local-zero", "mosquitto-zero"]);
    gotLocal.length = 0;
    const m = await metrics(a);
    expect(valueOf(m, "edgemq_unavailable_refusals_total", { namespace: "", broker: "default" })).toBeGreaterThanOrEqual(4);
    expect(a.output().match(/QoS 1 and 2 PUBLISH are refused/g)?.length).toBe(lost(a));

    // The servers back: ready again, and QoS 1 crosses from mosquitto_pub on node a to node b.
    await Promise.all(nats.map((n, i) => n.restart().then((again) => (nats[i] = again))));
    await waitFor(() => /cluster: reconnected/.test(a.output().slice(a.output().lastIndexOf("cluster: lost"))), 15_000, "node a back on NATS");
    await waitFor(() => /cluster: reconnected/.test(b.output().slice(b.output().lastIndexOf("cluster: lost"))), 15_000, "node b back on NATS");
    expect(await readyz(a)).toEqual({ status: 200, body: { status: "ready" } });
    // The 3.1.1 client's message, sent again on a reconnection, is taken now: once, on node a's subscriber.
    await resent;
    await waitFor(() => gotLocal.some((m) => m.payload === "resent-311"), 3000, "the 3.1.1 message sent again");
    if (gotLocal.filter((m) => m.payload === "resent-311").length !== 1) console.log("DEBUG", a.output().slice(-4000));
    expect(gotLocal.filter((m) => m.payload === "resent-311")).toHaveLength(1);
    await v311Client.endAsync();
    expect(valueOf(await metrics(a), "edgemq_cluster_nats_connected", { server: (await natsServerOf(a))! })).toBe(1);
    gotRemote.length = 0;
    await crossing(pub, "down/t", gotRemote);
    expect((await mosquittoPub(["-p", String(a.port), "-t", "down/t", "-m", "back-1", "-q", "1", "-V", "mqttv311"])).code).toBe(0);
    await pub.publishAsync("down/t", "back-2", { qos: 1 });
    await waitFor(() => gotRemote.length === 2, 5000, "two QoS 1 messages on node b");
    expect(gotRemote.map((m) => m.payload)).toEqual(["back-1", "back-2"]);
    await Promise.all([local, remote, pub].map((c) => c.endAsync()));
  });

});
