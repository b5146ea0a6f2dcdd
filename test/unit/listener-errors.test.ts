import { describe, expect, it } from "vitest";
import { listenerErrorLog } from "../../packages/server/src/listener-errors.ts";
import { Logger } from "../../packages/server/src/logger.ts";

function logged() {
  const lines: string[] = [];
  let now = 0;
  const logger = new Logger({ level: "info", format: "text", out: (l) => lines.push(l), err: (l) => lines.push(l), now: () => now });
  return { lines, logger, clock: { now: () => now, advance: (ms: number) => (now += ms) } };
}

describe("a listener's error log", () => {
  it("writes each distinct error once a minute, then again with how many were held back", () => {
    const { lines, logger, clock } = logged();
    const report = listenerErrorLog(logger, "tcp://127.0.0.1:1884", clock.now);
    const reset = Object.assign(new Error("Transport endpoint is not connected"), { name: "NotConnected" });
    for (let i = 0; i < 5; i++) report("an accept", reset);
    report("an accept", Object.assign(new Error("Too many open files"), { code: "EMFILE" }));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/tcp:\/\/127\.0\.0\.1:1884: an accept failed: Transport endpoint is not connected; the listener goes on accepting \(error=NotConnected\)/);
    expect(lines[1]).toMatch(/Too many open files.*error=EMFILE/);
    clock.advance(60_000);
    report("an accept", reset);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/similar_in_last_minute=4/);
  });

  it("writes nothing for an error below the logger's level", () => {
    const { lines, logger, clock } = logged();
    listenerErrorLog(logger, "tcp://127.0.0.1:1884", clock.now)("a read", new Error("reset"), "debug");
    expect(lines).toHaveLength(0);
  });
});
