// The load generator's MQTT clients: edgemq's own codec (encodePacket to
// build packets once, FrameDecoder to read) over raw TCP sockets or over
// WebSocket (the `ws` package's client, binary frames, subprotocol "mqtt").
// Publishers pre-encode one PUBLISH and copy it into batches, patching only
// the sequence number, timestamp and packet id; subscribers check every
// payload.
import net from "node:net";
import WebSocket from "ws";
import { type ConnackPacket, encodePacket, FrameDecoder, type Packet, type PublishPacket, type QoS } from "@edgemq/core/codec";

export type Version = 4 | 5;
export type Transport = "tcp" | "ws";

/** Where a client connects: host:port over TCP, or ws://host:port/path. */
export interface Endpoint {
  host: string;
  port: number;
  transport: Transport;
  /** The WebSocket request path (ws only). */
  path: string;
}

/** What a connection hands its bytes and its end to. */
interface WireSink {
  data(chunk: Uint8Array): void;
  error(e: Error): void;
  close(): void;
}

/** A byte stream to the broker: a TCP socket, or a WebSocket whose binary frames carry the bytes. */
export interface Wire {
  /** Sends bytes; false when the connection's buffer is full (wait for onDrain). */
  write(bytes: Uint8Array): boolean;
  /** Called once the buffer has drained after write() returned false. */
  onDrain(fn: () => void): void;
  /** Sends the last bytes and closes. */
  end(bytes: Uint8Array): void;
  destroy(): void;
}

interface Waiter {
  type: Packet["type"];
  resolve: (p: Packet) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** One MQTT connection over TCP or WebSocket. */
export class Client {
  readonly wire: Wire;
  readonly version: Version;
  readonly decoder: FrameDecoder;
  connack: ConnackPacket | undefined;
  closed = false;
  /** A decoding error, an unexpected DISCONNECT, or a socket error. */
  error: Error | undefined;
  onPublish: ((p: PublishPacket) => void) | undefined;
  onPuback: ((packetId: number) => void) | undefined;
  /** Runs after each chunk read from the socket (each WebSocket message) has been decoded. */
  onBatchEnd: (() => void) | undefined;
  #waiters: Waiter[] = [];

  private constructor(open: (sink: WireSink) => Wire, version: Version) {
    this.version = version;
    this.decoder = new FrameDecoder({ protocolVersion: version });
    this.wire = open({
      data: (chunk) => this.#onData(chunk),
      error: (e) => (this.error ??= e),
      close: () => {
        this.closed = true;
        for (const w of this.#waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(new Error(`connection closed while waiting for ${w.type.toUpperCase()}${this.error ? `: ${this.error.message}` : ""}`));
        }
      },
    });
  }

  #onData(chunk: Uint8Array): void {
    const d = this.decoder;
    d.push(chunk);
    try {
      for (let p = d.next(); p !== undefined; p = d.next()) {
        if (p.type === "publish") this.onPublish?.(p);
        else if (p.type === "puback") this.onPuback?.(p.packetId);
        else this.#control(p);
      }
    } catch (e) {
      this.error ??= e as Error;
      this.wire.destroy();
      return;
    }
    this.onBatchEnd?.();
  }

