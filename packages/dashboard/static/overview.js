// The overview: polls GET /stats every 2 s and shows the figures of the
// brokers the token may see (or all of them together), with rates as charts.
import { call } from "./api.js";
import { drawChart } from "./chart.js";
import { showHealth } from "./health.js";

const SPAN_MS = 5 * 60_000;
const $ = (id) => document.getElementById(id);
const keyOf = (b) => (b.namespace === "" ? "default" : `${b.broker}.${b.namespace}`);
const REASONS = {
  queue_full_or_too_large: "dropped: queue full, too large or expired", denied: "denied by access rules", rate_limited: "rate limited (0x96)",
  quota: "quota refusals (0x97)", protocol_error: "protocol errors", hook_dropped: "dropped by the on-publish hook", hook_failed: "on-publish hook failed",
};

// The sum of the figures of some brokers.
function total(brokers) {
  const sum = { connections: 0, sessions: 0, subscriptions: 0, retained: 0, messages_received: 0, messages_sent: 0, bytes_received: 0, bytes_sent: 0, drops: {} };
  for (const b of brokers) {
    for (const k of Object.keys(sum)) if (k !== "drops") sum[k] += b[k];
    for (const [r, n] of Object.entries(b.drops)) sum.drops[r] = (sum.drops[r] ?? 0) + n;
  }
  return sum;
}

/** Starts polling; calls `onStats` with each answer (the page learns the token's role from it) and `onError` on a failure. */
export function startOverview(onStats, onError) {
  const history = new Map(); // scope key → [{t, figures}]
  const select = $("scope");
  let timer;
  let lastStats;
  const show = () => {
    if (lastStats !== undefined) showHealth(lastStats, select.value);
    const points = history.get(select.value) ?? [];
    const last = points[points.length - 1];
    if (last === undefined) return;
    const f = last.figures;
    $("card-connections").textContent = f.connections;
    $("card-sessions").textContent = f.sessions;
    $("card-subscriptions").textContent = f.subscriptions;
    $("card-retained").textContent = f.retained;
    $("card-messages-in").textContent = f.messages_received;
    $("card-messages-out").textContent = f.messages_sent;
    // Rates from each pair of polls; a counter that went down (a broker restarted) counts as 0.
    const rate = (a, b, k) => Math.max(0, (b.figures[k] - a.figures[k]) / ((b.t - a.t) / 1000));
    const rates = points.slice(1).map((p, i) => ({ t: p.t, m: [rate(points[i], p, "messages_received"), rate(points[i], p, "messages_sent")], b: [rate(points[i], p, "bytes_received"), rate(points[i], p, "bytes_sent")] }));
    drawChart($("chart-messages"), rates.map((r) => ({ t: r.t, in: r.m[0], out: r.m[1] })), SPAN_MS);
    drawChart($("chart-bytes"), rates.map((r) => ({ t: r.t, in: r.b[0], out: r.b[1] })), SPAN_MS);
    $("drops").tBodies[0].replaceChildren(...Object.entries(f.drops).map(([reason, n]) => {
      const tr = document.createElement("tr");
      for (const text of [REASONS[reason] ?? reason, String(n)]) tr.appendChild(document.createElement("td")).textContent = text;
      return tr;
    }));
  };
  const record = (key, t, figures) => {
    const points = history.get(key) ?? [];
    points.push({ t, figures });
    while (points.length > 0 && points[0].t < t - SPAN_MS - 2000) points.shift();
    history.set(key, points);
  };
  const poll = async () => {
    try {
      const stats = await call("GET", "/stats");
      const t = Date.now();
      record("*", t, total(stats.brokers));
      for (const b of stats.brokers) record(keyOf(b), t, total([b]));
      const keys = ["*", ...stats.brokers.map(keyOf)];
      if ([...select.options].map((o) => o.value).join() !== keys.join()) {
        const chosen = select.value;
        select.replaceChildren(...keys.map((k) => new Option(k === "*" ? "all brokers this token sees" : k, k)));
        select.value = keys.includes(chosen) ? chosen : "*";
      }
      lastStats = stats;
      onStats(stats);
      show();
    } catch (e) {
      onError(e);
    }
  };
  select.addEventListener("change", show);
  void poll();
  timer = setInterval(poll, 2000);
  return () => clearInterval(timer);
}
