import type { Limits } from "../policy/limits.ts";

/**
 * One connection's rate limits: a packet bucket and a byte bucket, refilled
 * by elapsed time, so nothing is allocated per packet. Made at the first
 * packet a limit counts, so a broker without rate limits keeps none per
 * connection (issue 14). A bucket holds one second's worth, and the byte
 * bucket at least one largest packet.
 */
export class RateBuckets {
  #packets = 0;
  #bytes = 0;
  #at = 0;

  /** Refills for the time since the last refill, then takes `packets` and `bytes`: which bucket ran dry, if one did. */
  take(now: number, packets: number, bytes: number, limits: Limits): "packets" | "bytes" | undefined {
    const pps = limits.maximumPacketsPerSecond;
    const bps = limits.maximumBytesPerSecond;
    const elapsed = now - this.#at;
    if (elapsed > 0) {
      this.#at = now;
      this.#packets = Math.min(pps, this.#packets + (elapsed * pps) / 1000);
      this.#bytes = Math.min(Math.max(bps, limits.maximumPacketSize), this.#bytes + (elapsed * bps) / 1000);
    }
    if (pps > 0) this.#packets -= packets;
    if (bps > 0) this.#bytes -= bytes;
    if (pps > 0 && this.#packets < 0) return "packets";
    if (bps > 0 && this.#bytes < 0) return "bytes";
    return undefined;
  }
}
