import { mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RawClient, sleep } from "../support/clients.ts";
import { runBrokerExpectingExit, startBroker, writeConfig } from "../support/server.ts";


// A port that was free a moment ago, for tests that must name one.
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe("configuration from the environment, a file and flags", () => {
  it("listens where EDGEMQ_HOST and EDGEMQ_PORT say", async () => {
    const port = await freePort();
    const b = await startBroker([], { EDGEMQ_PORT: String(port), EDGEMQ_HOST: "127.0.0.1" }, { autoPort: false });
    expect(b.port).toBe(port);
    await b.stop();
  });

  it("lets a flag override the environment", async () => {
    const [envPort, flagPort] = [await freePort(), await freePort()];
    const b = await startBroker(["--port", String(flagPort)], { EDGEMQ_PORT: String(envPort) });
    expect(b.port).toBe(flagPort);
    await b.stop();
  });

  it("takes listeners, limits and users from a JSON file named by --config", async () => {
    const port = await freePort();
    const path = writeConfig({
      listeners: [{ protocol: "tcp", host: "127.0.0.1", port }],
      users: [{ username: "u", password: "p" }],
      limits: { maximumPacketSize: 4096, receiveMaximum: 7 },
    });
    const b = await startBroker(["--config", path], {}, { autoPort: false });
    expect(b.port).toBe(port);
    expect(b.output()).toContain("auth: 1 user(s)");
    const raw = await RawClient.open(b.port, 5);
    const ack = await raw.connect("cfg", { username: "u", password: new TextEncoder().encode("p") });
    expect(ack.reasonCode).toBe(0);
    expect(ack.properties).toMatchObject({ maximumPacketSize: 4096, receiveMaximum: 7 });
    raw.close();
    await b.stop();
  });

  it("reads the file named by EDGEMQ_CONFIG", async () => {
    const path = writeConfig({ limits: { receiveMaximum: 9 } });
    const b = await startBroker([], { EDGEMQ_CONFIG: path });
    const raw = await RawClient.open(b.port, 5);
    expect((await raw.connect("env-cfg")).properties?.receiveMaximum).toBe(9);
    raw.close();
    await b.stop();
  });

  it("queues QoS 0 messages for offline sessions only when queueQos0 is set", async () => {
    for (const queueQos0 of [false, true]) {
      const b = await startBroker(["--config", writeConfig({ limits: { queueQos0 } })]);
      const opts = { cleanStart: false, properties: { sessionExpiryInterval: 60 } };
      const sub = await RawClient.open(b.port, 5);
      await sub.connect("q0", opts);
      sub.send({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "q0/t", qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
      await sub.next("suback");
      sub.send({ type: "disconnect", reasonCode: 0 });
      await sub.waitClosed();
      const pub = await RawClient.open(b.port, 5);
      await pub.connect("q0-pub");
      pub.send({ type: "publish", topic: "q0/t", payload: new TextEncoder().encode("while away"), qos: 0, retain: false, dup: false });
      await sleep(100);
      const back = await RawClient.open(b.port, 5);
      expect((await back.connect("q0", opts)).sessionPresent).toBe(true);
      await sleep(300);
      expect(back.received.filter((p) => p.type === "publish")).toHaveLength(queueQos0 ? 1 : 0);
      pub.close(); back.close();
      await b.stop();
    }
  });

  it("refuses a config file that is not JSON, naming the file and the fix", async () => {
    const path = writeConfig("{ listeners: oops }");
    const { code, output } = await runBrokerExpectingExit(["--config", path]);
    expect(code).toBe(2);
    expect(output).toContain(`${path} is not valid JSON`);
  });

  it("refuses an unknown setting in the file and lists the known ones", async () => {
    const { code, output } = await runBrokerExpectingExit(["--config", writeConfig({ listners: [] })]);
    expect(code).toBe(2);
    expect(output).toMatch(/unknown setting "listners"; known settings are listeners, /);
  });

  it("refuses an unknown limit", async () => {
    const { code, output } = await runBrokerExpectingExit(["--config", writeConfig({ limits: { maxPacket: 1 } })]);
    expect(code).toBe(2);
    expect(output).toContain('unknown limit "maxPacket"');
  });

  it("names a config file that cannot be read", async () => {
    const { code, output } = await runBrokerExpectingExit(["--config", "/nonexistent/edgemq.json"]);
    expect(code).toBe(2);
    expect(output).toContain("cannot read config file /nonexistent/edgemq.json");
  });

  it("prints the options with --help and exits 0", async () => {
    const { code, output } = await runBrokerExpectingExit(["--help"]);
    expect(code).toBe(0);
    expect(output).toContain("Usage: edgemq [options]");
    expect(output).toContain("--allow-anonymous");
  });
});
