// What operators must hear of (a refused connection, a denied publish, a
// malformed packet, a failing hook or store, a slow consumer's drops) goes to
// the log as one record each. Clients can cause most of these at will, so each
// kind is written at most PER_SECOND times a second; the rest are counted and
// summarised in one line when the second is over.
import type { BrokerEventKind, ConnInfo, Hook, OnPublishHandler } from "@edgemq/core";
import { StoreFailedError } from "@edgemq/store-sqlite";
import type { LogFields, Logger, LogLevel } from "./logger.ts";

/** Records of one kind written per second before the rest are only counted. */
export const PER_SECOND = 10;

/** Every kind of event the log reports: the broker's and the server's own. */
export type EventKind = BrokerEventKind | "store_error";

interface Window {
  startedAt: number;
  written: number;
  suppressed: number;
  level: LogLevel;
}

/** Writes operator events to a logger, rate-limited per kind. */
export class EventLog {
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #windows = new Map<EventKind, Window>();

  constructor(logger: Logger, now: () => number = Date.now) {
    this.#logger = logger;
    this.#now = now;
  }

  /** Writes one event unless its kind is past its rate this second; `fields` is built only when written. */
  report(kind: EventKind, level: LogLevel, msg: string, fields: () => LogFields): void {
    if (this.admit(kind, level)) this.#logger.log(level, msg, { event: kind, ...fields() });
  }

  /**
   * Whether one more event of this kind is written now; if not, it is counted
   * for the summary. A caller that asks first builds nothing for a held-back event.
   */
  admit(kind: EventKind, level: LogLevel): boolean {
    if (!this.#logger.enabled(level)) return false;
    const now = this.#now();
    let w = this.#windows.get(kind);
    if (w !== undefined && now - w.startedAt >= 1000) {
      this.#summarise(kind, w, now);
      w = undefined;
    }
    if (w === undefined) this.#windows.set(kind, w = { startedAt: now, written: 0, suppressed: 0, level });
    if (w.written >= PER_SECOND) {
      w.suppressed++;
      return false;
    }
    w.written++;
    return true;
  }

  /** Writes an event that {@link admit} let through. */
  write(kind: EventKind, level: LogLevel, msg: string, fields: LogFields): void {
    this.#logger.log(level, msg, { event: kind, ...fields });
  }

  /** Writes the summaries of seconds that are over (the server calls it from its tick). */
  flush(): void {
    const now = this.#now();
    for (const [kind, w] of this.#windows) {
      if (now - w.startedAt < 1000) continue;
      this.#summarise(kind, w, now);
      this.#windows.delete(kind);
    }
  }

  #summarise(kind: EventKind, w: Window, now: number): void {
    if (w.suppressed === 0) return;
    const seconds = Math.max(1, Math.round((now - w.startedAt) / 1000));
    this.#logger.log(w.level, `edgemq: suppressed ${w.suppressed} similar events (${kind}) in the last ${seconds} s`, { event: kind, suppressed: w.suppressed });
  }
}

const hex = (code: number) => `0x${code.toString(16).padStart(2, "0")}`;

// What each kind of broker event says, and what its detail is.
const TEXT: Record<BrokerEventKind, { msg: string; level: LogLevel; detail: string }> = {
  connect_refused: { msg: "edgemq: connection refused", level: "warn", detail: "reason" },
  publish_denied: { msg: "edgemq: publish denied", level: "warn", detail: "topic" },
  subscribe_denied: { msg: "edgemq: subscribe denied", level: "warn", detail: "filter" },
  malformed_packet: { msg: "edgemq: malformed packet: connection closed", level: "warn", detail: "reason" },
  protocol_error: { msg: "edgemq: protocol error: connection closed", level: "warn", detail: "reason" },
  rate_limited: { msg: "edgemq: message rate too high: connection closed", level: "warn", detail: "reason" },
  hook_failed: { msg: "edgemq: hook failed", level: "error", detail: "reason" },
  queue_full: { msg: "edgemq: message dropped: the session's queue is full (a slow or absent consumer)", level: "warn", detail: "topic" },
  memory_budget: { msg: "edgemq: the server's memory budget is spent (raise --memory-budget if the machine has room)", level: "warn", detail: "reason" },
};

/** A hook that writes one broker's events (refusals, denials, protocol errors, drops) to the event log; no broker for the router's refusals. */
export function eventLogHook(events: EventLog, broker: string | undefined): Hook {
  return {
    name: "event-log",
    onEvent(kind: BrokerEventKind, clientId: string, conn: ConnInfo, reasonCode: number, detail: string | undefined) {
      const t = TEXT[kind];
      // Asked first: a flood of held-back events (a slow consumer's drops) allocates nothing.
      if (!events.admit(kind, t.level)) return;
      events.write(kind, t.level, t.msg, {
        broker,
        client_id: clientId,
        remote: conn.remoteAddress === "" ? undefined : `${conn.remoteAddress}:${conn.remotePort}`,
        reason_code: hex(reasonCode),
        [t.detail]: detail,
      });
    },
  };
}

/** Logs what the store reports: a failure (with what it means for clients) as an error, anything else as a warning. */
export function logStoreError(events: EventLog, error: Error): void {
  if (!(error instanceof StoreFailedError)) return events.report("store_error", "warn", `edgemq: store: ${error.message}`, () => ({}));
  events.report("store_error", "error", `edgemq: store error: ${error.message}`, () => ({
    effect: "nothing more is acknowledged: lasting-session CONNECTs get CONNACK 0x89 (3.1.1: 3), other writes end their connection with DISCONNECT 0x80",
  }));
}

/** An on-publish handler whose failures go to the event log (and, given `observe`, whose call durations are measured). */
export function observedHandler(handler: OnPublishHandler, broker: string, events: EventLog, observe?: (ms: number) => void): OnPublishHandler {
  return async (messages) => {
    const started = performance.now();
    try {
      return await handler(messages);
    } catch (e) {
      events.report("hook_failed", "error", "edgemq: on-publish hook failed", () => ({
        broker, client_id: messages[0]?.clientId, messages: messages.length, reason: e instanceof Error ? e.message : String(e),
      }));
      throw e;
    } finally {
      observe?.(performance.now() - started);
    }
  };
}
