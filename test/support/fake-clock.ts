// The one fake clock of the unit tests: time moves only when a test says so.

/** A clock for a Broker's or a registry's `now`; `advance` moves it forward. */
export class FakeClock {
  t: number;
  constructor(start = 1_000_000) {
    this.t = start;
  }
  /** The current fake time (ms), bound so it can be passed as `now`. */
  now = (): number => this.t;
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.t += ms;
  }
}
