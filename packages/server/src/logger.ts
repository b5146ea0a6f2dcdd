import type { Hook } from "@edgemq/core";

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Extra fields of a log record. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** Writes log records at or above a level, as text lines or one JSON object per line. */
export class Logger {
  readonly level: LogLevel;
  readonly format: "text" | "json";
  readonly #out: (line: string) => void;
  readonly #err: (line: string) => void;
  readonly #now: () => number;

  /** A logger writing info and debug to `out`, warnings and errors to `err`. */
  constructor(options: { level: LogLevel; format: "text" | "json"; out(line: string): void; err(line: string): void; now?: () => number }) {
    this.level = options.level;
    this.format = options.format;
    this.#out = options.out;
    this.#err = options.err;
    this.#now = options.now ?? Date.now;
  }

  /** Whether records of this level are written (check before building costly fields). */
  enabled(level: LogLevel): boolean {
    return RANK[level] >= RANK[this.level];
  }

  debug(msg: string, fields?: LogFields): void { this.log("debug", msg, fields); }
  info(msg: string, fields?: LogFields): void { this.log("info", msg, fields); }
  warn(msg: string, fields?: LogFields): void { this.log("warn", msg, fields); }
  error(msg: string, fields?: LogFields): void { this.log("error", msg, fields); }

  /**
   * Writes one record. A text line is the time (UTC, ISO 8601), the level, then
   * the message, which starts with `edgemq:` as every message of the command line does.
   */
  log(level: LogLevel, msg: string, fields: LogFields = {}): void {
    if (!this.enabled(level)) return;
    const write = RANK[level] >= RANK.warn ? this.#err : this.#out;
    const time = new Date(this.#now()).toISOString();
    if (this.format === "json") {
      write(JSON.stringify({ time, level, msg, ...fields }));
      return;
    }
    const extra = Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${typeof v === "string" && (v === "" || /[\s"]/.test(v)) ? JSON.stringify(v) : v}`);
    write(`${time} ${level} ${msg}${extra.length > 0 ? ` (${extra.join(" ")})` : ""}`);
  }
}

/** A hook that logs connections and disconnections at debug level. */
export function connectionLogHook(logger: Logger, broker: string): Hook {
  return {
    name: "log",
    onConnected(client) {
      if (!logger.enabled("debug")) return;
      logger.debug("edgemq: client connected", {
        broker, client_id: client.clientId, username: client.username, protocol: client.protocolVersion,
        transport: client.conn.transport, remote: `${client.conn.remoteAddress}:${client.conn.remotePort}`,
      });
    },
    onDisconnected(client, reasonCode) {
      if (!logger.enabled("debug")) return;
      logger.debug("edgemq: client disconnected", { broker, client_id: client.clientId, reason_code: `0x${reasonCode.toString(16).padStart(2, "0")}` });
    },
  };
}
