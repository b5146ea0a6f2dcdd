// The open-file limit caps connections (each is a descriptor), and past it the
// runtimes drop new connections without a word: the server says so itself, at
// start when the limit is low, and when the descriptors in use near it; and it
// goes on serving once they are freed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, sleep, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

const LIMIT = 256;
let broker: RunningBroker;
beforeAll(async () => {
  broker = await startBroker(["--sys-interval", "0"], {}, { openFilesLimit: LIMIT });
});
afterAll(async () => {
  await broker?.stop();
});

describe("a server started with a low open-file limit", () => {
  it("names the limit and the fix at start", () => {
    expect(broker.output()).toMatch(new RegExp(`warn edgemq: the open-file limit is ${LIMIT}, so this server can hold fewer than ${LIMIT} connections; raise it .*ulimit -n`));
  });

  it("warns once as the connections near the limit, and takes clients again once they are gone", async () => {
    const clients: RawClient[] = [];
    try {
      // Up to the limit and past it: the last ones may be dropped by the operating system.
      for (let i = 0; i < LIMIT; i++) {
        const c = await RawClient.open(broker.ports.tcp!).catch(() => undefined);
        if (c === undefined) break;
        clients.push(c);
        c.send({ type: "connect", protocolName: "MQTT", protocolVersion: 5, cleanStart: true, keepAlive: 60, clientId: `fd-${i}` });
      }
      await waitFor(() => /open files are in use \(\d+%\), about \d+ of them connections/.test(broker.output()), 10_000, "the warning about open files in use");
      const warning = /warn edgemq: (\d+) of 256 open files are in use \((\d+)%\).*ulimit -n/.exec(broker.output());
      expect(warning, broker.output().slice(-2000)).not.toBeNull();
      expect(Number(warning![2])).toBeGreaterThanOrEqual(90);
    } finally {
      for (const c of clients) c.socket.destroy();
    }
    // Said once while the descriptors stay near the limit.
    expect(broker.output().match(/open files are in use/g)).toHaveLength(1);
    await sleep(1000); // the sockets closed by the test reach the server
    const again = await RawClient.open(broker.ports.tcp!);
    try {
      expect((await again.connect("after")).reasonCode).toBe(0);
    } finally {
      again.socket.destroy();
    }
  }, 30_000);
});
