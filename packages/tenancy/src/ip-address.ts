// IP addresses as bytes and CIDR ranges over them, enough to tell where an
// on-publish hook would post. Web-standard only: the tenancy package runs
// anywhere, so no node:net.

/** An address as 4 (IPv4) or 16 (IPv6) bytes. */
export type AddressBytes = Uint8Array;

/** A range: the first `bits` bits of `base`. */
export interface Cidr {
  base: AddressBytes;
  bits: number;
  /** As written, such as `10.0.0.0/8`, for messages. */
  text: string;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses a dotted IPv4 address; undefined if it is not one. */
function parseIpv4(text: string): AddressBytes | undefined {
  const m = IPV4.exec(text);
  if (m === null) return undefined;
  const bytes = m.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? Uint8Array.from(bytes) : undefined;
}

/** Parses an IPv6 address (`::` compression and a dotted IPv4 tail allowed, no zone); undefined if it is not one. */
function parseIpv6(text: string): AddressBytes | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let tail: AddressBytes | undefined;
  let body = text;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    tail = parseIpv4(text.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    body = `${text.slice(0, lastColon + 1)}0:0`; // the IPv4 tail takes the last two groups
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const v = parseInt(g, 16);
    bytes[2 * i] = v >> 8;
    bytes[2 * i + 1] = v & 0xff;
  }
  if (tail !== undefined) bytes.set(tail, 12);
  return bytes;
}

/** Parses an IPv4 or IPv6 address (IPv6 with or without the brackets of a URL); undefined if it is neither. */
export function parseAddress(text: string): AddressBytes | undefined {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  return parseIpv4(bare) ?? parseIpv6(bare);
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), or undefined. */
export function mappedIpv4(address: AddressBytes): AddressBytes | undefined {
  if (address.length !== 16) return undefined;
  for (let i = 0; i < 10; i++) if (address[i] !== 0) return undefined;
  return address[10] === 0xff && address[11] === 0xff ? address.subarray(12) : undefined;
}

/** Parses `addr/bits` or a single address (all its bits); undefined if it is neither. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  const base = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (base === undefined) return undefined;
  const max = base.length * 8;
  const bitsText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > max) return undefined;
  return { base, bits: Number(bitsText), text };
}

/** Whether an address is inside a range (of the same family). */
export function inCidr(address: AddressBytes, range: Cidr): boolean {
  if (address.length !== range.base.length) return false;
  const whole = range.bits >> 3;
  for (let i = 0; i < whole; i++) if (address[i] !== range.base[i]) return false;
  const rest = range.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (address[whole]! & mask) === (range.base[whole]! & mask);
}
