/** The closest of `candidates` to a mistyped word, if one is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  // A third of the word, at least 1 and at most 3 edits: "brokr" finds "broker", "x" finds nothing.
  const allowed = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  return bestDistance <= allowed ? best : undefined;
}

/** ` (did you mean "x"?)` to follow the mistyped word in a message, or nothing when no candidate is close. */
export function didYouMean(word: string, candidates: readonly string[], prefix = ""): string {
  const c = closest(word, candidates);
  return c === undefined ? "" : ` (did you mean "${prefix}${c}"?)`;
}

// Levenshtein distance: insertions, deletions and substitutions.
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
