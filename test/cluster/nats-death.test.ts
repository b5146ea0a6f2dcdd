// NATS servers killed with SIGKILL mid-traffic (issue 13): lasting QoS 2
// subscribers on three edgemq nodes over a three-server NATS cluster (the
// messages stream kept in three replicas), QoS 1 and QoS 2 publishers on the
// third node, whose server lives; the server of the first node is killed,
// started again, then the second's. Those nodes move to the other server, and
// read back from the stream what was published while they were moving. Every
// message acknowledged to a publisher must reach every subscriber: none lost;
// no QoS 2 message twice. (A publisher's own server dying with a message on
// its way to the other servers is a case this does not cover: see the README.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mqtt, { type MqttClient } from "mqtt";
import { sleep, waitFor } from "../support/clients.ts";
import { parseExposition } from "../support/exposition.ts";
import { type RunningNats, startNatsCluster } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";
import { startTraffic } from "../support/traffic.ts";

const SUBSCRIBERS = 3;
const QOS1_PUBLISHERS = 3;
const QOS2_PUBLISHERS = 2;

let nats: RunningNats[];
const nodes: RunningBroker[] = [];
const clients: MqttClient[] = [];

beforeAll(async () => {
  nats = await startNatsCluster(3);
  // The first two nodes on the first two servers; the publishers' node on the third alone, which is never killed.
  const servers = [nats.slice(0, 2), nats.slice(0, 2), nats.slice(2)].map((list) => list.map((n) => n.url).join(","));
  for (let i = 0; i < 3; i++) {
    nodes.push(await startBroker(["--cluster", servers[i]!, "--node-id", `natsdeath-${i}`, "--sys-interval", "0", "--max-queued", "100000", "--admin-port", "0", "--metrics-public"], {}, { runtime: "node" }));
  }
}, 60_000);
afterAll(async () => {
  for (const c of clients) c.end(true);
  await Promise.all(nodes.map((n) => n.stop()));
  await Promise.all((nats ?? []).map((n) => n.stop()));
});

// The NATS server a node is connected to now (`127.0.0.1:<port>`), as its /metrics says.
async function natsServerOf(node: RunningBroker): Promise<string | undefined> {
  const exposition = parseExposition(await (await fetch(`http://127.0.0.1:${node.ports.http}/metrics`)).text());
  const sample = exposition.get("edgemq_cluster_nats_connected")?.samples[0];
  return sample?.value === 1 ? sample.labels.server : undefined;
}

// A client of node `at` that comes back to it by itself whenever its connection is lost.
function client(clientId: string, at: number, lasting: boolean): MqttClient {
  const c = mqtt.connect({
    host: "127.0.0.1", port: nodes[at]!.port, clientId, protocolVersion: 5, clean: !lasting, reconnectPeriod: 100, connectTimeout: 3000,
    properties: lasting ? { sessionExpiryInterval: 600 } : {},
  });
  c.on("error", () => {}); // refused while the messages stream chooses a new leader: it tries again
  clients.push(c);
  return c;
}

describe("NATS servers killed with SIGKILL mid-traffic", () => {
  it("under subscribers' nodes lose no acknowledged message and repeat no QoS 2 message", async () => {
    const traffic = await startTraffic(client, "natsdeath", SUBSCRIBERS, QOS1_PUBLISHERS, QOS2_PUBLISHERS, 3, () => 2);
    const { got, acked } = traffic;
    await waitFor(() => acked.length >= 200, 15_000, "traffic before the first kill");
    // The server of node 0, then (once that one is back) the server of node 1: never the publishers' (node 2's).
    for (const k of [0, 1]) {
      // A node that does not answer died: its output says why. One between servers (the last kill) is waited for.
      let server: string | undefined;
      for (let i = 0; i < 100 && server === undefined; i++) {
        server = await natsServerOf(nodes[k]!).catch((e) => {
          throw new Error(`node ${k} does not answer on /metrics (${(e as Error).message}); its output:\n${nodes[k]!.output().slice(-3000)}`);
        });
        if (server === undefined) await sleep(100);
      }
      const victim = nats.findIndex((n) => server === `127.0.0.1:${n.port}`);
      expect(victim, `node ${k}'s NATS server (${server}) among ${nats.map((n) => n.port).join(", ")}`).toBeGreaterThanOrEqual(0);
      await nats[victim]!.kill("SIGKILL");
      await sleep(3000);
      nats[victim] = await nats[victim]!.restart();
      await sleep(2000);
    }
    const before = acked.length;
    // JetStream may take a while to give every stream a leader again on a loaded machine. Traffic that has not resumed
    // in a minute is said, not failed on here (it is an open problem, see the README): what was acknowledged is still
    // checked below, none lost and no QoS 2 message twice.
    const resumed = await waitFor(() => acked.length >= before + 50, 60_000, "traffic after the kills").then(() => true, () => false);
    if (!resumed) {
      console.log(`NATS server death: traffic had not resumed a minute after the kills (${acked.length - before} acknowledged since); the nodes' warnings:\n${nodes.map((n) => n.output().split("\n").filter((l) => / warn | error |answers again/.test(l)).slice(-8).join("\n")).join("\n")}`);
    }
    await traffic.stop();

    await waitFor(() => traffic.missing() === 0, 30_000, "every acknowledged message at every subscriber").catch(() => {});
    const lost = traffic.missing();
    const { delivered, duplicated, qos2Acked, twice } = traffic.figures();
    const readBack = nodes.map((n) => n.output()).join("\n").match(/read back \d+ message/g)?.map((m) => Number(/\d+/.exec(m)![0])) ?? [];
    console.log(`NATS server death: 2 kills, ${acked.length} messages acknowledged (${qos2Acked} at QoS 2), ${SUBSCRIBERS} lasting subscribers: ${delivered} deliveries, lost ${lost}, duplicated ${duplicated} (QoS 2: ${twice.length}); ${readBack.length} reads after a reconnection, ${readBack.reduce((a, b) => a + b, 0)} messages read back`);
    if (twice.length > 0) console.log(`NATS server death: QoS 2 messages delivered more than once: ${twice.slice(0, 20).join(" ")}`);
    if (lost > 0) {
      for (let s = 0; s < SUBSCRIBERS; s++) {
        const miss = acked.filter((m) => !got[s]!.has(m));
        console.log(`NATS server death, subscriber ${s}: missing ${miss.length}: ${miss.slice(0, 10).join(" ")}`);
      }
      for (const n of nodes) console.log("NATS server death, a node's warnings:\n" + n.output().split("\n").filter((l) => / warn | error |read back/.test(l)).slice(-15).join("\n"));
    }
    expect(acked.length).toBeGreaterThanOrEqual(200);
    expect(lost, "acknowledged messages some subscriber never got").toBe(0);
    expect(twice, "QoS 2 messages some subscriber got twice").toEqual([]);
  }, 180_000);
});
