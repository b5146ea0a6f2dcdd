// Failed API token checks, counted per client address: past a few in a short
// window the address is answered 429 until the window passes. Only failures
// count and only failures are refused, so a valid token from the same address
// is never slowed. Tokens are 256-bit random secrets: guessing one is hopeless
// anyway; the limit keeps a client that keeps failing (a broken script, a
// scanner) cheap to answer and visible in the metrics.

/** How an {@link AuthFailureLimiter} counts. */
export interface AuthFailureLimits {
  /** Failures allowed from one address within the window; the next ones get 429. Default 10. */
  maxFailures?: number;
  /** The window, in milliseconds, from an address's first failure. Default 10 000. */
  windowMs?: number;
  /** Addresses tracked at once; past it the oldest is forgotten. Default 10 000. */
  maxAddresses?: number;
  /** The clock (milliseconds). */
  now?(): number;
}

/** Counts failed API token checks per address and says when to answer 429. */
export class AuthFailureLimiter {
  /** Failed token checks since start, 429s included. */
  failures = 0;
  /** Failed token checks answered 429 since start. */
  rateLimited = 0;
  readonly #max: number;
  readonly #windowMs: number;
  readonly #maxAddresses: number;
  readonly #now: () => number;
  // In insertion order, so the first key is the oldest window: the one evicted.
  readonly #windows = new Map<string, { start: number; count: number }>();

  /** A limiter with the given limits (10 failures in 10 s per address by default). */
  constructor(limits: AuthFailureLimits = {}) {
    this.#max = limits.maxFailures ?? 10;
    this.#windowMs = limits.windowMs ?? 10_000;
    this.#maxAddresses = limits.maxAddresses ?? 10_000;
    this.#now = limits.now ?? Date.now;
  }

  /**
   * Records a failed token check from `address`. Returns 0 when it may be
   * answered 401, or the seconds to wait (for Retry-After) once the address
   * is past its limit and must be answered 429.
   */
  failed(address: string): number {
    this.failures++;
    const now = this.#now();
    let w = this.#windows.get(address);
    if (w === undefined || now - w.start >= this.#windowMs) {
      // A new window goes to the back of the eviction order.
      this.#windows.delete(address);
      if (this.#windows.size >= this.#maxAddresses) this.#windows.delete(this.#windows.keys().next().value!);
      w = { start: now, count: 0 };
      this.#windows.set(address, w);
    }
    if (w.count < this.#max) {
      w.count++;
      return 0;
    }
    this.rateLimited++;
    return Math.max(1, Math.ceil((w.start + this.#windowMs - now) / 1000));
  }

  /** How many addresses are tracked now (at most `maxAddresses`). */
  get tracked(): number {
    return this.#windows.size;
  }
}
