// Retained messages across nodes (issue 12): kept in a JetStream stream, so
// that a retained PUBLISH on any node reaches a new subscriber on any other,
// is replaced and cleared everywhere, and is there for a node started later.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, connect, sleep } from "../support/clients.ts";
import { type RunningNats, startNats } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let nats: RunningNats;
let a: RunningBroker;
let b: RunningBroker;
const nodeArgs = (id: string) => ["--cluster", nats.url, "--node-id", id, "--sys-interval", "0"];
beforeAll(async () => {
  nats = await startNats();
  [a, b] = await Promise.all([startBroker(nodeArgs("ret-a")), startBroker(nodeArgs("ret-b"))]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await nats?.stop();
});

let clients = 0;
// What a new subscriber on `node` gets as retained messages for `filter`, as "topic=payload", sorted.
async function retainedOn(node: RunningBroker, filter: string, protocolVersion: 4 | 5 = 5): Promise<string[]> {
  const c = await connect(node.url, { clientId: `ret-probe-${clients++}`, protocolVersion });
  const got = collect(c);
  await c.subscribeAsync(filter, { qos: 1 });
  await sleep(150);
  await c.endAsync();
  return got.filter((m) => m.packet.retain).map((m) => `${m.topic}=${m.payload}`).sort();
}

// Asks again until a new subscriber sees `want` (other nodes follow the stream within moments).
async function eventually(node: RunningBroker, filter: string, want: string[], protocolVersion: 4 | 5 = 5): Promise<void> {
  let seen: string[] = [];
  for (let i = 0; i < 20; i++) {
    seen = await retainedOn(node, filter, protocolVersion);
    if (JSON.stringify(seen) === JSON.stringify(want)) return;
    await sleep(100);
  }
  expect(seen).toEqual(want);
}

describe("retained messages across nodes", () => {
  it("delivers a retained message set on node A to new subscribers on node B, replaced and cleared from either node", async () => {
    const pubA = await connect(a.url, { clientId: "ret-pub-a" });
    const pubB = await connect(b.url, { clientId: "ret-pub-b", protocolVersion: 4 });
    await pubA.publishAsync("ret/1", "v1", { qos: 1, retain: true });
    await pubA.publishAsync("ret/2", "kept", { qos: 1, retain: true });
    await eventually(b, "ret/#", ["ret/1=v1", "ret/2=kept"]);
    await eventually(b, "ret/1", ["ret/1=v1"], 4);
    // Replaced on B (a 3.1.1 publisher): A's new subscribers get the new value.
    await pubB.publishAsync("ret/1", "v2", { qos: 1, retain: true });
    await eventually(a, "ret/+", ["ret/1=v2", "ret/2=kept"]);
    // Cleared on A with an empty payload: gone on B too, the other topic still there.
    await pubA.publishAsync("ret/1", "", { qos: 1, retain: true });
    await eventually(b, "ret/#", ["ret/2=kept"]);
    expect(await retainedOn(a, "ret/#")).toEqual(["ret/2=kept"]);
    await Promise.all([pubA.endAsync(), pubB.endAsync()]);
  });

  it("gives a node started afterwards every retained message before it takes clients, and a restarted node too", async () => {
    const pub = await connect(a.url, { clientId: "ret-pub-late" });
    await pub.publishAsync("late/x", "1", { qos: 1, retain: true });
    await pub.publishAsync("late/y/z", "2", { qos: 1, retain: true });
    await pub.publishAsync("late/cleared", "3", { qos: 1, retain: true });
    await pub.publishAsync("late/cleared", "", { qos: 1, retain: true });
    await pub.endAsync();
    await eventually(b, "late/#", ["late/x=1", "late/y/z=2"]);
    const c = await startBroker(nodeArgs("ret-c"));
    try {
      // Asked once, at once: the node read the stream before it listened.
      expect(await retainedOn(c, "late/#")).toEqual(["late/x=1", "late/y/z=2"]);
    } finally {
      await c.stop();
    }
    await b.stop();
    b = await startBroker(nodeArgs("ret-b"));
    expect(await retainedOn(b, "late/#")).toEqual(["late/x=1", "late/y/z=2"]);
  });

  it("does not keep a retained message past its Message Expiry Interval on another node", async () => {
    const pub = await connect(a.url, { clientId: "ret-pub-exp" });
    await pub.publishAsync("exp/t", "short", { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    await eventually(b, "exp/t", ["exp/t=short"]);
    await sleep(1100);
    expect(await retainedOn(b, "exp/t")).toEqual([]);
    const c = await startBroker(nodeArgs("ret-exp"));
    try {
      expect(await retainedOn(c, "exp/t")).toEqual([]);
    } finally {
      await c.stop();
      await pub.endAsync();
    }
  });
});
