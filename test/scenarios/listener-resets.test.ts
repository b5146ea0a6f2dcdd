// Issue 18, defect 1: a client that connects and at once resets the
// connection (RST) must not stop a listener from accepting. On Deno a reset
// in the accept queue made the accept fail (ENOTCONN), and that ended the
// accept loop for good, silently.
import net from "node:net";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, connect, waitFor } from "../support/clients.ts";
import { type Certificates, makeCertificates } from "../support/certs.ts";
import { type RunningBroker, startBroker, TRANSPORT } from "../support/server.ts";

const CLIENTS = 20;
const ROUNDS = 3;

// Opens `count` connections, waits until all are established, then resets them all at once.
async function connectAndReset(port: number, count: number): Promise<void> {
  const sockets = await Promise.all(Array.from({ length: count }, () => new Promise<net.Socket | undefined>((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => resolve(s));
    s.on("error", () => resolve(undefined));
  })));
  for (const s of sockets) s?.resetAndDestroy();
}

// A normal client round trip: subscribe, publish at QoS 1, receive.
async function roundTrip(url: string, options: Parameters<typeof connect>[1], topic: string): Promise<void> {
  const client = await connect(url, { ...options, connectTimeout: 3000 });
  const got = collect(client);
  await client.subscribeAsync(topic, { qos: 1 });
  await client.publishAsync(topic, "still accepting", { qos: 1 });
  await waitFor(() => got.length === 1, 3000, "the message back");
  expect(got[0]!.payload).toBe("still accepting");
  await client.endAsync();
}

describe("a listener after clients that connect and reset at once", () => {
  let certs: Certificates;
  let broker: RunningBroker;
  beforeAll(async () => {
    certs = makeCertificates();
    broker = await startBroker(["--tls-port", "0", "--tls-cert", certs.serverCert, "--tls-key", certs.serverKey]);
  });
  afterAll(async () => {
    await broker.stop();
  });

  it(`keeps accepting plain connections after ${ROUNDS} rounds of ${CLIENTS} resets, and a normal client publishes and receives`, async () => {
    // Over ws the resets go to the WebSocket listener itself, not to the test's bridge.
    const port = TRANSPORT === "ws" ? broker.ports.ws! : broker.ports.tcp!;
    for (let round = 0; round < ROUNDS; round++) {
      await connectAndReset(port, CLIENTS);
      await roundTrip(broker.url, { clientId: `after-resets-${round}` }, `resets/plain/${round}`);
    }
    expect(broker.process.exitCode).toBe(null);
  });

  it(`keeps accepting TLS connections after ${ROUNDS} rounds of ${CLIENTS} resets before the handshake`, async () => {
    const url = `mqtts://127.0.0.1:${broker.ports.tls}`;
    const tls = { ca: readFileSync(certs.caCert), servername: "localhost" };
    for (let round = 0; round < ROUNDS; round++) {
      await connectAndReset(broker.ports.tls!, CLIENTS);
      await roundTrip(url, { ...tls, clientId: `tls-after-resets-${round}` }, `resets/tls/${round}`);
    }
  });
});
