// A small line chart drawn on a <canvas>: two series (in and out) over time,
// no library, so the page needs nothing from elsewhere.
const COLOURS = { in: "#2563eb", out: "#d97706" };

/** A short form of a rate: 1234 → "1.2k". */
export function short(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n % 1 === 0 ? String(n) : n.toFixed(1);
}

/** Draws points `{t, in, out}` (t in ms) over the `spanMs` before the last one. */
export function drawChart(canvas, points, spanMs) {
  // Drawn at the size shown, in device pixels, so text and lines stay sharp at any width.
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width;
  const h = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
  if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const pad = { left: 44, right: 8, top: 8, bottom: 18 };
  ctx.clearRect(0, 0, w, h);
  const end = points.length > 0 ? points[points.length - 1].t : Date.now();
  const start = end - spanMs;
  const max = Math.max(1, ...points.flatMap((p) => [p.in, p.out]));
  const x = (t) => pad.left + ((t - start) / spanMs) * (w - pad.left - pad.right);
  const y = (v) => h - pad.bottom - (v / max) * (h - pad.top - pad.bottom);
  ctx.strokeStyle = "#ccc";
  ctx.fillStyle = "#555";
  ctx.font = "11px sans-serif";
  ctx.lineWidth = 1;
  for (const v of [0, max / 2, max]) {
    ctx.beginPath();
    ctx.moveTo(pad.left, y(v));
    ctx.lineTo(w - pad.right, y(v));
    ctx.stroke();
    ctx.fillText(short(v), 2, y(v) + 4);
  }
  ctx.fillText(`last ${Math.round(spanMs / 60000)} min`, pad.left, h - 4);
  for (const key of ["in", "out"]) {
    ctx.strokeStyle = COLOURS[key];
    ctx.lineWidth = 2;
    ctx.beginPath();
    points.filter((p) => p.t >= start).forEach((p, i) => (i === 0 ? ctx.moveTo(x(p.t), y(p[key])) : ctx.lineTo(x(p.t), y(p[key]))));
    ctx.stroke();
  }
}
