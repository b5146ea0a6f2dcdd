import { MAX_PACKET_SIZE, type ProtocolVersion } from "./constants.ts";
import { MqttError, malformed } from "./errors.ts";
import { checkFixedHeader, decodeBody, type Packet } from "./packet.ts";
import { Reader } from "./reader.ts";
import { ReasonCode } from "./reason-codes.ts";

/** Options for {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** The largest whole packet accepted, fixed header included; larger ones are refused from the header. */
  maximumPacketSize?: number;
  /** The protocol level to decode at; set automatically by a decoded CONNECT. Defaults to 5. */
  protocolVersion?: ProtocolVersion;
}

const EMPTY = new Uint8Array(0);
// One reader for every decoder: a packet is decoded in one synchronous call,
// so none is ever shared mid-packet, and a connection keeps none (issue 14).
const READER = new Reader(EMPTY, 0, 0);

/**
 * A sans-IO stream decoder: push chunks of any size, take whole packets out.
 *
 * A packet that lies inside one chunk is decoded in place, so its payload and
 * binary fields are views into that chunk (the caller must not reuse chunk
 * memory). A packet split across chunks is copied once into a buffer of its
 * exact size. After an error the decoder stays failed and rethrows it.
 */
export class FrameDecoder {
  /** The protocol level used for every packet but CONNECT. */
  protocolVersion: ProtocolVersion;
  /** See {@link FrameDecoderOptions.maximumPacketSize}. */
  maximumPacketSize: number;

  #chunks: Uint8Array[] = [];
  #first = 0; // index of the first chunk still holding unread bytes
  #offset = 0; // read position inside that chunk
  #buffered = 0; // unread bytes across all chunks
  #error: MqttError | undefined;

  constructor(options: FrameDecoderOptions = {}) {
    this.maximumPacketSize = options.maximumPacketSize ?? MAX_PACKET_SIZE;
    this.protocolVersion = options.protocolVersion ?? 5;
  }

  /** Unread bytes held by the decoder. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Drops every unread byte (the connection is done with them). */
  discard(): void {
    this.#chunks = [];
    this.#first = 0;
    this.#offset = 0;
    this.#buffered = 0;
  }

  /** Adds received bytes. Nothing is decoded until {@link next} is called. */
  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
  }

  /**
   * Returns the next whole packet, or undefined when more bytes are needed.
   * Throws an {@link MqttError} for bytes that are not a valid packet.
   */
  next(): Packet | undefined {
    if (this.#error) throw this.#error;
    try {
      return this.#next();
    } catch (e) {
      this.#error = e as MqttError;
      throw e;
    }
  }

  #next(): Packet | undefined {
    if (this.#buffered < 2) return undefined;
    const chunk = this.#chunks[this.#first]!;
    const firstByte = chunk[this.#offset]!;
    checkFixedHeader(firstByte, this.protocolVersion);

    //
    // The remaining length is a Variable Byte Integer of 1 to 4 bytes, which
    // may itself be split across chunks. A fourth byte with its continuation
    // bit set is malformed (§1.5.5, §2.1.4) and is refused at once.
    //
    let remaining = 0;
    let multiplier = 1;
    let headerLength = 1;
    for (;;) {
      if (headerLength >= this.#buffered) return undefined;
      const byte = this.#byteAt(headerLength);
      headerLength++;
      remaining += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && headerLength > 2) throw malformed("MALFORMED_VARINT", "the remaining length is not encoded in the fewest bytes"); // [MQTT-1.5.5-1]
        break;
      }
      if (headerLength === 5) throw malformed("MALFORMED_VARINT", "the remaining length is longer than 4 bytes"); // §2.1.4: at most four bytes
      multiplier *= 128;
    }
    const total = headerLength + remaining;
    // Refuse an oversized packet from its header, before buffering its body.
    if (total > this.maximumPacketSize) {
      throw new MqttError(ReasonCode.PacketTooLarge, "PACKET_TOO_LARGE",
        `a packet of ${total} bytes exceeds the maximum packet size of ${this.maximumPacketSize}`); // [MQTT-3.2.2-15] the peer may not send more; we answer 0x95
    }
    if (total > this.#buffered) return undefined;

    const r = READER;
    if (chunk.byteLength - this.#offset >= total) {
      // The whole packet is in this chunk: decode in place, no copy.
      r.buf = chunk;
      r.pos = this.#offset + headerLength;
      r.end = this.#offset + total;
      this.#consume(total);
    } else {
      r.buf = this.#take(total);
      r.pos = headerLength;
      r.end = total;
    }
    let packet: Packet;
    try {
      packet = decodeBody(r, firstByte, this.protocolVersion);
    } finally {
      r.buf = EMPTY; // the decoder must not pin the last chunk it read (the packet's own views may)
    }
    if (packet.type === "connect") this.protocolVersion = packet.protocolVersion;
    return packet;
  }

  // The byte `i` bytes past the read position, across chunk boundaries.
  #byteAt(i: number): number {
    let index = this.#first;
    let at = this.#offset + i;
    while (at >= this.#chunks[index]!.byteLength) {
      at -= this.#chunks[index]!.byteLength;
      index++;
    }
    return this.#chunks[index]![at]!;
  }

  // Copies `n` bytes spread over several chunks into one buffer and consumes them.
  #take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[this.#first]!;
      const available = Math.min(chunk.byteLength - this.#offset, n - filled);
      out.set(chunk.subarray(this.#offset, this.#offset + available), filled);
      filled += available;
      this.#consume(available);
    }
    return out;
  }

  // Advances the read position by `n` bytes within the first chunk, dropping spent chunks.
  #consume(n: number): void {
    this.#offset += n;
    this.#buffered -= n;
    if (this.#offset === this.#chunks[this.#first]!.byteLength) {
      this.#chunks[this.#first] = EMPTY; // release the chunk's memory
      this.#first++;
      this.#offset = 0;
      if (this.#first === this.#chunks.length) {
        this.#chunks.length = 0;
        this.#first = 0;
      } else if (this.#first > 64) {
        this.#chunks = this.#chunks.slice(this.#first);
        this.#first = 0;
      }
    }
  }
}
