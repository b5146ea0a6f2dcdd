/** What a {@link MemoryBudget} holds bytes for. */
export type BudgetKind = "partialPackets" | "queues";

/** Bytes a connection may hold in one partial packet whatever the budget says: below it nobody is refused. */
export const PARTIAL_PACKET_FLOOR = 64 * 1024;

/**
 * A process-wide budget of bytes held on clients' behalf: partial packets
 * waiting for their last byte, and messages queued for slow or absent
 * (offline) sessions. Every broker of a server shares one, so that no tenant,
 * whatever its own limits, can take the memory the others need. Per-broker
 * limits bound one client; this bounds their sum. It also counts the
 * sessions of every broker, against a process-wide cap.
 */
export class MemoryBudget {
  /** The most bytes held at once; 0: no budget (only the per-broker limits apply). */
  readonly limit: number;
  /** Bytes held now, by kind. */
  readonly held: Record<BudgetKind, number> = { partialPackets: 0, queues: 0 };
  /** Times a take was refused because the budget was spent, by kind. */
  readonly refused: Record<BudgetKind, number> = { partialPackets: 0, queues: 0 };
  /** The most sessions all brokers together hold; 0: no cap (only each broker's `maximumSessions`). */
  readonly sessionLimit: number;
  /** Sessions held now, all brokers together. */
  sessions = 0;
  #total = 0;

  constructor(limit = 0, sessionLimit = 0) {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`a memory budget is a whole number of bytes >= 0, not ${limit}`);
    if (!Number.isSafeInteger(sessionLimit) || sessionLimit < 0) throw new RangeError(`a session cap is a whole number >= 0, not ${sessionLimit}`);
    this.limit = limit;
    this.sessionLimit = sessionLimit;
  }

  /** Whether one more session fits under the process-wide cap. */
  get sessionsFull(): boolean {
    return this.sessionLimit > 0 && this.sessions >= this.sessionLimit;
  }

  /** Bytes held now, all kinds together. */
  get total(): number {
    return this.#total;
  }

  /**
   * Takes `bytes` for `kind`: false (and counted as refused) when that would
   * pass the limit, unless `force` (state that must not be lost, such as
   * acknowledged messages restored at start).
   */
  take(kind: BudgetKind, bytes: number, force = false): boolean {
    if (this.limit > 0 && this.#total + bytes > this.limit && !force) {
      this.refused[kind]++;
      return false;
    }
    this.#total += bytes;
    this.held[kind] += bytes;
    return true;
  }

  /** Gives back bytes taken for `kind`. */
  give(kind: BudgetKind, bytes: number): void {
    this.#total -= bytes;
    this.held[kind] -= bytes;
  }
}

/** A budget without a limit, for a broker made without one. */
export const unlimitedBudget = (): MemoryBudget => new MemoryBudget(0);
