import { describe, expect, it } from "vitest";
import { EventLog, eventLogHook, PER_SECOND } from "../../packages/server/src/event-log.ts";
import { Logger } from "../../packages/server/src/logger.ts";

function logged(format: "text" | "json" = "json", level: "info" | "error" = "info") {
  const lines: string[] = [];
  let now = Date.UTC(2026, 0, 2, 3, 4, 5);
  const logger = new Logger({ level, format, out: (l) => lines.push(l), err: (l) => lines.push(l), now: () => now });
  return { lines, events: new EventLog(logger, () => now), advance: (ms: number) => (now += ms) };
}

const conn = { remoteAddress: "192.0.2.7", remotePort: 50123, transport: "tcp" as const };

describe("the event log", () => {
  it("writes a broker's event with the client id, the address, the reason code and what was refused", () => {
    const { lines, events } = logged();
    eventLogHook(events, "meters.obs").onEvent!("publish_denied", "dev-1", conn, 0x87, "b/secret");
    expect(JSON.parse(lines[0]!)).toEqual({
      time: "2026-01-02T03:04:05.000Z", level: "warn", msg: "edgemq: publish denied", event: "publish_denied",
      broker: "meters.obs", client_id: "dev-1", remote: "192.0.2.7:50123", reason_code: "0x87", topic: "b/secret",
    });
  });

  it(`writes at most ${PER_SECOND} events of a kind a second, and then how many it held back, once the second is over`, () => {
    const { lines, events, advance } = logged("text");
    const hook = eventLogHook(events, "default");
    for (let i = 0; i < 25; i++) hook.onEvent!("connect_refused", `c-${i}`, conn, 0x86, "bad user name or password");
    hook.onEvent!("malformed_packet", "m", conn, 0x81, "the packet ends inside the protocol name"); // another kind has its own budget
    expect(lines).toHaveLength(PER_SECOND + 1);
    events.flush();
    expect(lines).toHaveLength(PER_SECOND + 1); // the second is not over yet
    advance(1000);
    events.flush();
    expect(lines.at(-1)).toBe("2026-01-02T03:04:06.000Z warn edgemq: suppressed 15 similar events (connect_refused) in the last 1 s (event=connect_refused suppressed=15)");
    hook.onEvent!("connect_refused", "late", conn, 0x86, undefined);
    expect(lines.at(-1)).toMatch(/connection refused \(event=connect_refused broker=default client_id=late remote=192\.0\.2\.7:50123 reason_code=0x86\)$/);
  });

  it("summarises a second's held-back events when the next event of the kind comes, without waiting for a flush", () => {
    const { lines, events, advance } = logged();
    for (let i = 0; i < PER_SECOND + 3; i++) events.report("store_error", "error", "edgemq: store error: disk full", () => ({}));
    advance(2500);
    events.report("store_error", "error", "edgemq: store error: disk full", () => ({}));
    const last = lines.slice(-2).map((l) => JSON.parse(l));
    expect(last[0]).toMatchObject({ msg: "edgemq: suppressed 3 similar events (store_error) in the last 3 s", suppressed: 3 });
    expect(last[1]).toMatchObject({ msg: "edgemq: store error: disk full", event: "store_error" });
  });

  it("builds nothing for events below the logger's level", () => {
    const { lines, events } = logged("json", "error");
    let built = 0;
    events.report("queue_full", "warn", "dropped", () => ({ n: ++built }));
    expect(built).toBe(0);
    expect(lines).toEqual([]);
  });
});
