// Non-dominated sorting (metrics.md §1), thin over native/core/moo/pareto_ranks.
import { native } from '../native/loader.js';
import { type Minimise, minimiseMask, type Points, toMatrix } from './points.js';

export interface ParetoRankOptions {
  /** Objectives to minimise (default: maximise all). */
  minimise?: Minimise;
  /** Stop once this many points are ranked; the front that reaches the count is completed. Default: rank all. */
  stopAfterPoints?: number;
  /** Rank at most this many fronts. Default: all. */
  maxFronts?: number;
}

function limit(value: number | undefined, what: string): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${what} must be a positive integer, got ${value}`);
  return value;
}

/**
 * Pareto rank of each point: 1 = non-dominated, 2 = non-dominated once rank 1 is removed, ...;
 * 0 = left unranked by `stopAfterPoints` / `maxFronts`. Identical points share a rank.
 * O(n log n) for 2 objectives, O(n log n log F) for 3, and O(n log F |front|) comparisons beyond.
 */
export function paretoRanks(points: Points, opts: ParetoRankOptions = {}): Int32Array {
  const { data, m, n } = toMatrix(points);
  if (n === 0) return new Int32Array(0);
  return native().paretoRanks(data, m, minimiseMask(opts.minimise, m), limit(opts.stopAfterPoints, 'stopAfterPoints'), limit(opts.maxFronts, 'maxFronts'));
}

/** Indices (ascending) of the non-dominated points. */
export function paretoFront(points: Points, opts: { minimise?: Minimise } = {}): Int32Array {
  const ranks = paretoRanks(points, { minimise: opts.minimise, maxFronts: 1 });
  const front: number[] = [];
  ranks.forEach((r, i) => r === 1 && front.push(i));
  return Int32Array.from(front);
}
