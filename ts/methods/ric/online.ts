// The pieces of RiC's online stage, multi-objective rejection sampling (design:
// ../shared/design/paretohqd.md §9.5): the goals the model is asked for, and which samples are kept.
import { quantileSorted } from '../../data/normalise.js';
import type { Rng } from '../../util/rng.js';
import { roundScore } from './prompt.js';

/**
 * One goal per prompt: every coordinate drawn from U[low, high] and rounded to 0.1, then all but
 * the smallest set to high, so each goal pushes one objective to a random level and the rest to
 * the top (the first smallest on ties).
 */
export function drawGoals(n: number, m: number, [low, high]: readonly [number, number], rng: Rng): number[][] {
  return Array.from({ length: n }, () => {
    const draw = Array.from({ length: m }, () => roundScore(low + (high - low) * rng.uniform()));
    const keep = draw.indexOf(Math.min(...draw));
    return draw.map((v, i) => (i === keep ? v : high));
  });
}

/**
 * Which rows of a row-major (n, m) score matrix reach, on some objective, the `quantile` of that
 * objective over the same rows (numpy's linear quantile).
 */
export function keptRows(scores: ArrayLike<number>, m: number, quantile: number): boolean[] {
  const n = scores.length / m;
  if (!Number.isInteger(n) || n === 0) throw new RangeError(`scores hold ${scores.length} numbers, not a positive whole number of rows of ${m}`);
  const thresholds = Array.from({ length: m }, (_, j) => {
    const column = Float64Array.from({ length: n }, (_, i) => scores[i * m + j]).sort();
    return quantileSorted(column, quantile);
  });
  return Array.from({ length: n }, (_, i) => thresholds.some((q, j) => scores[i * m + j] >= q));
}
