import { readdirSync, readFileSync } from "node:fs";
import { PerformanceObserver } from "node:perf_hooks";
import process from "node:process";
import { Histogram } from "./histogram.ts";

/**
 * Measures event-loop lag: a timer due every `intervalMs` records how late it
 * ran. Lag is what every connection waits before its bytes are looked at.
 * Timer drift is measured on every runtime alike: `monitorEventLoopDelay`
 * exists on Node and Bun, but Deno's does not see a blocked loop (it reports
 * microseconds for a 300 ms block), and one method keeps the numbers comparable.
 */
export class EventLoopLag {
  readonly histogram = new Histogram();
  /** The latest lag, in milliseconds. */
  last = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /** Starts measuring every `intervalMs`. */
  start(intervalMs = 200): this {
    const tick = (due: number) => {
      if (this.#stopped) return;
      const lag = Math.max(0, performance.now() - due);
      this.last = lag;
      this.histogram.observeMs(lag);
      this.#schedule(intervalMs, tick);
    };
    this.#schedule(intervalMs, tick);
    return this;
  }

  /** Stops measuring. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }

  #schedule(intervalMs: number, tick: (due: number) => void): void {
    const due = performance.now() + intervalMs;
    this.#timer = setTimeout(() => tick(due), intervalMs);
    // A measuring timer must not keep the process alive (Node, Bun; Deno has Deno.unrefTimer).
    (this.#timer as { unref?: () => void }).unref?.();
  }
}

/**
 * Garbage-collection pauses by kind, where the runtime reports them: Node's
 * PerformanceObserver `gc` entries. Bun has no `gc` entry type, and Deno lists
 * one but never delivers an entry, so there `available` is false and
 * /metrics leaves the family out rather than show a pause-free runtime.
 */
export class GcPauses {
  readonly byKind = new Map<string, Histogram>();
  readonly available: boolean;
  #observer: PerformanceObserver | undefined;

  constructor() {
    const g = globalThis as { Deno?: unknown; Bun?: unknown };
    this.available = g.Deno === undefined && g.Bun === undefined && (PerformanceObserver as { supportedEntryTypes?: readonly string[] }).supportedEntryTypes?.includes("gc") === true;
    if (!this.available) return;
    this.#observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = GC_KINDS[(e as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? "other";
        let h = this.byKind.get(kind);
        if (h === undefined) this.byKind.set(kind, h = new Histogram());
        h.observeMs(e.duration);
      }
    });
    this.#observer.observe({ entryTypes: ["gc"] });
  }

  /** Stops observing. */
  stop(): void {
    this.#observer?.disconnect();
  }
}

// Node's perf_hooks.constants.NODE_PERFORMANCE_GC_* values.
const GC_KINDS: Record<number, string> = { 1: "minor", 2: "major", 4: "incremental", 8: "weakcb" };

/** The standard process metrics, each undefined where this platform cannot say. */
export interface ProcessFigures {
  cpuSeconds: number | undefined;
  residentBytes: number | undefined;
  openFds: number | undefined;
  maxFds: number | undefined;
}

/** Reads CPU time and resident memory (every runtime), and file descriptors from /proc (Linux). */
export function processFigures(): ProcessFigures {
  return {
    cpuSeconds: attempt(() => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    }),
    residentBytes: attempt(() => process.memoryUsage.rss?.() ?? process.memoryUsage().rss),
    // The listing itself holds one descriptor open while it reads.
    openFds: attempt(() => readdirSync("/proc/self/fd").length - 1),
    maxFds: attempt(() => {
      const m = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
      return m ? Number(m[1]) : undefined;
    }),
  };
}

// A figure the platform (no /proc) or a Deno permission withholds is left out, not reported as 0.
function attempt(read: () => number | undefined): number | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
