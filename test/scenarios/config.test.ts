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

  it("refuses an unknown setting in the file, suggesting the one meant and listing the known ones", async () => {
    const { code, output } = await runBrokerExpectingExit(["--config", writeConfig({ listners: [] })]);
    expect(code).toBe(2);
    expect(output).toMatch(/edgemq\.json: listners is not a setting: did you mean "listeners"\? \(allowed here: listeners, /);
  });

  it("refuses an unknown limit, naming its key path and the limit meant", async () => {
    const { code, output } = await runBrokerExpectingExit(["--config", writeConfig({ limits: { maxPacket: 1 } })]);
    expect(code).toBe(2);
    expect(output).toContain('edgemq.json: limits.maxPacket is not a setting: did you mean "maximumPacketSize"?');
  });

  it("lists every problem in the flags, the environment and the file at once, each where it is, and exits with code 2", async () => {
    const file = writeConfig({ limits: { maximumQoS: 1, receiveMaximum: "7" }, logFormat: "xml" });
    const { code, output } = await runBrokerExpectingExit(["--config", file, "--max-keepalive", "soon", "--prot", "1"], { EDGEMQ_PORT: "abc" });
    expect(code).toBe(2);
    const lines = output.trim().split("\n");
    expect(lines[0]).toBe("edgemq: 6 problems in the configuration; fix them all, then start again:");
    expect(lines).toHaveLength(7);
    for (const line of [
      'unknown option "--prot" (did you mean --port?); run with --help to see the options',
      `${file}: limits.receiveMaximum needs a whole number, got "7"`,
      `${file}: logFormat must be text or json, got "xml"`,
      `${file}: limits.maximumQoS is not a setting: remove it, or use one of maximumPacketSize, `,
      'EDGEMQ_PORT needs a whole number, got "abc"',
      '--max-keepalive needs a whole number, got "soon"',
    ]) expect(lines.filter((l) => l.startsWith(`  - ${line}`)), line).toHaveLength(1);
  });

  it("finds the data directory a config file names relative to the file, wherever edgemq starts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgemq-relative-"));
    writeFileSync(join(dir, "edgemq.json"), JSON.stringify({ data: { dir: "data" } }));
    const b = await startBroker(["--config", join(dir, "edgemq.json")]);
    expect(b.output()).toContain(`sqlite (fsync) at ${join(dir, "data", "edgemq.db")}`);
    await b.stop();
  });

  it("warns of a misspelt EDGEMQ_ variable, naming the one meant, and starts", async () => {
    const b = await startBroker([], { EDGEMQ_LOG_LEVL: "debug" });
    expect(b.output()).toContain("edgemq: warning: EDGEMQ_LOG_LEVL is not a setting and is ignored; did you mean EDGEMQ_LOG_LEVEL?");
    await b.stop();
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
