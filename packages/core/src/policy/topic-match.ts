/** True if the topic name matches the filter, with `$` topics hidden from leading wildcards [MQTT-4.7.2-1]. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false; // [MQTT-4.7.2-1]
  const f = filter.split("/"), t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === "#") return true; // also matches the parent level [MQTT-4.7.1-1]
    if (i >= t.length) return false;
    if (level !== "+" && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * True if every topic that `inner` can match is also matched by `outer`:
 * `a/#` covers `a/+/c` and `a`, but not `#` or `+/c`.
 */
export function filterCovers(outer: string, inner: string): boolean {
  // `#` or `+/…` does not reach `$` topics, so it cannot cover a `$` filter [MQTT-4.7.2-1].
  if (inner.startsWith("$") && (outer.startsWith("+") || outer.startsWith("#"))) return false;
  const o = outer.split("/"), n = inner.split("/");
  for (let i = 0; i < o.length; i++) {
    const level = o[i]!;
    if (level === "#") return true;
    if (i >= n.length) return false;
    const sub = n[i]!;
    if (sub === "#") return false; // inner reaches deeper than outer allows
    if (level === "+") continue;
    if (sub === "+" || sub !== level) return false;
  }
  return o.length === n.length;
}
