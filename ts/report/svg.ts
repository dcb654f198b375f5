// Plain SVG charts for moalign's reports: scatter plots (reward distributions, Pareto fronts) and
// line charts (training curves), as self-contained strings that a browser or an <img> shows.
// Hand-written rather than a charting library: the charting packages on npm either need a DOM
// (d3's selections, chart.js's canvas) or bring a large runtime (vega); these two chart kinds are
// a hundred lines.

export interface Series {
  name: string;
  /** (x, y) pairs. */
  points: readonly (readonly [number, number])[];
  color: string;
  /** Circle radius for scatter series. Default 2. */
  radius?: number;
  /** Per-point radius (overrides `radius`), e.g. to show how many samples share a point. */
  radii?: readonly number[];
  /** Default 0.7. */
  opacity?: number;
  /** Draw as a polyline (line charts) instead of circles. */
  line?: boolean;
  /** With `line`: also draw the points as circles (a front's points joined in order). */
  markers?: boolean;
  /** A text beside each point (labels[i] for points[i]; missing or empty ones are not drawn). */
  labels?: readonly string[];
  /** List the series in the legend. Default true. */
  legend?: boolean;
}

export interface ChartOptions {
  title?: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** Default 560 × 360. */
  width?: number;
  height?: number;
  /** A note under the title. */
  subtitle?: string;
}

// the legend sits in the right margin, outside the data
const MARGIN = { left: 64, right: 170, top: 44, bottom: 48 };

/** Escapes text for SVG. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  // the finest round step that gives at most count + 1 intervals
  const step = [1, 2, 5, 10].map((f) => f * power).find((s) => (hi - lo) / s <= count + 1) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function extent(values: number[]): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi === lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * 0.04;
  return [lo - pad, hi + pad];
}

function fmtTick(v: number): string {
  return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(6)));
}

/** One chart as SVG elements inside a <g> translated to (x0, y0); used alone or in a grid. */
function chartBody(o: ChartOptions, x0: number, y0: number): string {
  const W = o.width ?? 560;
  const H = o.height ?? 360;
  const all = o.series.flatMap((s) => s.points);
  const [xlo, xhi] = extent(all.map((p) => p[0]));
  const [ylo, yhi] = extent(all.map((p) => p[1]));
  const pw = W - MARGIN.left - MARGIN.right;
  const ph = H - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => MARGIN.left + ((x - xlo) / (xhi - xlo)) * pw;
  const sy = (y: number) => MARGIN.top + ph - ((y - ylo) / (yhi - ylo)) * ph;
  const r2 = (v: number) => Math.round(v * 10) / 10;
  const out: string[] = [`<g transform="translate(${x0},${y0})" font-family="sans-serif" font-size="11">`];
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${pw}" height="${ph}" fill="#fafafa" stroke="#999"/>`);
  for (const t of niceTicks(xlo, xhi)) {
    const x = r2(sx(t));
    out.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${MARGIN.top + ph}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${x}" y="${MARGIN.top + ph + 14}" text-anchor="middle">${fmtTick(t)}</text>`);
  }
  for (const t of niceTicks(ylo, yhi)) {
    const y = r2(sy(t));
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + pw}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${y + 4}" text-anchor="end">${fmtTick(t)}</text>`);
  }
  for (const s of o.series) {
    const opacity = s.opacity ?? 0.7;
    const r = s.radius ?? 2;
    // each series in its own group, named, so that a reader (or a test in a browser) can find it
    out.push(`<g class="series" data-series="${escapeXml(s.name)}">`);
    if (s.line) {
      const d = s.points.map((p) => `${r2(sx(p[0]))},${r2(sy(p[1]))}`).join(' ');
      out.push(`<polyline class="line" points="${d}" fill="none" stroke="${s.color}" stroke-width="1.5" opacity="${opacity}"/>`);
    }
    if (!s.line || s.markers) {
      out.push(`<g class="markers" fill="${s.color}" fill-opacity="${opacity}">`);
      s.points.forEach((p, i) => out.push(`<circle cx="${r2(sx(p[0]))}" cy="${r2(sy(p[1]))}" r="${r2(s.radii?.[i] ?? r)}"/>`));
      out.push('</g>');
    }
    if (s.labels) {
      out.push(`<g class="labels" fill="${s.color}" font-size="9">`);
      s.points.forEach((p, i) => {
        const label = s.labels?.[i];
        if (!label) return;
        // right of the point, or left of it near the right edge, so the label stays in the chart
        const x = sx(p[0]);
        const left = x > MARGIN.left + 0.8 * pw;
        out.push(`<text x="${r2(left ? x - r - 2 : x + r + 2)}" y="${r2(sy(p[1]) - r - 1)}"${left ? ' text-anchor="end"' : ''}>${escapeXml(label)}</text>`);
      });
      out.push('</g>');
    }
    out.push('</g>');
  }
  // legend, right of the plot, where it never covers a point
  o.series
    .filter((s) => s.legend !== false)
    .forEach((s, i) => {
      const y = MARGIN.top + 12 + i * 16;
      const x = MARGIN.left + pw + 12;
      out.push(`<rect x="${x}" y="${y - 8}" width="10" height="10" fill="${s.color}"/>`);
      out.push(`<text x="${x + 14}" y="${y + 1}">${escapeXml(s.name)}</text>`);
    });
  if (o.title) out.push(`<text x="${MARGIN.left}" y="16" font-size="13" font-weight="bold">${escapeXml(o.title)}</text>`);
  if (o.subtitle) out.push(`<text x="${MARGIN.left}" y="32" fill="#555">${escapeXml(o.subtitle)}</text>`);
  out.push(`<text x="${MARGIN.left + pw / 2}" y="${H - 10}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  out.push(`<text transform="translate(14,${MARGIN.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(o.yLabel)}</text>`);
  out.push('</g>');
  return out.join('\n');
}

/** Charts side by side (`columns` per row) in one SVG document; `id` names its <svg> element
 *  (for a page that inlines several). */
export function chartGrid(charts: readonly ChartOptions[], columns = charts.length, options: { id?: string } = {}): string {
  const W = charts[0]?.width ?? 560;
  const H = charts[0]?.height ?? 360;
  const rows = Math.ceil(charts.length / columns);
  const body = charts.map((c, i) => chartBody({ ...c, width: W, height: H }, (i % columns) * W, Math.floor(i / columns) * H));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg"${options.id === undefined ? '' : ` id="${escapeXml(options.id)}"`} width="${W * Math.min(columns, charts.length)}" height="${H * rows}" viewBox="0 0 ${W * Math.min(columns, charts.length)} ${H * rows}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** One chart as an SVG document. */
export function chart(options: ChartOptions): string {
  return chartGrid([options], 1);
}
