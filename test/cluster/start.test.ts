// Starting an edgemq node with --cluster: what it says, how it names itself,
// and a NATS server that is absent or wants a password.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PublishPacket } from "@edgemq/core/codec";
import { RawClient, waitFor } from "../support/clients.ts";
import { freePort, type RunningNats, startNats } from "../support/nats.ts";
import { runBrokerExpectingExit, startBroker } from "../support/server.ts";

const enc = new TextEncoder();
const publishes = (raw: RawClient) => raw.received.filter((p): p is PublishPacket => p.type === "publish");

let nats: RunningNats;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats?.stop();
});

describe("starting a node", () => {
  it("refuses to start when no NATS server answers, saying what to do", async () => {
    const port = await freePort();
    const { code, output } = await runBrokerExpectingExit(["--port", "0", "--cluster", `nats://127.0.0.1:${port}`]);
    expect(code).toBe(1);
    expect(output).toContain(`cannot reach the NATS cluster at nats://127.0.0.1:${port}`);
    expect(output).toContain("start nats-server");
  });

  it("joins a NATS server that wants a user and password given in the URL, and never prints the password", async () => {
    const guarded = await startNats(["--user", "edgemq", "--pass", "s3cret-pass"]);
    try {
      const bad = await runBrokerExpectingExit(["--port", "0", "--cluster", guarded.url.replace("//", "//edgemq:wrong-pass@")]);
      expect(bad.code).toBe(1);
      expect(bad.output).toContain(`cannot reach the NATS cluster at nats://edgemq:***@127.0.0.1:${guarded.port}`);
      expect(bad.output).not.toContain("wrong-pass");
      const [c, d] = await Promise.all(["pw-c", "pw-d"].map((id) => startBroker(["--cluster", guarded.url.replace("//", "//edgemq:s3cret-pass@"), "--node-id", id, "--sys-interval", "0"])));
      expect(c!.output()).toContain(`cluster: nats://edgemq:***@127.0.0.1:${guarded.port} as node pw-c`);
      expect(c!.output() + d!.output()).not.toContain("s3cret-pass");
      const sub = await RawClient.open(c!.port, 5);
      await sub.connect("pw-sub");
      sub.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "pw/t", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
      await sub.next("suback");
      const pub = await RawClient.open(d!.port, 5);
      await pub.connect("pw-pub");
      pub.send({ type: "publish", topic: "pw/t", payload: enc.encode("through a guarded NATS"), qos: 1, retain: false, dup: false, packetId: 1 });
      await waitFor(() => publishes(sub).length === 1, 3000, "the message");
      sub.close(); pub.close();
      await Promise.all([c!.stop(), d!.stop()]);
    } finally {
      await guarded.stop();
    }
  });

  it("names the node after its host and MQTT port when --node-id is not given", async () => {
    const c = await startBroker(["--cluster", nats.url, "--sys-interval", "0"]);
    expect(c.output()).toMatch(new RegExp(`cluster: ${nats.url} as node [^\\s:]+:${c.port}, 1 node seen`));
    await c.stop();
  });
});
