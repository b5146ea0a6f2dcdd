// What goes wrong under a listener (an accept that fails, a socket reset
// mid-handshake) is logged, not thrown: a listener must go on accepting. A
// client can cause such errors at will, so each distinct one is written at
// most once a minute, with a count of the ones held back.
import type { Logger, LogLevel } from "./logger.ts";

/** Reports an error under a listener: `what` failed (e.g. `accept`), with the runtime's error. */
export type ListenerErrorReport = (what: string, error: unknown, level?: LogLevel) => void;

const WINDOW_MS = 60_000;
// Distinct errors remembered at once; past it the oldest is forgotten (and may be logged again).
const MAX_KINDS = 64;

/** The name or code a runtime gives an error (ENOTCONN, NotConnected, ECONNRESET, …). */
function kindOf(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown } | undefined;
  return String(e?.code ?? e?.name ?? "Error");
}

/** A {@link ListenerErrorReport} writing to the server's logger, once a minute per distinct error. */
export function listenerErrorLog(logger: Logger, listener: string, now: () => number = Date.now): ListenerErrorReport {
  const seen = new Map<string, { at: number; held: number }>();
  return (what, error, level = "warn") => {
    if (!logger.enabled(level)) return;
    const key = `${what} ${kindOf(error)}`;
    const t = now();
    const last = seen.get(key);
    if (last !== undefined && t - last.at < WINDOW_MS) {
      last.held++;
      return;
    }
    seen.delete(key);
    if (seen.size >= MAX_KINDS) seen.delete(seen.keys().next().value!);
    seen.set(key, { at: t, held: 0 });
    const message = String((error as Error | undefined)?.message ?? error);
    logger.log(level, `edgemq: ${listener}: ${what} failed: ${message}; the listener goes on accepting`, {
      error: kindOf(error), similar_in_last_minute: last !== undefined && last.held > 0 ? last.held : undefined,
    });
  };
}
