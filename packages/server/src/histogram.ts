/** Upper bounds (seconds) of the latency histograms' buckets. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** A Prometheus histogram of durations in seconds, with fixed buckets. */
export class Histogram {
  readonly counts = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  sum = 0;
  count = 0;

  /** Records one duration, in milliseconds. */
  observeMs(ms: number): void {
    const s = ms / 1000;
    this.sum += s;
    this.count++;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      if (s <= LATENCY_BUCKETS[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  /** The histogram's lines in the text exposition format (buckets are cumulative); `labels` is rendered, e.g. `broker="a"`. */
  render(name: string, labels = ""): string[] {
    const lines: string[] = [];
    let cumulative = 0;
    const sep = labels === "" ? "" : `${labels},`;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      cumulative += this.counts[i]!;
      lines.push(`${name}_bucket{${sep}le="${LATENCY_BUCKETS[i]}"} ${cumulative}`);
    }
    lines.push(`${name}_bucket{${sep}le="+Inf"} ${this.count}`);
    const braces = labels === "" ? "" : `{${labels}}`;
    lines.push(`${name}_sum${braces} ${this.sum}`, `${name}_count${braces} ${this.count}`);
    return lines;
  }
}
