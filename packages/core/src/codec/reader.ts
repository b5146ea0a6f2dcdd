import { malformed } from "./errors.ts";
import { decodeUtf8 } from "./utf8.ts";

/**
 * A bounds-checked cursor over one packet's bytes. Every read that would pass
 * `end` throws a Malformed Packet instead of reading past the packet.
 */
export class Reader {
  /** The packet bytes (the reader never copies them). */
  buf: Uint8Array;
  /** The next byte to read. */
  pos: number;
  /** One past the last byte this reader may read. */
  end: number;

  constructor(buf: Uint8Array, pos: number, end: number) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** Bytes left before `end`. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws unless `n` more bytes are available. */
  need(n: number, what: string): void {
    if (this.end - this.pos < n) throw malformed("TRUNCATED", `the packet ends inside ${what}`);
  }

  /** Reads a one-byte integer. */
  u8(what: string): number {
    if (this.pos >= this.end) throw malformed("TRUNCATED", `the packet ends inside ${what}`);
    return this.buf[this.pos++]!;
  }

  /** Reads a Two Byte Integer, big-endian (§1.5.2). */
  u16(what: string): number {
    this.need(2, what);
    const b = this.buf;
    const v = (b[this.pos]! << 8) | b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  /** Reads a Four Byte Integer, big-endian (§1.5.3). */
  u32(what: string): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  //
  // A Variable Byte Integer (§1.5.5) stores 7 bits per byte, least significant
  // group first; the high bit says another byte follows. At most 4 bytes.
  //
  /** Reads a Variable Byte Integer of at most four bytes (§1.5.5). */
  varint(what: string): number {
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 4; i++) {
      const byte = this.u8(what);
      value += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) {
        // A last byte of 0 after the first adds nothing: the value fits in fewer bytes.
        if (byte === 0 && i > 0) throw malformed("MALFORMED_VARINT", `${what} is not encoded in the fewest bytes`); // [MQTT-1.5.5-1]
        return value;
      }
      multiplier *= 128;
    }
    throw malformed("MALFORMED_VARINT", `${what} is a variable byte integer longer than 4 bytes`); // §1.5.5: at most four bytes
  }

  /** Reads a UTF-8 Encoded String: a two-byte length, then the bytes (§1.5.4). */
  utf8(what: string): string {
    const len = this.u16(what);
    this.need(len, what);
    const start = this.pos;
    this.pos += len;
    return decodeUtf8(this.buf, start, this.pos);
  }

  /** Reads Binary Data (§1.5.6) as a view into the packet, not a copy. */
  binary(what: string): Uint8Array {
    const len = this.u16(what);
    this.need(len, what);
    const start = this.pos;
    this.pos += len;
    return this.buf.subarray(start, this.pos);
  }
}
