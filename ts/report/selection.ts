// A ParetoHqD selection drawn in normalised reward space: the pool, its top Pareto layers (the
// candidates), and for each preference its ray from the ideal point and the samples it selected.
// One panel for two objectives, one per pair of objectives beyond.
import type { SelectionRecord } from '../moo/select.js';
import { formatPreference } from '../moo/preferences.js';
import { chartGrid, type ChartOptions, type Series } from './svg.js';

/** Most points drawn per background series (pool, candidates); beyond, an even stride of them. */
export const MAX_DRAWN = 6000;
/** Most preferences named in the legend. */
const MAX_LEGEND = 20;

/** A vivid colour per preference, hues spread from red to violet (no greys: those are the pool). */
export function preferenceColor(p: number, count: number): string {
  const hue = count <= 1 ? 0 : (300 * p) / (count - 1);
  // HSL (s = 0.8, l = 0.45) to hex
  const s = 0.8;
  const l = 0.45;
  const a = s * Math.min(l, 1 - l);
  const channel = (n: number) => {
    const k = (n + hue / 30) % 12;
    const v = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(255 * v)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}

/** Every `step`-th of `rows`, so at most MAX_DRAWN of them. */
function thin(rows: number[]): number[] {
  if (rows.length <= MAX_DRAWN) return rows;
  const step = rows.length / MAX_DRAWN;
  return Array.from({ length: MAX_DRAWN }, (_, i) => rows[Math.floor(i * step)]);
}

/**
 * The selection as SVG. `rewards` is the pool's row-major raw reward matrix the record was made
 * from, and `ranks` each row's front within the candidate layers (0 beyond), as
 * selectParetoHqWithRanks returns them.
 */
export function selectionSvg(rewards: Float64Array, record: SelectionRecord, ranks: Int32Array, options: { title?: string } = {}): string {
  const { objectives, lo, hi, selections } = record;
  const m = objectives.length;
  const n = rewards.length / m;
  if (n !== record.samples || ranks.length !== n) throw new RangeError(`the record is of ${record.samples} samples, the rewards hold ${n} rows and ranks ${ranks.length}`);
  const norm = (i: number, j: number) => Math.min(1, Math.max(0, (rewards[i * m + j] - lo[j]) / (hi[j] - lo[j])));

  const pool: number[] = [];
  const layers: number[] = [];
  const first: number[] = [];
  for (let i = 0; i < n; i++) (ranks[i] === 0 ? pool : ranks[i] === 1 ? first : layers).push(i);
  const drawn = { pool: thin(pool), layers: thin(layers), first: thin(first) };

  // Each ray leaves the unit cube where its first coordinate reaches 0: t = min 1/|u_i|.
  const rays = selections.map(({ preference: w }) => {
    const norm2 = Math.sqrt(w.reduce((s, x) => s + (x - 1) * (x - 1), 0));
    const u = w.map((x) => (x - 1) / norm2);
    const t = Math.min(...u.filter((x) => x < 0).map((x) => -1 / x));
    return u.map((x) => 1 + t * x);
  });

  const pairs: [number, number][] = [];
  for (let a = 0; a < m; a++) for (let b = a + 1; b < m; b++) pairs.push([a, b]);
  const charts: ChartOptions[] = pairs.map(([a, b], panel) => {
    const at = (rows: number[]) => rows.map((i) => [norm(i, a), norm(i, b)] as [number, number]);
    const series: Series[] = [
      { name: `pool (${pool.length.toLocaleString('en-US')})`, points: at(drawn.pool), color: '#c8c8c8', radius: 1.4, opacity: 0.45 },
      { name: `layers 2–${record.layers} (${layers.length.toLocaleString('en-US')})`, points: at(drawn.layers), color: '#8fb3cf', radius: 1.6, opacity: 0.6 },
      { name: `layer 1 (${first.length.toLocaleString('en-US')})`, points: at(drawn.first), color: '#2c3e50', radius: 2.4, opacity: 0.9 },
    ].filter((s) => s.points.length > 0);
    selections.forEach((s, p) => {
      const color = preferenceColor(p, selections.length);
      series.push({ name: '', points: [[1, 1], [rays[p][a], rays[p][b]]], color, line: true, opacity: 0.8, legend: false });
      series.push({ name: `ω = ${formatPreference(s.preference)}`, points: at(s.indices), color, radius: 2.6, opacity: 0.9, legend: p < MAX_LEGEND });
    });
    const thinned = [pool, layers, first].some((rows) => rows.length > MAX_DRAWN) ? `; thinned to ${MAX_DRAWN.toLocaleString('en-US')}/series` : '';
    const moreLegend = selections.length > MAX_LEGEND ? `; ${selections.length - MAX_LEGEND} ω not in the legend` : '';
    return {
      title:
        panel === 0
          ? (options.title ??
            `ParetoHqD selection: k = ${record.options.k} for ${selections.length} preferences`)
          : undefined,
      subtitle:
        panel === 0
          ? `${record.candidates.toLocaleString('en-US')} candidates in ${record.layers} Pareto layers, ${record.options.distance} distance${thinned}${moreLegend}`
          : undefined,
      xLabel: `${objectives[a]} (normalised)`,
      yLabel: `${objectives[b]} (normalised)`,
      series,
      width: 640,
      height: 480,
      legend: 'right' as const,
    };
  });
  return chartGrid(charts, Math.min(3, charts.length));
}
