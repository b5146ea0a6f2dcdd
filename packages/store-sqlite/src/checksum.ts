// SQLite checks the structure of its pages (integrity_check), not what a row
// says: a flipped bit inside a payload or a string passes every PRAGMA. Each
// row therefore carries a CRC-32 of its columns, checked when it is read back.

const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c;
}

const scratch = new DataView(new ArrayBuffer(8));

/**
 * A CRC-32 (IEEE) over a row's columns, fed one at a time. Strings are hashed
 * as UTF-16 code units (no encoding step), numbers as float64, and an absent
 * value as its own marker so that NULL and "" differ.
 */
export class RowChecksum {
  #crc = -1;

  /** Starts a new row. */
  begin(): this {
    this.#crc = -1;
    return this;
  }

  /** Adds bytes, with their length so that column boundaries count. */
  bytes(b: Uint8Array | undefined | null): this {
    if (b === undefined || b === null) return this.#byte(0xfe);
    this.number(b.byteLength);
    let c = this.#crc;
    for (let i = 0; i < b.length; i++) c = TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
    this.#crc = c;
    return this;
  }

  /** Adds a string, with its length. */
  text(s: string | undefined | null): this {
    if (s === undefined || s === null) return this.#byte(0xfd);
    this.number(s.length);
    let c = this.#crc;
    for (let i = 0; i < s.length; i++) {
      const u = s.charCodeAt(i);
      c = TABLE[(c ^ u) & 0xff]! ^ (c >>> 8);
      c = TABLE[(c ^ (u >>> 8)) & 0xff]! ^ (c >>> 8);
    }
    this.#crc = c;
    return this;
  }

  /** Adds a number (or an absent one). */
  number(n: number | undefined | null): this {
    if (n === undefined || n === null) return this.#byte(0xfc);
    if (n >= 0 && n <= 0x7fffffff && Number.isInteger(n)) {
      // Small integers (the common case: qos, flags, ids) without a DataView round.
      let c = this.#crc;
      c = TABLE[(c ^ n) & 0xff]! ^ (c >>> 8);
      c = TABLE[(c ^ (n >>> 8)) & 0xff]! ^ (c >>> 8);
      c = TABLE[(c ^ (n >>> 16)) & 0xff]! ^ (c >>> 8);
      c = TABLE[(c ^ (n >>> 24)) & 0xff]! ^ (c >>> 8);
      this.#crc = c;
      return this;
    }
    scratch.setFloat64(0, n);
    let c = this.#byteRaw(this.#crc, 0xfb);
    for (let i = 0; i < 8; i++) c = TABLE[(c ^ scratch.getUint8(i)) & 0xff]! ^ (c >>> 8);
    this.#crc = c;
    return this;
  }

  /** The checksum of the row, as a non-negative integer. */
  end(): number {
    return (this.#crc ^ -1) >>> 0;
  }

  #byte(v: number): this {
    this.#crc = this.#byteRaw(this.#crc, v);
    return this;
  }

  #byteRaw(c: number, v: number): number {
    return TABLE[(c ^ v) & 0xff]! ^ (c >>> 8);
  }
}
