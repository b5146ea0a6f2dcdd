// Runtime-neutral rules for MQTT over WebSocket, shared by every adapter.

/**
 * Picks the subprotocol to answer with: `mqtt` [MQTT-6.0.0-4], or
 * `mqttv3.1` for old 3.1 clients; undefined when the client offered neither.
 */
export function chooseSubprotocol(offered: Iterable<string>): string | undefined {
  let legacy: string | undefined;
  for (const p of offered) {
    const name = p.trim().toLowerCase();
    if (name === "mqtt") return "mqtt"; // [MQTT-6.0.0-4]
    if (name === "mqttv3.1") legacy = "mqttv3.1";
  }
  return legacy;
}

/** True if an upgrade to `url` is allowed: any path when none is configured. */
export function upgradePathAllowed(url: string, path: string | undefined): boolean {
  if (path === undefined) return true;
  const q = url.indexOf("?");
  return (q < 0 ? url : url.slice(0, q)) === path;
}

/**
 * The largest WebSocket message accepted. Frames do not align with packets
 * [MQTT-6.0.0-2], so a frame may carry a whole packet of the maximum size and
 * more; the packet limit itself is enforced by the MQTT decoder, which answers
 * an oversized packet with 0x95 instead of a WebSocket close.
 */
export function maximumFrameSize(maximumPacketSize: number): number {
  return Math.max(maximumPacketSize, 64 * 1024) * 2;
}
