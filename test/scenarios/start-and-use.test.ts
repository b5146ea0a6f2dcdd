import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, connect, mosquittoPub, mosquittoSub, RawClient, waitFor } from "../support/clients.ts";
import { type RunningBroker, runBrokerExpectingExit, startBroker } from "../support/server.ts";

describe("starting edgemq and using it with real clients", () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("prints a start-up line naming the address, the auth mode and the store", () => {
    expect(broker.output()).toMatch(/listening on tcp:\/\/127\.0\.0\.1:\d+(, ws:\/\/127\.0\.0\.1:\d+)? \| preset full, auth: anonymous allowed, store: memory \(not durable\)/);
  });

  it("carries a message from mosquitto_pub to mosquitto_sub at 3.1.1 and 5.0", async () => {
    for (const version of ["mqttv311", "mqttv5"]) {
      const sub = mosquittoSub(["-h", "127.0.0.1", "-p", String(broker.port), "-V", version, "-t", `smoke/${version}`, "-C", "1", "-q", "1"]);
      // mosquitto_sub has no "subscribed" signal on stdout: retry the publish until it lands.
      await waitFor(() => sub.lines().length > 0 || (void mosquittoPub(["-h", "127.0.0.1", "-p", String(broker.port), "-V", version, "-t", `smoke/${version}`, "-m", "hello", "-q", "1"]), false), 5000, "mosquitto_sub to print").catch(() => {});
      await sub.exited;
      expect(sub.lines()[0]).toBe("hello");
    }
  });

  it("lets a 3.1.1 client and a 5.0 client exchange messages both ways", async () => {
    const v4 = await connect(broker.url, { protocolVersion: 4, clientId: "interop-v4" });
    const v5 = await connect(broker.url, { protocolVersion: 5, clientId: "interop-v5" });
    const got4 = collect(v4), got5 = collect(v5);
    await v4.subscribeAsync("interop/to4", { qos: 1 });
    await v5.subscribeAsync("interop/to5", { qos: 1 });
    await v5.publishAsync("interop/to4", "from five", { qos: 1, properties: { userProperties: { a: "b" } } });
    await v4.publishAsync("interop/to5", "from four", { qos: 1 });
    await waitFor(() => got4.length === 1 && got5.length === 1);
    expect(got4[0]).toMatchObject({ topic: "interop/to4", payload: "from five" });
    expect(got5[0]).toMatchObject({ topic: "interop/to5", payload: "from four" });
    v4.end(); v5.end();
  });

  it("answers SIGTERM with DISCONNECT 0x8B (Server shutting down) to 5.0 clients and exits 0", async () => {
    const own = await startBroker();
    const raw = await RawClient.open(own.port, 5);
    expect((await raw.connect("bye")).reasonCode).toBe(0);
    const code = own.stop("SIGTERM");
    const d = await raw.next("disconnect");
    expect(d.reasonCode).toBe(0x8b);
    expect(await code).toBe(0);
  });
});

describe("refusing bad configuration with a message that says what to do", () => {
  it("refuses to listen on a public address with no authentication", async () => {
    const { code, output } = await runBrokerExpectingExit(["--host", "0.0.0.0", "--port", "0"]);
    expect(code).toBe(2);
    expect(output).toMatch(/refusing to listen on 0\.0\.0\.0:0 with no authentication/);
    expect(output).toMatch(/--allow-anonymous/);
  });

  it("names an unknown flag", async () => {
    const { code, output } = await runBrokerExpectingExit(["--prot", "1"]);
    expect(code).toBe(2);
    expect(output).toContain('unknown option "--prot"');
  });

  it("names a bad number", async () => {
    const { code, output } = await runBrokerExpectingExit(["--port", "http"]);
    expect(code).toBe(2);
    expect(output).toContain('--port needs a whole number, got "http"');
  });

  it("names a port that is taken", async () => {
    const first = await startBroker();
    const { code, output } = await runBrokerExpectingExit(["--port", String(first.port)]);
    await first.stop();
    expect(code).toBe(1);
    expect(output).toMatch(/EADDRINUSE.*pick another with --port/);
  });
});
