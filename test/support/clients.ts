// Real MQTT clients for scenario tests: mqtt.js, Mosquitto's command-line
// clients, and a raw socket for byte-level checks.
import { execFile, spawn } from "node:child_process";
import net from "node:net";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { encodePacket, FrameDecoder, type Packet, type ProtocolVersion } from "@edgemq/core/codec";

/** Connects an mqtt.js client and waits for CONNACK (rejects on error or 5 s). */
export function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 5, ...options });
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("error", (e) => { client.end(true); reject(e); });
    client.once("close", () => reject(new Error("connection closed before CONNACK")));
  });
}

/** Collects messages an mqtt.js client receives. */
export function collect(client: MqttClient): { topic: string; payload: string; packet: mqtt.IPublishPacket }[] {
  const got: { topic: string; payload: string; packet: mqtt.IPublishPacket }[] = [];
  client.on("message", (topic, payload, packet) => got.push({ topic, payload: payload.toString(), packet }));
  return got;
}

/** Waits until `check` is true, polling every 10 ms, for at most `ms`. */
export async function waitFor(check: () => boolean, ms = 3000, what = "condition"): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Sleeps. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs mosquitto_pub with arguments; resolves with its exit code and output. */
export function mosquittoPub(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile("mosquitto_pub", args, { timeout: 10_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

/** Starts mosquitto_sub; `lines()` returns what it printed, `stop()` ends it. */
export function mosquittoSub(args: string[]): { lines(): string[]; stop(): Promise<void>; exited: Promise<number | null> } {
  const child = spawn("mosquitto_sub", args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once("close", (c) => r(c)));
  const kill = setTimeout(() => child.kill("SIGKILL"), 30_000);
  return {
    lines: () => out.split("\n").filter((l) => l.length > 0),
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
      clearTimeout(kill);
    },
    exited,
  };
}

/** mosquitto_sub -d with line-buffered output, so "received SUBACK" shows while it runs. */
export function mosquittoSubDebug(args: string[]): { lines(): string[]; exited: Promise<number | null> } {
  const child = spawn("stdbuf", ["-oL", "mosquitto_sub", "-d", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const exited = new Promise<number | null>((r) => child.once("close", (c) => { clearTimeout(kill); r(c); }));
  return { lines: () => out.split("\n").filter((l) => l.length > 0), exited };
}

/**
 * A raw client over a real socket that sends packets (or bytes) and reads
 * decoded packets back, for checks mqtt.js would smooth over.
 */
export class RawClient {
  readonly socket: net.Socket;
  readonly received: Packet[] = [];
  closed = false;
  error: unknown;
  #decoder: FrameDecoder;
  version: ProtocolVersion;

  private constructor(socket: net.Socket, version: ProtocolVersion) {
    this.socket = socket;
    this.version = version;
    this.#decoder = new FrameDecoder({ protocolVersion: version });
    socket.on("data", (chunk) => {
      this.#decoder.push(new Uint8Array(chunk));
      try {
        for (let p = this.#decoder.next(); p; p = this.#decoder.next()) this.received.push(p);
      } catch (e) {
        this.error = e;
      }
    });
    socket.on("close", () => (this.closed = true));
    socket.on("error", () => {});
  }

  /** Opens a socket to host:port. */
  static open(port: number, version: ProtocolVersion = 5, host = "127.0.0.1"): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => resolve(new RawClient(s, version)));
      s.once("error", reject);
    });
  }

  /** Sends a packet encoded at this client's version. */
  send(p: Packet): void {
    this.socket.write(encodePacket(p, this.version));
  }

  /** Sends raw bytes. */
  sendBytes(bytes: number[] | Uint8Array): void {
    this.socket.write(Uint8Array.from(bytes));
  }

  /** Waits for the next packet of a type (removing it from `received`). */
  async next<T extends Packet["type"]>(type: T, ms = 3000): Promise<Extract<Packet, { type: T }>> {
    await waitFor(() => this.received.some((p) => p.type === type) || this.closed, ms, `a ${type.toUpperCase()}`);
    const i = this.received.findIndex((p) => p.type === type);
    if (i < 0) throw new Error(`the connection closed without a ${type.toUpperCase()}; received: ${this.received.map((p) => p.type).join(", ")}`);
    return this.received.splice(i, 1)[0] as Extract<Packet, { type: T }>;
  }

  /** Waits for the server to close the socket. */
  async waitClosed(ms = 3000): Promise<void> {
    await waitFor(() => this.closed, ms, "the server to close the connection");
  }

  /** Sends CONNECT and returns the CONNACK. */
  async connect(clientId: string, extra: Partial<Extract<Packet, { type: "connect" }>> = {}): Promise<Extract<Packet, { type: "connack" }>> {
    this.send({ type: "connect", protocolName: this.version === 3 ? "MQIsdp" : "MQTT", protocolVersion: this.version, cleanStart: true, keepAlive: 60, clientId, ...extra });
    return this.next("connack");
  }

  /** Closes the socket. */
  close(): void {
    this.socket.destroy();
  }
}

/**
 * Publishes `payloads` on `topic` in order at QoS 1 or 2 with at most
 * `window` unacknowledged at once: mqtt.js does not keep to the server's
 * Receive Maximum (100 by default) [MQTT-3.3.4-7], which a server whose
 * acknowledgements wait (a store's commit, a cluster's confirmation) enforces.
 */
export async function publishWindowed(client: MqttClient, topic: string, payloads: string[], qos: 1 | 2 = 1, window = 50): Promise<void> {
  const pending: Promise<unknown>[] = [];
  for (const payload of payloads) {
    if (pending.length >= window) await pending.shift();
    pending.push(client.publishAsync(topic, payload, { qos }));
  }
  await Promise.all(pending);
}
