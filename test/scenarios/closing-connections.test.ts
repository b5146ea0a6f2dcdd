// Issue 18, defect 10: once the broker closes a connection it stops reading
// it (after a small limit), and the core hears of the close at once, so the
// will of a client the broker disconnected goes now, not when the socket
// finally ends (up to the 2 s close bound later).
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePacket, FrameDecoder, type Packet } from "@edgemq/core/codec";
import { collect, connect, sleep, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

// A reserved packet type (0): a malformed packet, which the broker answers with DISCONNECT and a close.
const MALFORMED = [0x00, 0x00];
const FLOOD_MS = 1500; // under the 2 s close bound, so the cut-off is not what stops the reading

// What a flooding client can write to a peer that reads nothing: its own send
// buffer and the broker's receive buffer (a few MiB each on loopback), plus the
// broker's read limit. A broker that reads on takes gigabytes in the same time.
const KERNEL_BUFFERS = 16 * 1024 * 1024;

/** Writes as fast as the socket takes it for `ms`; returns the bytes written. */
async function flood(socket: net.Socket, ms: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024);
  const until = Date.now() + ms;
  let sent = 0;
  while (Date.now() < until && !socket.destroyed) {
    if (socket.write(chunk)) sent += chunk.byteLength;
    else await Promise.race([new Promise((r) => socket.once("drain", r)), sleep(50)]);
  }
  return sent;
}

/**
 * A client socket that keeps its side open after the broker's FIN (a peer gone
 * away, a careless or a hostile one), with the packets it receives.
 */
async function halfOpenClient(port: number, clientId: string, will?: { topic: string; payload: string }): Promise<{ socket: net.Socket; got: Packet[] }> {
  const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
  await new Promise((resolve) => socket.once("connect", resolve));
  const decoder = new FrameDecoder({ protocolVersion: 5 });
  const got: Packet[] = [];
  socket.on("data", (chunk) => {
    decoder.push(new Uint8Array(chunk));
    for (let p = decoder.next(); p; p = decoder.next()) got.push(p);
  });
  socket.on("error", () => {});
  socket.write(encodePacket({
    type: "connect", protocolName: "MQTT", protocolVersion: 5, cleanStart: true, keepAlive: 60, clientId,
    will: will && { topic: will.topic, payload: new TextEncoder().encode(will.payload), qos: 1, retain: false },
  }, 5));
  await waitFor(() => got.some((p) => p.type === "connack"), 3000, "the CONNACK");
  return { socket, got };
}

describe("a connection the broker closes", () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("is read no further than a small bound while its client floods after the DISCONNECT, which still reaches the client", async () => {
    const { socket, got } = await halfOpenClient(broker.ports.tcp!, "flooder");
    socket.write(Uint8Array.from(MALFORMED));
    // Counted at the client: /proc/<pid>/io's rchar misses the recv() calls that Bun and Deno read sockets with.
    const sent = await flood(socket, FLOOD_MS);
    const disconnect = got.find((p) => p.type === "disconnect");
    expect(disconnect?.type === "disconnect" && disconnect.reasonCode).toBe(0x81);
    expect(sent, `the client sent ${sent} bytes in ${FLOOD_MS} ms after its malformed packet`).toBeLessThan(KERNEL_BUFFERS);
    socket.destroy();
  });

  it("publishes the will of a client it disconnected at once, although the client keeps its side open", async () => {
    const subscriber = await connect(broker.url, { clientId: "will-watcher" });
    const wills = collect(subscriber);
    await subscriber.subscribeAsync("closing/will", { qos: 1 });
    const { socket, got } = await halfOpenClient(broker.ports.tcp!, "doomed", { topic: "closing/will", payload: "gone" });
    const start = Date.now();
    socket.write(Uint8Array.from(MALFORMED));
    await waitFor(() => wills.length === 1, 3000, "the will");
    const took = Date.now() - start;
    expect(wills[0]!.payload).toBe("gone");
    expect(took, `the will came ${took} ms after the broker disconnected its client`).toBeLessThan(500);
    expect(got.some((p) => p.type === "disconnect")).toBe(true);
    socket.destroy();
    await subscriber.endAsync();
  });
});
