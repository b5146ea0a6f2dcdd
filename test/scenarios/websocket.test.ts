import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { encodePacket, FrameDecoder, type Packet } from "@edgemq/core/codec";
import { collect, connect, waitFor } from "../support/clients.ts";
import { type RunningBroker, startBroker } from "../support/server.ts";

// A WebSocket client that sends raw frames and decodes what comes back.
async function rawWebSocket(url: string, protocols: string[] = ["mqtt"]) {
  const ws = new WebSocket(url, protocols);
  const decoder = new FrameDecoder({ protocolVersion: 5 });
  const received: Packet[] = [];
  let closed = false;
  ws.on("message", (data: Buffer) => {
    decoder.push(new Uint8Array(data));
    for (let p = decoder.next(); p; p = decoder.next()) received.push(p);
  });
  ws.on("close", () => (closed = true));
  ws.on("error", () => {});
  await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); ws.once("unexpected-response", reject); });
  return { ws, received, isClosed: () => closed };
}

const connectBytes = (clientId: string) =>
  encodePacket({ type: "connect", protocolName: "MQTT", protocolVersion: 5, cleanStart: true, keepAlive: 30, clientId });

describe("MQTT over WebSocket", () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker(["--ws-port", "0"]);
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("names the ws:// address in the start-up line", () => {
    expect(broker.ports.ws).toBeGreaterThan(0);
  });

  it("lets an mqtt.js client over ws:// talk to one over TCP, at 5.0 and 3.1.1", async () => {
    for (const protocolVersion of [5, 4] as const) {
      const overWs = await connect(`ws://127.0.0.1:${broker.ports.ws}/mqtt`, { protocolVersion, clientId: `ws-${protocolVersion}` });
      const overTcp = await connect(broker.url, { protocolVersion, clientId: `tcp-${protocolVersion}` });
      const gotWs = collect(overWs), gotTcp = collect(overTcp);
      await overWs.subscribeAsync("ws/down", { qos: 1 });
      await overTcp.subscribeAsync("ws/up", { qos: 1 });
      await overTcp.publishAsync("ws/down", "to the browser", { qos: 1 });
      await overWs.publishAsync("ws/up", "from the browser", { qos: 1 });
      await waitFor(() => gotWs.length === 1 && gotTcp.length === 1);
      expect(gotWs[0]!.payload).toBe("to the browser");
      expect(gotTcp[0]!.payload).toBe("from the browser");
      overWs.end(); overTcp.end();
    }
  });

  it("answers with the mqtt subprotocol [MQTT-6.0.0-4], and mqttv3.1 for old clients", async () => {
    const a = await rawWebSocket(`ws://127.0.0.1:${broker.ports.ws}/`, ["mqtt"]);
    expect(a.ws.protocol).toBe("mqtt");
    a.ws.close();
    const b = await rawWebSocket(`ws://127.0.0.1:${broker.ports.ws}/`, ["mqttv3.1"]);
    expect(b.ws.protocol).toBe("mqttv3.1");
    b.ws.close();
  });

  it("decodes one packet split over several frames [MQTT-6.0.0-2]", async () => {
    const c = await rawWebSocket(`ws://127.0.0.1:${broker.ports.ws}/`);
    const bytes = connectBytes("split-frames");
    for (let i = 0; i < bytes.length; i += 3) c.ws.send(bytes.subarray(i, i + 3), { binary: true });
    await waitFor(() => c.received.length > 0);
    expect(c.received[0]).toMatchObject({ type: "connack", reasonCode: 0 });
    c.ws.close();
  });

  it("decodes several packets in one frame [MQTT-6.0.0-2]", async () => {
    const c = await rawWebSocket(`ws://127.0.0.1:${broker.ports.ws}/`);
    const parts = [
      connectBytes("many-in-one"),
      encodePacket({ type: "subscribe", packetId: 1, subscriptions: [{ topicFilter: "frames/t", qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }] }),
      encodePacket({ type: "pingreq" }),
    ];
    c.ws.send(Buffer.concat(parts), { binary: true });
    await waitFor(() => c.received.length >= 3);
    expect(c.received.map((p) => p.type)).toEqual(["connack", "suback", "pingresp"]);
    c.ws.close();
  });

  it("closes the connection on a text frame [MQTT-6.0.0-1]", async () => {
    const c = await rawWebSocket(`ws://127.0.0.1:${broker.ports.ws}/`);
    c.ws.send("CONNECT please");
    await waitFor(() => c.isClosed());
    expect(c.received).toEqual([]);
  });

  it("answers a plain HTTP request with 426 Upgrade Required", async () => {
    const res = await fetch(`http://127.0.0.1:${broker.ports.ws}/`);
    expect(res.status).toBe(426);
    expect(await res.text()).toContain("MQTT over WebSocket");
  });
});

describe("a WebSocket listener bound to one path", () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker(["--ws-port", "0", "--ws-path", "/mqtt"]);
  });
  afterAll(async () => {
    await broker.stop();
  });

  it("upgrades the configured path and refuses others with 404", async () => {
    const ok = await rawWebSocket(`ws://127.0.0.1:${broker.ports.ws}/mqtt`);
    ok.ws.close();
    await expect(rawWebSocket(`ws://127.0.0.1:${broker.ports.ws}/other`)).rejects.toBeTruthy();
  });
});
