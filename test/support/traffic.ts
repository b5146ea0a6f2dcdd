// Traffic for the tests that kill things mid-flow (node-death, nats-death):
// lasting QoS 2 subscribers that count every payload they get, and QoS 1 and
// QoS 2 publishers (QoS 2 ones with lasting sessions, so that a resend after
// a kill is recognised) that send one after another, each payload counted as
// acknowledged once its PUBACK or PUBCOMP came, however late. What is lost
// and what came twice is then counted from both.
import type { MqttClient } from "mqtt";
import { sleep } from "./clients.ts";

/** Makes a client with that id, starting at node `at`, lasting or not (the test decides where it goes when its node dies). */
export type MakeClient = (clientId: string, at: number, lasting: boolean) => MqttClient;

/** What the subscribers got and what the publishers were told. */
export interface Traffic {
  /** Per subscriber, how many times it got each payload. */
  got: Map<string, number>[];
  /** Payloads acknowledged to their publisher, in the order acknowledged. QoS 2 payloads start with `q`, QoS 1 ones with `p`. */
  acked: string[];
  /** Stops the publishers and waits for what they still wait for (at most 10 s). */
  stop(): Promise<void>;
  /** Acknowledged payloads some subscriber has not got, counted once per subscriber. */
  missing(): number;
  /** The figures: deliveries, duplicates, and the QoS 2 payloads some subscriber got more than once (`q3-12×2`). */
  figures(): { delivered: number; duplicated: number; qos2Acked: number; twice: string[] };
}

/**
 * Starts `subscribers` subscribers on `<root>/#` (subscriber `s` on node `s % nodes`) and the publishers (publisher `p`
 * on node `publishAt(p)`, `p % nodes` unless told), named after `root`.
 */
export async function startTraffic(
  client: MakeClient, root: string, subscribers: number, qos1: number, qos2: number, nodes = 3, publishAt = (p: number) => p % nodes,
): Promise<Traffic> {
  const got: Map<string, number>[] = [];
  for (let s = 0; s < subscribers; s++) {
    const counts = new Map<string, number>();
    got.push(counts);
    const sub = client(`${root}-sub-${s}`, s % nodes, true);
    sub.on("message", (_t, payload) => counts.set(payload.toString(), (counts.get(payload.toString()) ?? 0) + 1));
    await new Promise((r) => sub.once("connect", r));
    await sub.subscribeAsync(`${root}/#`, { qos: 2 });
  }
  const acked: string[] = [];
  let sending = true;
  const publishing = Array.from({ length: qos1 + qos2 }, async (_, p) => {
    const qos = p < qos1 ? 1 : 2;
    const pub = client(`${root}-pub-${p}`, publishAt(p), qos === 2);
    await new Promise((r) => pub.once("connect", r));
    const waiting: Promise<unknown>[] = [];
    for (let n = 0; sending; n++) {
      const payload = `${qos === 2 ? "q" : "p"}${p}-${n}`;
      waiting.push(pub.publishAsync(`${root}/${p}`, payload, { qos }).then(() => void acked.push(payload), () => {}));
      // At most a few waiting at once: a publisher cut off stops, then goes on once it is back.
      if (waiting.length >= 8) await Promise.race([Promise.all(waiting.splice(0, 4)), sleep(3000)]);
      await sleep(5);
    }
    await Promise.race([Promise.all(waiting), sleep(10_000)]);
  });
  return {
    got,
    acked,
    async stop() {
      sending = false;
      await Promise.all(publishing);
    },
    missing: () => got.reduce((sum, counts) => sum + acked.filter((m) => !counts.has(m)).length, 0),
    figures: () => ({
      delivered: got.reduce((sum, counts) => sum + [...counts.values()].reduce((a, b) => a + b, 0), 0),
      duplicated: got.reduce((sum, counts) => sum + [...counts.values()].reduce((a, b) => a + (b - 1), 0), 0),
      qos2Acked: acked.filter((m) => m.startsWith("q")).length,
      twice: got.flatMap((counts) => [...counts].filter(([m, n]) => m.startsWith("q") && n > 1).map(([m, n]) => `${m}×${n}`)),
    }),
  };
}
