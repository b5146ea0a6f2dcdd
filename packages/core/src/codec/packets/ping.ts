/** PINGREQ (§3.12): a keep-alive probe from the client. */
export interface PingreqPacket {
  type: "pingreq";
}

/** PINGRESP (§3.13): the server's answer to PINGREQ. */
export interface PingrespPacket {
  type: "pingresp";
}

// Both packets are two fixed bytes, shared by every encode.
const PINGREQ = new Uint8Array([0xc0, 0x00]);
const PINGRESP = new Uint8Array([0xd0, 0x00]);

/** Encodes PINGREQ or PINGRESP as a fresh two-byte buffer. */
export function encodePing(p: PingreqPacket | PingrespPacket): Uint8Array {
  return (p.type === "pingreq" ? PINGREQ : PINGRESP).slice();
}
