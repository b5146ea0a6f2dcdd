// `edgemq pub` never hangs: a broker that accepts the connection and then
// answers nothing ends the command within its 10 s bound, with exit 1. The
// peer is a bare TCP server that sends a CONNACK and reads the rest (a real
// broker cannot be made to withhold an acknowledgement).
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";

let silent: Server;
let port: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  silent = createServer((socket) => {
    sockets.push(socket);
    // CONNACK for MQTT 5: no session present, success, no properties; then silence.
    socket.once("data", () => socket.write(Buffer.from([0x20, 0x03, 0x00, 0x00, 0x00])));
    socket.on("error", () => {});
  });
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  port = String((silent.address() as { port: number }).port);
});

afterAll(() => {
  for (const s of sockets) s.destroy();
  silent?.close();
});

describe("bounded waits", () => {
  it("gives up on a QoS 1 message and a subscription nobody acknowledges within 10 s, with exit 1 and no Published", async () => {
    const started = Date.now();
    const [r, sub] = await Promise.all([runCli(["pub", "-p", port, "-t", "t", "-m", "x", "-q", "1"]), runCli(["sub", "-p", port, "-t", "t/#"])]);
    expect(sub.code).toBe(1);
    expect(sub.stderr).toBe(`edgemq: no answer (SUBACK) from the broker at mqtt://127.0.0.1:${port} within 10 s to the subscription\n`);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe('edgemq: no acknowledgement from the broker at mqtt://127.0.0.1:' + port + ' within 10 s for the message on "t"\n');
    expect(Date.now() - started).toBeLessThan(25_000);
  }, 30_000);
});
