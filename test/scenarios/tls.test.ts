import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, connect, waitFor } from "../support/clients.ts";
import { type Certificates, makeCertificates } from "../support/certs.ts";
import { RUNTIME, type RunningBroker, runBrokerExpectingExit, startBroker } from "../support/server.ts";

let certs: Certificates;
beforeAll(() => {
  certs = makeCertificates();
});

describe("a TLS listener", () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker(["--tls-port", "0", "--tls-cert", certs.serverCert, "--tls-key", certs.serverKey]);
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("names its address in the start-up line beside the TCP one", () => {
    expect(broker.ports.tls).toBeGreaterThan(0);
    expect(broker.output()).toMatch(/tls:\/\/127\.0\.0\.1:\d+/);
  });

  it("carries messages between a client over TLS and a client over plain TCP", async () => {
    const secure = await connect(`mqtts://127.0.0.1:${broker.ports.tls}`, { clientId: "tls-1", ca: readFileSync(certs.caCert), servername: "localhost" });
    const plain = await connect(broker.url, { clientId: "tcp-1" });
    const got = collect(plain);
    await plain.subscribeAsync("tls/x", { qos: 1 });
    await secure.publishAsync("tls/x", "encrypted on the way in", { qos: 1 });
    await waitFor(() => got.length === 1);
    expect(got[0]!.payload).toBe("encrypted on the way in");
    secure.end(); plain.end();
  });

  it("fails the handshake for a client that does not trust the server's CA", async () => {
    await expect(connect(`mqtts://127.0.0.1:${broker.ports.tls}`, { clientId: "tls-untrusting", rejectUnauthorized: true })).rejects.toThrow();
  });
});

// Deno's TLS API cannot ask clients for certificates: there the configuration
// is refused at start, and that refusal is what Deno is tested for instead.
if (RUNTIME === "deno") {
  describe("mutual TLS on Deno", () => {
    it("refuses --tls-client-auth with exit code 2, because Deno's TLS API cannot request client certificates", async () => {
      const { code, output } = await runBrokerExpectingExit(["--port", "0", "--tls-port", "0", "--tls-cert", certs.serverCert, "--tls-key", certs.serverKey, "--tls-ca", certs.caCert, "--tls-client-auth"]);
      expect(code).toBe(2);
      expect(output).toContain("Deno's TLS API cannot request client certificates");
      expect(output).toContain("run edgemq on Node or Bun for mutual TLS");
    });
  });
} else describe("a TLS listener that requires client certificates", () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker(["--tls-port", "0", "--tls-cert", certs.serverCert, "--tls-key", certs.serverKey, "--tls-ca", certs.caCert, "--tls-client-auth"]);
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("accepts a client whose certificate the configured CA signed", async () => {
    const c = await connect(`mqtts://127.0.0.1:${broker.ports.tls}`, {
      clientId: "device-1", ca: readFileSync(certs.caCert), servername: "localhost",
      cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey),
    });
    expect(c.connected).toBe(true);
    c.end();
  });

  it("refuses a client without a certificate, and one whose certificate another CA signed", async () => {
    await expect(connect(`mqtts://127.0.0.1:${broker.ports.tls}`, { clientId: "no-cert", ca: readFileSync(certs.caCert), servername: "localhost" })).rejects.toThrow();
    await expect(connect(`mqtts://127.0.0.1:${broker.ports.tls}`, {
      clientId: "stranger", ca: readFileSync(certs.caCert), servername: "localhost",
      cert: readFileSync(certs.strangerCert), key: readFileSync(certs.strangerKey),
    })).rejects.toThrow();
  });
});

describe("TLS configuration mistakes", () => {
  it("asks for the key when only a certificate is given", async () => {
    const { code, output } = await runBrokerExpectingExit(["--port", "0", "--tls-port", "0", "--tls-cert", "server.crt"]);
    expect(code).toBe(2);
    expect(output).toContain("needs a certificate and a key: pass --tls-cert <file> and --tls-key <file>");
  });

  it("asks for a CA bundle when client certificates are required", async () => {
    const { code, output } = await runBrokerExpectingExit(["--port", "0", "--tls-port", "0", "--tls-cert", certs.serverCert, "--tls-key", certs.serverKey, "--tls-client-auth"]);
    expect(code).toBe(2);
    expect(output).toContain("needs a CA bundle: pass --tls-ca <file>");
  });

  it("names a certificate file that does not exist", async () => {
    const { code, output } = await runBrokerExpectingExit(["--port", "0", "--tls-port", "0", "--tls-cert", "/nonexistent/server.crt", "--tls-key", certs.serverKey]);
    expect(code).toBe(1);
    expect(output).toMatch(/cannot listen on tls:\/\/127\.0\.0\.1:0: .*\/nonexistent\/server\.crt.*check the certificate and key paths/);
  });
});
