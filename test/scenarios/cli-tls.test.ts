// `edgemq pub`/`sub` over TLS with mosquitto's --cafile, --cert and --key:
// the real binary against a real server's TLS listener, and through a TLS
// front that demands a client certificate (the CLI runs on Node whatever
// runtime serves, so the front is Node's, in front of the broker's TCP port).
import { readFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { createServer as createTlsServer, type Server } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";
import { type Certificates, makeCertificates } from "../support/certs.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

let certs: Certificates;
let server: RunningBroker;
let front: Server;
let frontPort: number;
const seen: string[] = []; // the client certificates' subjects the front accepted

beforeAll(async () => {
  certs = makeCertificates();
  server = await startBroker(["--tls-port", "0", "--tls-cert", certs.serverCert, "--tls-key", certs.serverKey, "--sys-interval", "0"]);
  front = createTlsServer({
    cert: readFileSync(certs.serverCert), key: readFileSync(certs.serverKey), ca: readFileSync(certs.caCert),
    requestCert: true, rejectUnauthorized: true,
  }, (socket) => {
    seen.push(String(socket.getPeerCertificate().subject?.CN));
    const upstream = tcpConnect(server.port, server.host);
    socket.pipe(upstream).pipe(socket);
    socket.on("error", () => upstream.destroy());
    upstream.on("error", () => socket.destroy());
  });
  front.on("tlsClientError", () => {});
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
  frontPort = (front.address() as { port: number }).port;
}, 30_000);

afterAll(async () => {
  front?.close();
  await server?.stop();
});

describe("TLS flags", () => {
  it("turns on TLS for -h/-p with --cafile and verifies the broker with it, like mosquitto_pub", async () => {
    const tls = String(server.ports.tls);
    const ok = await runCli(["pub", "-h", "127.0.0.1", "-p", tls, "--cafile", certs.caCert, "-t", "tls/a", "-m", "x", "-q", "1"]);
    expect(ok).toMatchObject({ code: 0, stderr: "", stdout: 'Published 1 byte to "tls/a" (QoS 1).\n' });
    const unverified = await runCli(["pub", "--url", `mqtts://127.0.0.1:${tls}`, "-t", "tls/a", "-m", "x"]);
    expect(unverified.code).toBe(1);
    expect(unverified.stderr).toMatch(/^edgemq: TLS with mqtts:\/\/127\.0\.0\.1:\d+ failed \(.*\): pass --cafile <file> with the server's CA, or --insecure\n$/);
    const insecure = await runCli(["pub", "--url", `mqtts://127.0.0.1:${tls}`, "--insecure", "-t", "tls/a", "-m", "x", "-q", "1"]);
    expect(insecure.code).toBe(0);
    const plain = await runCli(["pub", "--url", "mqtt://127.0.0.1:1", "--cafile", certs.caCert, "-t", "a", "-m", "x"]);
    expect(plain).toMatchObject({ code: 2, stdout: "" });
    expect(plain.stderr).toMatch(/^edgemq: --cafile, --cert and --insecure are for TLS, but --url "mqtt:\/\/127\.0\.0\.1:1" is not mqtts:\/\/ or wss:\/\//);
  });

  it("presents the client certificate of --cert and --key to a TLS server that asks for one", async () => {
    const port = String(frontPort);
    const ok = await runCli(["pub", "-h", "127.0.0.1", "-p", port, "--cafile", certs.caCert, "--cert", certs.clientCert, "--key", certs.clientKey, "-t", "tls/b", "-m", "x", "-q", "1"]);
    expect(ok).toMatchObject({ code: 0, stderr: "" });
    expect(seen).toEqual(["device-1"]);
    const without = await runCli(["pub", "-h", "127.0.0.1", "-p", port, "--cafile", certs.caCert, "-t", "tls/b", "-m", "x", "-q", "1"]);
    expect(without.code).toBe(1);
    expect(without.stdout).toBe("");
    expect(without.stderr).toMatch(/^edgemq: TLS with mqtts:\/\/127\.0\.0\.1:\d+ failed \([^)]*certificate[^)]*\): the broker asks for a client certificate its CA signed; pass --cert <file> and --key <file>\n$/);
    expect(seen).toEqual(["device-1"]);
    const half = await runCli(["pub", "-p", port, "--cert", certs.clientCert, "-t", "a", "-m", "x"]);
    expect(half).toMatchObject({ code: 2, stdout: "" });
    expect(half.stderr).toMatch(/^edgemq: give --cert and --key together/);
  });
});
