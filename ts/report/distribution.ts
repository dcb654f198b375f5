// The reward distribution of a scored pool with its Pareto layers marked: the analogue of the
// ParetoHqD paper's Figure 3. One panel per pair of objectives.
import type { ScoredDataset } from '../data/records.js';
import { paretoRanks } from '../moo/pareto.js';
import { chartGrid, type ChartOptions, type Series } from './svg.js';

/** Layer bands drawn from the back to the front, so the first layer is on top. */
const BANDS = [
  { name: 'layers 11+', from: 11, to: Number.POSITIVE_INFINITY, color: '#b8b8b8', radius: 1.6, opacity: 0.35 },
  { name: 'layers 4–10', from: 4, to: 10, color: '#f2c14e', radius: 1.8, opacity: 0.6 },
  { name: 'layers 2–3', from: 2, to: 3, color: '#f08a24', radius: 2.2, opacity: 0.8 },
  { name: 'layer 1 (Pareto front)', from: 1, to: 1, color: '#c0262d', radius: 2.8, opacity: 0.95 },
];

/** An SVG of the pool's rewards, coloured by Pareto layer (maximising every objective); a larger
 *  circle stands for more samples at the same point. */
export function poolDistributionSvg(pool: ScoredDataset, options: { title?: string; subtitle?: string } = {}): string {
  const m = pool.objectives.length;
  const ranks = paretoRanks({ data: pool.rewards, m });
  const pairs: [number, number][] = [];
  for (let a = 0; a < m; a++) for (let b = a + 1; b < m; b++) pairs.push([a, b]);
  const charts: ChartOptions[] = pairs.map(([a, b], k) => {
    // one circle per distinct point of a band, its area growing with the samples it stands for
    // (rewards are often discrete, so thousands of samples share a few hundred points)
    const counts = BANDS.map(() => new Map<string, { x: number; y: number; n: number }>());
    ranks.forEach((r, i) => {
      const band = BANDS.findIndex((x) => r >= x.from && r <= x.to);
      const x = pool.rewards[i * m + a];
      const y = pool.rewards[i * m + b];
      const key = `${x},${y}`;
      const c = counts[band].get(key);
      if (c) c.n++;
      else counts[band].set(key, { x, y, n: 1 });
    });
    const series: Series[] = BANDS.map((band, j) => {
      const cells = [...counts[j].values()];
      return {
        name: band.name,
        color: band.color,
        opacity: band.opacity,
        points: cells.map((c) => [c.x, c.y] as const),
        radii: cells.map((c) => band.radius * Math.sqrt(1 + Math.log(c.n))),
      };
    });
    return {
      title: k === 0 ? options.title : undefined,
      subtitle: k === 0 ? options.subtitle : undefined,
      xLabel: pool.objectives[a],
      yLabel: pool.objectives[b],
      series: series.filter((s) => s.points.length > 0),
      width: 640,
      height: 420,
    };
  });
  return chartGrid(charts, Math.min(3, charts.length));
}