  #control(p: Packet): void {
    if (p.type === "disconnect") this.error ??= new Error(`the broker sent DISCONNECT 0x${p.reasonCode.toString(16)}`);
    const i = this.#waiters.findIndex((w) => w.type === p.type);
    if (i < 0) return;
    const w = this.#waiters[i]!;
    this.#waiters.splice(i, 1);
    clearTimeout(w.timer);
    w.resolve(p);
  }

  /** Waits for the next packet of a type (control packets only: not PUBLISH or PUBACK). */
  waitFor(type: Packet["type"], ms: number): Promise<Packet> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error(`connection closed before ${type.toUpperCase()}`));
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        reject(new Error(`no ${type.toUpperCase()} within ${ms} ms`));
      }, ms);
      const w: Waiter = { type, resolve, reject, timer };
      this.#waiters.push(w);
    });
  }

  /**
   * Opens a connection (TCP, or WebSocket with its handshake), sends CONNECT and waits for a successful CONNACK.
   * With `sessionExpiry` > 0 the session outlives the connection (5.0: Session Expiry Interval; 3.1.1: Clean Session 0),
   * so that a broker with a durable store keeps its messages on disk.
   */
  static async connect(to: Endpoint, version: Version, clientId: string, ms = 10000, sessionExpiry = 0): Promise<Client> {
    const open = await (to.transport === "ws" ? openWebSocket(to, ms) : openTcp(to, ms));
    const c = new Client(open, version);
    const acked = c.waitFor("connack", ms);
    c.wire.write(connectBytes(version, clientId, sessionExpiry));
    const connack = (await acked) as ConnackPacket;
    if (connack.reasonCode !== 0) {
      c.wire.destroy();
      throw new Error(`CONNACK refused ${clientId}: 0x${connack.reasonCode.toString(16)}`);
    }
    c.connack = connack;
    return c;
  }

  /** Subscribes to one filter and waits for a SUBACK that grants it. */
  async subscribe(filter: string, qos: QoS, ms = 10000): Promise<void> {
    const acked = this.waitFor("suback", ms);
    this.wire.write(encodePacket({
      type: "subscribe", packetId: 1,
      subscriptions: [{ topicFilter: filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 2 }],
    }, this.version));
    const suback = await acked;
    if (suback.type !== "suback" || suback.reasonCodes[0] !== qos) {
      throw new Error(`SUBSCRIBE ${filter} at QoS ${qos} was answered ${JSON.stringify(suback)}`);
    }
  }

  /** The broker's Receive Maximum (how many QoS 1 PUBLISH it takes unacknowledged). */
  get receiveMaximum(): number {
    return this.connack?.properties?.receiveMaximum ?? 65535;
  }

  /** Sends DISCONNECT and closes; the connection is destroyed if the broker has not closed it within a second. */
  close(): void {
    if (this.closed) return;
    this.onPublish = this.onPuback = this.onBatchEnd = undefined;
    this.wire.end(this.version === 5 ? DISCONNECT_V5 : DISCONNECT_V4);
    setTimeout(() => this.wire.destroy(), 1000).unref();
  }
}

// ------------------------------------------------------------------ wires

// Reads of every TCP socket go into this one buffer (see openTcp).
const READ_BUFFER = Buffer.allocUnsafe(65536);

/**
 * Opens a TCP connection. Reads go into one buffer shared by every socket,
 * skipping the stream machinery ("data" events); each read is handled at
 * once and copied out, since the decoder keeps views into what it is given.
 * Resolves, once connected, to a function that attaches the client.
 */
function openTcp(to: Endpoint, ms: number): Promise<(sink: WireSink) => Wire> {
  return new Promise((resolve, reject) => {
    let sink: WireSink | undefined;
    const s = net.connect({
      host: to.host, port: to.port, noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array) => {
          sink?.data(new Uint8Array(buf.subarray(0, n))); // a copy (Buffer's slice() would share memory)
          return true;
        },
      },
    });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`TCP connect to ${to.host}:${to.port} took over ${ms} ms`));
    }, ms);
    s.once("connect", () => {
      clearTimeout(timer);
      resolve((k) => {
        sink = k;
        s.on("error", (e) => k.error(e));
        s.on("close", () => k.close());
        return {
          write: (bytes) => s.write(bytes),
          onDrain: (fn) => s.on("drain", fn),
          end: (bytes) => s.end(bytes),
          destroy: () => s.destroy(),
        };
      });
    });
    s.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * Opens a WebSocket (subprotocol "mqtt", no compression) with the `ws`
 * package's client. Each binary message is handed on as it arrives (its
 * bytes are not reused by ws). Outgoing frames are masked with an all-zero
 * key, which a server cannot tell from any other key and which spares the
 * generator from XOR-ing every byte it sends. Backpressure comes from the
 * underlying socket: ws writes frames straight to it.
 */
function openWebSocket(to: Endpoint, ms: number): Promise<(sink: WireSink) => Wire> {
  return new Promise((resolve, reject) => {
    const url = `ws://${to.host.includes(":") ? `[${to.host}]` : to.host}:${to.port}${to.path}`;
    const ws = new WebSocket(url, ["mqtt"], {
      perMessageDeflate: false,
      skipUTF8Validation: true,
      handshakeTimeout: ms,
      generateMask: (mask: Buffer) => void mask.fill(0),
    });
    let sink: WireSink | undefined;
    let opened = false;
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) sink?.error(new Error("the broker sent a text frame")); // [MQTT-6.0.0-1]
      sink?.data(data);
    });
    ws.on("error", (e) => {
      if (!opened) reject(e);
      else sink?.error(e);
    });
    ws.on("close", () => sink?.close());
    ws.once("unexpected-response", (_req, res) => {
      ws.terminate();
      reject(new Error(`WebSocket upgrade to ${url} answered HTTP ${res.statusCode}`));
    });
    ws.once("open", () => {
      opened = true;
      if (ws.protocol !== "mqtt") {
        ws.terminate();
        reject(new Error(`WebSocket upgrade to ${url} chose subprotocol "${ws.protocol}", not "mqtt"`));
        return;
      }
      // ws writes each frame to this socket; its "drain" is the WebSocket's.
      const socket = (ws as unknown as { _socket: net.Socket })._socket;
      resolve((k) => {
        sink = k;
        return {
          write: (bytes) => {
            ws.send(bytes, { binary: true, compress: false, fin: true });
            return !socket.writableNeedDrain;
          },
          onDrain: (fn) => socket.on("drain", fn),
          end: (bytes) => {
            ws.send(bytes, { binary: true, compress: false, fin: true });
            ws.close(1000);
          },
          destroy: () => ws.terminate(),
        };
      });
    });
  });
}

