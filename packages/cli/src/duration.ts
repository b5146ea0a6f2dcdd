const UNITS: Record<string, number> = {
  s: 1, sec: 1, secs: 1, second: 1, seconds: 1,
  m: 60, min: 60, mins: 60, minute: 60, minutes: 60,
  h: 3600, hr: 3600, hrs: 3600, hour: 3600, hours: 3600,
  d: 86_400, day: 86_400, days: 86_400,
  w: 604_800, week: 604_800, weeks: 604_800,
  y: 31_536_000, yr: 31_536_000, yrs: 31_536_000, year: 31_536_000, years: 31_536_000,
};

/**
 * A duration as whole seconds: `3600`, `90s`, `15m`, `48h`, `30d`, `2w`,
 * `1y` or `6 days` (wrangler's forms; the API takes seconds). Undefined if it is none of these.
 */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  if (m === null) return undefined;
  const unit = m[2]!.toLowerCase();
  const factor = unit === "" ? 1 : UNITS[unit];
  if (factor === undefined) return undefined;
  const seconds = Number(m[1]) * factor;
  return Number.isSafeInteger(seconds) ? seconds : undefined;
}

/** Seconds as people read them: `30d`, `1h 30m`, `45s`; `none` for null. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "none";
  if (seconds === 0) return "0s";
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of [["d", 86_400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join(" ");
}
