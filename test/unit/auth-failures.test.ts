import { describe, expect, it } from "vitest";
import { AuthFailureLimiter } from "../../packages/admin/src/auth-failures.ts";

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("the limiter of failed API token checks", () => {
  it("allows 10 failures from an address within 10 s, then asks for 429 with the seconds left, until the window passes", () => {
    const c = clock();
    const limiter = new AuthFailureLimiter({ now: c.now });
    for (let i = 0; i < 10; i++) expect(limiter.failed("10.0.0.1")).toBe(0);
    expect(limiter.failed("10.0.0.1")).toBe(10);
    c.advance(7_500);
    expect(limiter.failed("10.0.0.1")).toBe(3);
    expect(limiter.failed("10.0.0.2")).toBe(0);
    c.advance(2_500);
    expect(limiter.failed("10.0.0.1")).toBe(0);
    expect(limiter.failures).toBe(14);
    expect(limiter.rateLimited).toBe(2);
  });

  it("tracks at most maxAddresses, forgetting the oldest window first", () => {
    const c = clock();
    const limiter = new AuthFailureLimiter({ now: c.now, maxFailures: 1, maxAddresses: 3 });
    for (const a of ["a", "b", "c"]) limiter.failed(a);
    expect(limiter.failed("a")).toBeGreaterThan(0);
    limiter.failed("d"); // evicts a, the oldest
    expect(limiter.tracked).toBe(3);
    expect(limiter.failed("a")).toBe(0); // forgotten: a fresh window (evicting b)
    expect(limiter.failed("c")).toBeGreaterThan(0);
    expect(limiter.tracked).toBe(3);
  });
});