const DISCONNECT_V4 = encodePacket({ type: "disconnect", reasonCode: 0 }, 4);
const DISCONNECT_V5 = encodePacket({ type: "disconnect", reasonCode: 0 }, 5);

/** CONNECT with no keep alive; with Clean Start and no session expiry unless `sessionExpiry` > 0 (seconds). */
export function connectBytes(version: Version, clientId: string, sessionExpiry = 0): Uint8Array {
  const lasting = sessionExpiry > 0;
  return encodePacket({
    type: "connect", protocolName: "MQTT", protocolVersion: version, keepAlive: 0, clientId,
    // 3.1.1 keeps a session with Clean Session 0 (the ids are new, so there is none to resume); 5.0 by its expiry.
    cleanStart: version === 5 || !lasting,
    properties: version === 5 && lasting ? { sessionExpiryInterval: sessionExpiry } : undefined,
  }, version);
}

export { DISCONNECT_V4, DISCONNECT_V5 };

// -------------------------------------------------------------- payloads
//
// Every payload is [publisher id u32][sequence u32][send time f64, ms][filler]
// [check byte]; the check byte depends on both ids, so a payload delivered
// to the wrong place, truncated or corrupted is counted as corrupt.

export const PAYLOAD_HEADER = 16;

function checkByte(pub: number, seq: number): number {
  return (pub ^ seq ^ (seq >>> 8) ^ 0x5a) & 0xff;
}

// ------------------------------------------------------------- tracking

/** What one subscriber has seen from one publisher: a bitmap of sequence numbers. */
export class Track {
  readonly pub: Publisher;
  /** The highest sequence number seen, -1 for none. */
  high = -1;
  distinct = 0;
  dup = 0;
  reorder = 0;
  /** The subscriber batch in which this track last saw a message (to notify the publisher once per batch). */
  batch = -1;
  #bits = new Uint8Array(4096);

  constructor(pub: Publisher) {
    this.pub = pub;
  }

  record(seq: number): void {
    const byte = seq >>> 3;
    let bits = this.#bits;
    if (byte >= bits.length) {
      let n = bits.length * 2;
      while (n <= byte) n *= 2;
      const grown = new Uint8Array(n);
      grown.set(bits);
      this.#bits = bits = grown;
    }
    const mask = 1 << (seq & 7);
    if ((bits[byte]! & mask) !== 0) {
      this.dup++;
      return;
    }
    bits[byte]! |= mask;
    this.distinct++;
    if (seq > this.high) this.high = seq;
    else this.reorder++; // a new message older than one already seen
  }
}

// ------------------------------------------------------------ publisher

/**
 * Publishes sequence-numbered messages as fast as its credit allows, in
 * batches written with one write (one WebSocket frame). Credit is the smallest of: the
 * end-to-end window (messages sent and not yet seen by every subscriber that
 * expects them), the QoS 1 window (sent and not yet PUBACKed), and, when
 * paced, the messages due by now at the fixed rate. A write that fills the
 * socket's buffer stops sending until "drain".
 */
export class Publisher {
  readonly client: Client;
  readonly id: number;
  readonly qos: QoS;
  readonly size: number;
  /** Subscribers' tracks of this publisher: the end-to-end window waits for the slowest. */
  readonly tracks: Track[] = [];
  seq = 0;
  unacked = 0;
  acked = 0;
  /** Largest unacknowledged QoS 1 window. */
  maxUnacked: number;
  /** Largest end-to-end window. */
  e2eWindow: number;
  /** Messages per second when paced (0: as fast as credit allows). */
  rate = 0;
  /** Whether each batch carries its send time. */
  stamp = false;
  running = false;
  /** True while the end-to-end window, not the socket or the QoS 1 window, is what holds the publisher back. */
  starved = false;
  #blocked = false;
  #batchMax: number;
  #template: Buffer;
  #payloadAt: number;
  #packetIdAt: number;
  #paceStart = 0;
  #paceSeq = 0;
  #timer: NodeJS.Timeout | undefined;
  #time = new Float64Array(1);
  #timeBytes = new Uint8Array(this.#time.buffer);

