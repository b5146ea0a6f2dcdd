//
// Where a session stands in each origin run's QoS 2 messages: the highest
// sequence of a run's messages it was sent at QoS 2 (given a packet id). A
// run's messages reach a session in order and leave its queue in order, so
// every message of that run up to the mark that the session takes at QoS 2
// was sent to it already: in flight (resent as it is) or finished. A node
// that reads a session's backlog after its node died does not send those
// again at QoS 2 (at QoS 1, through another subscription, it still does).
//

/** The marks as JSON keeps them: the highest sequence per origin run (`node\0incarnation`). */
export type MarksJson = Record<string, number>;

/** The most origin runs kept (past it, the oldest go: a message of theirs may come twice). */
const MAX_RUNS = 256;

/** A session's QoS 2 marks per origin run. */
export class Qos2Marks {
  readonly #runs = new Map<string, number>();

  /** The marks `json` describes (ignoring what is not a mark). */
  static from(json: unknown): Qos2Marks {
    const marks = new Qos2Marks();
    if (typeof json !== "object" || json === null) return marks;
    for (const [run, sequence] of Object.entries(json as MarksJson)) if (Number.isInteger(sequence)) marks.#runs.set(run, sequence);
    return marks;
  }

  /** Raises the mark of an origin key's run to its sequence; false when the key is not an origin or the mark was higher already. */
  note(origin: string): boolean {
    const cut = origin.lastIndexOf("\0");
    const sequence = Number(origin.slice(cut + 1));
    if (cut <= 0 || !Number.isInteger(sequence)) return false;
    const run = origin.slice(0, cut);
    const had = this.#runs.get(run);
    if (had !== undefined && had >= sequence) return false;
    // Re-inserted: the run heard from last is the last to go.
    this.#runs.delete(run);
    this.#runs.set(run, sequence);
    if (this.#runs.size > MAX_RUNS) this.#runs.delete(this.#runs.keys().next().value!);
    return true;
  }

  /** Raises every mark to `other`'s where it is higher. */
  merge(other: Qos2Marks): void {
    for (const [run, sequence] of other.#runs) {
      const had = this.#runs.get(run);
      if (had === undefined || had < sequence) this.#runs.set(run, sequence);
    }
  }

  /** Whether message `sequence` of `run` is at or below the run's mark. */
  covers(run: string, sequence: number): boolean {
    const mark = this.#runs.get(run);
    return mark !== undefined && sequence <= mark;
  }

  toJSON(): MarksJson {
    return Object.fromEntries(this.#runs);
  }
}
