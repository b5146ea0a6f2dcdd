// The attack of issue 18 (defect 3) against a real server: connections that
// announce huge PUBLISHes and hold them half sent. The process-wide budget
// (--memory-budget) bounds what they can pile up, refuses the connection that
// passes it with DISCONNECT 0x97, and /metrics counts it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, waitFor } from "../support/clients.ts";
import { RUNTIME, type RunningBroker, startBroker, TRANSPORT } from "../support/server.ts";

const MB = 1_000_000;
const HUGE = 268_435_455; // the most MQTT can express

// A PUBLISH's first bytes announcing `payload` bytes on topic "t" (5.0: an empty property length).
function publishHeader(payload: number): Uint8Array {
  const remaining = 2 + 1 + 1 + payload;
  const vbi: number[] = [];
  for (let n = remaining; ; ) {
    const byte = n % 128;
    n = Math.floor(n / 128);
    vbi.push(n > 0 ? byte | 0x80 : byte);
    if (n === 0) break;
  }
  return Uint8Array.from([0x30, ...vbi, 0, 1, 0x74, 0]);
}

// Sends `bytes` of payload in 1 MB writes, stopping early once the server closed the socket.
async function sendPayload(client: RawClient, bytes: number): Promise<void> {
  const chunk = new Uint8Array(MB);
  for (let sent = 0; sent < bytes && !client.closed; sent += MB) {
    if (!client.socket.write(chunk)) await new Promise((r) => client.socket.once("drain", r).once("close", r));
  }
}

describe("a server-wide memory budget", () => {
  let server: RunningBroker;
  beforeAll(async () => {
    server = await startBroker([
      "--max-packet-size", String(HUGE), "--tenant-ceiling", `max_message_size=${HUGE}`,
      "--memory-budget", String(40 * MB), "--admin-port", "0", "--metrics-public", "--sys-interval", "0",
    ]);
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("bounds what half-sent 200 MB PUBLISHes hold, refusing the connection that passes it with DISCONNECT 0x97", async () => {
    const clients: RawClient[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await RawClient.open(server.port, 5);
      expect((await c.connect(`hoarder-${i}`)).reasonCode).toBe(0);
      c.sendBytes(publishHeader(200 * MB));
      clients.push(c);
    }
    // 30 MB each, 90 MB in all, against a 40 MB budget: whatever the order, two pass it and
    // are refused (their bytes go back at once), and the third holds its 30 MB.
    await Promise.all(clients.map((c) => sendPayload(c, 30 * MB)));
    await waitFor(() => clients.filter((c) => c.closed).length >= 2, 10_000, "two of the three to be refused");
    const refused = clients.filter((c) => c.closed);
    expect(refused).toHaveLength(2);
    // Deno's WebSocket API cannot half-close: a client still flooding when it is closed gets a
    // reset, which the kernel lets overtake the DISCONNECT frame. Every other runtime and transport delivers it.
    if (!(RUNTIME === "deno" && TRANSPORT === "ws")) {
      for (const c of refused) expect(c.received.find((p) => p.type === "disconnect")).toMatchObject({ type: "disconnect", reasonCode: 0x97 });
    }
    const metrics = await (await fetch(`http://127.0.0.1:${server.ports.http}/metrics`)).text();
    expect(metrics).toMatch(/edgemq_memory_budget_bytes 40000000/);
    expect(metrics).toMatch(/edgemq_memory_budget_refusals_total\{kind="partial_packets"\} 2\n/);
    // The survivor's partial packet (its last bytes may still be crossing the WebSocket bridge), never more than the budget.
    const held = Number(/edgemq_memory_held_bytes\{kind="partial_packets"\} (\d+)/.exec(metrics)![1]);
    expect(held).toBeGreaterThan(20 * MB);
    expect(held).toBeLessThanOrEqual(31 * MB);
    for (const c of clients) c.close();
    // Closed connections give their bytes back.
    let after = held;
    for (let i = 0; i < 50 && after > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = Number(/edgemq_memory_held_bytes\{kind="partial_packets"\} (\d+)/.exec(await (await fetch(`http://127.0.0.1:${server.ports.http}/metrics`)).text())![1]);
    }
    expect(after).toBe(0);
  }, 60_000);
});