  constructor(client: Client, id: number, topic: string, payloadSize: number, qos: QoS, maxUnacked: number, e2eWindow: number) {
    if (payloadSize < PAYLOAD_HEADER + 1) throw new Error(`payloads need at least ${PAYLOAD_HEADER + 1} bytes`);
    this.client = client;
    this.id = id;
    this.qos = qos;
    this.maxUnacked = Math.min(maxUnacked, client.receiveMaximum); // [MQTT-3.3.4-7]: never above the broker's Receive Maximum
    this.e2eWindow = e2eWindow;
    const payload = new Uint8Array(payloadSize).fill(0x61);
    payload[0] = id >>> 24; payload[1] = id >>> 16; payload[2] = id >>> 8; payload[3] = id;
    const one = encodePacket({ type: "publish", topic, payload, qos, retain: false, dup: false, packetId: qos > 0 ? 1 : undefined }, client.version);
    this.size = one.byteLength;
    this.#payloadAt = one.byteLength - payloadSize;
    let header = 1;
    while (one[header]! & 0x80) header++;
    this.#packetIdAt = header + 1 + 2 + ((one[header + 1]! << 8) | one[header + 2]!);
    // Up to 64 messages or 64 KiB per write.
    this.#batchMax = Math.max(1, Math.min(64, Math.floor(65536 / this.size)));
    this.#template = Buffer.allocUnsafe(this.size * this.#batchMax);
    for (let i = 0; i < this.#batchMax; i++) this.#template.set(one, i * this.size);
    client.onPuback = () => {
      this.unacked--;
      this.acked++;
    };
    client.onBatchEnd = this.pump;
    client.wire.onDrain(() => {
      this.#blocked = false;
      this.pump();
    });
  }

  /** Starts publishing; with `rate` > 0, at that many messages per second. */
  start(rate = 0): void {
    this.running = true;
    this.rate = rate;
    if (rate > 0) {
      this.#paceStart = performance.now();
      this.#paceSeq = this.seq;
      this.#timer = setInterval(this.pump, 1);
    }
    this.pump();
  }

  stop(): void {
    this.running = false;
    if (this.#timer) clearInterval(this.#timer);
  }

  /** The lowest sequence number not yet seen by every subscriber expecting this publisher. */
  watermark(): number {
    const tracks = this.tracks;
    if (tracks.length === 0) return this.seq;
    let low = tracks[0]!.high;
    for (let i = 1; i < tracks.length; i++) if (tracks[i]!.high < low) low = tracks[i]!.high;
    return low + 1;
  }

  readonly pump = (): void => {
    while (this.running && !this.#blocked && !this.client.closed) {
      const e2e = this.e2eWindow - (this.seq - this.watermark());
      let n = e2e;
      if (this.qos > 0 && this.maxUnacked - this.unacked < n) n = this.maxUnacked - this.unacked;
      if (this.rate > 0) {
        const due = Math.floor(((performance.now() - this.#paceStart) * this.rate) / 1000) - (this.seq - this.#paceSeq);
        if (due < n) n = due;
      } else if (n < this.#resumeAt && n < this.#batchMax) {
        // Credit that trickles back one message at a time (a broker that sends
        // one PUBLISH or PUBACK per segment) would otherwise turn into one
        // write per message: wait until a batch's worth has come back.
        this.starved = true;
        return;
      }
      this.starved = e2e < this.#resumeAt;
      if (n <= 0) return;
      this.#send(n < this.#batchMax ? n : this.#batchMax);
    }
  };

  // The credit at which a closed-loop publisher writes again: a quarter of its smaller window, at most a batch.
  get #resumeAt(): number {
    const w = this.qos > 0 ? Math.min(this.e2eWindow, this.maxUnacked) : this.e2eWindow;
    return Math.max(1, Math.min(this.#batchMax, Math.floor(w / 4)));
  }

  #send(n: number): void {
    const size = this.size;
    const buf = Buffer.allocUnsafe(n * size);
    this.#template.copy(buf, 0, 0, n * size);
    const id = this.id;
    let seq = this.seq;
    if (this.stamp) this.#time[0] = performance.now();
    const tb = this.#timeBytes;
    const last = size - 1; // the check byte ends the payload, which ends the packet
    for (let i = 0, base = 0; i < n; i++, base += size, seq++) {
      const p = base + this.#payloadAt;
      buf[p + 4] = seq >>> 24; buf[p + 5] = seq >>> 16; buf[p + 6] = seq >>> 8; buf[p + 7] = seq;
      if (this.stamp) buf.set(tb, p + 8);
      buf[base + last] = checkByte(id, seq);
      if (this.qos > 0) {
        const packetId = (seq % 65535) + 1; // unique among the ≤ 65535 unacknowledged
        buf[base + this.#packetIdAt] = packetId >>> 8;
        buf[base + this.#packetIdAt + 1] = packetId;
      }
    }
    this.seq = seq;
    if (this.qos > 0) this.unacked += n;
    if (!this.client.wire.write(buf)) this.#blocked = true;
  }
}

// ----------------------------------------------------------- subscriber

/** Receives, checks every payload, PUBACKs QoS 1 in one write per chunk, and optionally records latency. */
export class Subscriber {
  readonly client: Client;
  readonly topic: string;
  readonly payloadSize: number;
  /** Tracks by publisher id. */
  readonly tracks: (Track | undefined)[] = [];
  received = 0;
  /** Payloads of the wrong size, topic or check byte. */
  corrupt = 0;
  /** Payloads from a publisher this subscriber does not expect. */
  foreign = 0;
  /** Latency samples (ms) of messages sent at or after `latencyFrom`. */
  latency: Float64Array | undefined;
  latencyCount = 0;
  latencyFrom = Infinity;
  #batch = 0;
  #touched: Track[] = [];
  #acks = new Uint16Array(4096);
  #ackCount = 0;
  #ackTemplate: Uint8Array;
  #time = new Float64Array(1);
  #timeBytes = new Uint8Array(this.#time.buffer);

  constructor(client: Client, topic: string, payloadSize: number) {
    this.client = client;
    this.topic = topic;
    this.payloadSize = payloadSize;
    this.#ackTemplate = encodePacket({ type: "puback", packetId: 1, reasonCode: 0 }, client.version);
    client.onPublish = this.#onPublish;
    client.onBatchEnd = this.#onBatchEnd;
  }

  /** Expects messages from a publisher. */
  expect(pub: Publisher): void {
    const t = new Track(pub);
    this.tracks[pub.id] = t;
    pub.tracks.push(t);
  }

  readonly #onPublish = (p: PublishPacket): void => {
    this.received++;
    if (p.qos > 0) {
      if (this.#ackCount === this.#acks.length) this.#flushAcks();
      this.#acks[this.#ackCount++] = p.packetId!;
    }
    const b = p.payload;
    if (b.byteLength !== this.payloadSize || p.topic !== this.topic) {
      this.corrupt++;
      return;
    }
    const pub = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    const seq = ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0;
    if (b[b.byteLength - 1] !== checkByte(pub, seq)) {
      this.corrupt++;
      return;
    }
    const t = this.tracks[pub];
    if (t === undefined) {
      this.foreign++;
      return;
    }
    t.record(seq);
    if (t.batch !== this.#batch) {
      t.batch = this.#batch;
      this.#touched.push(t);
    }
    if (this.latency !== undefined) {
      this.#timeBytes.set(b.subarray(8, 16));
      const sent = this.#time[0]!;
      if (sent >= this.latencyFrom && this.latencyCount < this.latency.length) {
        this.latency[this.latencyCount++] = performance.now() - sent;
      }
    }
  };

  #flushAcks(): void {
    const n = this.#ackCount;
    if (n === 0) return;
    const t = this.#ackTemplate;
    const size = t.byteLength;
    const buf = Buffer.allocUnsafe(n * size);
    for (let i = 0; i < n; i++) {
      const at = i * size;
      buf.set(t, at);
      const id = this.#acks[i]!;
      buf[at + 2] = id >>> 8;
      buf[at + 3] = id;
    }
    this.#ackCount = 0;
    this.client.wire.write(buf);
  }

  readonly #onBatchEnd = (): void => {
    this.#flushAcks();
    const touched = this.#touched;
    for (let i = 0; i < touched.length; i++) {
      const pub = touched[i]!.pub;
      if (pub.starved) pub.pump();
    }
    touched.length = 0;
    this.#batch++;
  };
}
