// A node cut off from NATS (issue 12): it keeps serving its own clients,
// share groups included, and once NATS is back no share group gets a
// message twice.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, connect, sleep, waitFor } from "../support/clients.ts";
import { type RunningNats, startNats } from "../support/nats.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let nats: RunningNats;
let a: RunningBroker;
let b: RunningBroker;
beforeAll(async () => {
  nats = await startNats();
  const node = (id: string) => startBroker(["--cluster", nats.url, "--node-id", id, "--sys-interval", "0"]);
  [a, b] = await Promise.all([node("away-a"), node("away-b")]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await nats?.stop();
});

describe("a node while NATS is away", () => {
  it("gives its own share group members and subscribers what is published on it, and no group gets those messages again once NATS is back", async () => {
    const memberA = await connect(a.url, { clientId: "away-member-a" });
    const memberB = await connect(b.url, { clientId: "away-member-b" });
    const plainA = await connect(a.url, { clientId: "away-plain-a" });
    const gotA = collect(memberA), gotB = collect(memberB), gotPlain = collect(plainA);
    await memberA.subscribeAsync("$share/g/away/t", { qos: 0 });
    await memberB.subscribeAsync("$share/g/away/t", { qos: 0 });
    await plainA.subscribeAsync("away/t", { qos: 0 });
    const pub = await connect(a.url, { clientId: "away-pub" });
    // The group's interest from both nodes is in place once each member has had a probe.
    for (let i = 0; i < 300 && (gotA.length === 0 || gotB.length === 0); i++) {
      await pub.publishAsync("away/t", "probe", { qos: 0 });
      await sleep(20);
    }
    await sleep(100);
    for (const g of [gotA, gotB, gotPlain]) g.length = 0;

    const port = nats.port;
    await nats.stop();
    await waitFor(() => a.output().includes("cluster: lost the NATS server"), 5000, "node a to notice");
    for (let i = 0; i < 20; i++) await pub.publishAsync("away/t", `away-${i}`, { qos: 0 });
    await waitFor(() => gotA.length >= 20 && gotPlain.length >= 20, 3000, "20 messages on node a");
    expect(gotA.map((m) => m.payload)).toEqual(Array.from({ length: 20 }, (_, i) => `away-${i}`));

    nats = await startNats([], port);
    await waitFor(() => a.output().includes("cluster: reconnected") && b.output().includes("cluster: reconnected"), 10_000, "both nodes back on NATS");
    // Once back, the group gets new messages once in all, and those of the outage not again.
    await sleep(300);
    for (let i = 0; i < 300 && gotA.length + gotB.length < 21; i++) {
      await pub.publishAsync("away/t", `back-${i}`, { qos: 0 });
      await sleep(20);
    }
    await sleep(300);
    const group = [...gotA, ...gotB].map((m) => m.payload);
    expect(group.filter((p) => p.startsWith("away-"))).toHaveLength(20);
    expect(group.some((p) => p.startsWith("back-"))).toBe(true);
    expect(new Set(group).size).toBe(group.length);
    await Promise.all([memberA, memberB, plainA, pub].map((c) => c.endAsync()));
  });
});
