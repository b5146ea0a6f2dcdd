import { writeUtf8 } from "./utf8.ts";

/**
 * A cursor that writes into a buffer allocated at the packet's exact size.
 * Lengths are computed before writing, so it never grows or checks bounds.
 */
export class Writer {
  /** The packet being written. */
  readonly buf: Uint8Array;
  /** The next byte to write. */
  pos: number;

  constructor(size: number) {
    this.buf = allocate(size);
    this.pos = 0;
  }

  /** Writes a one-byte integer. */
  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  /** Writes a Two Byte Integer, big-endian. */
  u16(v: number): void {
    const b = this.buf;
    b[this.pos++] = v >>> 8;
    b[this.pos++] = v & 0xff;
  }

  /** Writes a Four Byte Integer, big-endian. */
  u32(v: number): void {
    const b = this.buf;
    b[this.pos++] = v >>> 24;
    b[this.pos++] = (v >>> 16) & 0xff;
    b[this.pos++] = (v >>> 8) & 0xff;
    b[this.pos++] = v & 0xff;
  }

  /** Writes a Variable Byte Integer (at most 268,435,455, so it fits 32-bit shifts). */
  varint(v: number): void {
    const b = this.buf;
    while (v > 0x7f) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[this.pos++] = v;
  }

  /** Writes a UTF-8 Encoded String whose byte length was computed beforehand. */
  utf8(s: string, byteLength: number): void {
    this.u16(byteLength);
    writeUtf8(this.buf, this.pos, s, byteLength);
    this.pos += byteLength;
  }

  /** Writes Binary Data: a two-byte length, then the bytes. */
  binary(data: Uint8Array): void {
    this.u16(data.byteLength);
    this.buf.set(data, this.pos);
    this.pos += data.byteLength;
  }

  /** Writes raw bytes with no length prefix (a PUBLISH or will payload). */
  bytes(data: Uint8Array): void {
    this.buf.set(data, this.pos);
    this.pos += data.byteLength;
  }
}

//
// Small packets are carved out of a shared 64 KiB slab, as Node's Buffer pool
// does: allocating a fresh zero-filled ArrayBuffer per packet costs more than
// encoding it. Each region is handed out once, so it is still all zeros. A
// caller that keeps an encoded packet for long (a retained message store)
// should keep a copy, so that it does not pin the slab.
//
const SLAB_SIZE = 64 * 1024;
const SLAB_MAX_ALLOCATION = 4 * 1024;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabOffset = 0;

/** Returns a zero-filled buffer of `size` bytes, from the shared slab when small. */
export function allocate(size: number): Uint8Array {
  if (size > SLAB_MAX_ALLOCATION) return new Uint8Array(size);
  if (slabOffset + size > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabOffset = 0;
  }
  const out = new Uint8Array(slab, slabOffset, size);
  slabOffset += (size + 7) & ~7; // keep 8-byte alignment
  return out;
}

/** The number of bytes a Variable Byte Integer takes. */
export function varintLength(v: number): number {
  return v < 128 ? 1 : v < 16_384 ? 2 : v < 2_097_152 ? 3 : 4;
}

/**
 * Allocates a packet of exactly 1 + len(remaining length) + remainingLength
 * bytes and writes its fixed header (§2.1.1).
 */
export function startPacket(firstByte: number, remainingLength: number): Writer {
  const w = new Writer(1 + varintLength(remainingLength) + remainingLength);
  w.u8(firstByte);
  w.varint(remainingLength);
  return w;
}
