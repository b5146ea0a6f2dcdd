// The server's own copy of the CLI's suggester (packages import each other only through their entry points),
// with two additions: a word that begins a candidate ("maxPacket", "maximumPacketSize") suggests it, and a swap
// of two letters is one edit ("prot", "port").

// "max"/"min" for "maximum"/"minimum", lower case: how people shorten the limits' names.
const short = (w: string) => w.toLowerCase().replace(/maximum/g, "max").replace(/minimum/g, "min");

/** The closest of `candidates` to a mistyped word, if one is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const begun = word.length >= 4 ? candidates.filter((c) => short(c).startsWith(short(word))) : [];
  // Of several, the shortest: the least left unsaid.
  if (begun.length > 0) return begun.reduce((a, b) => (b.length < a.length ? b : a));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(short(word), short(c));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  // A third of the word, at least 1 and at most 3 edits: "brokr" finds "broker", "x" finds nothing.
  const allowed = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  return bestDistance <= allowed ? best : undefined;
}

// Damerau-Levenshtein distance (optimal string alignment): insertions, deletions, substitutions and swaps ("prot", "port").
function distance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, before[j - 2]! + 1);
    }
    before = prev;
    prev = row;
  }
  return prev[b.length]!;
}
