// Exact hypervolume (metrics.md §2), thin over native/core/moo: one front, many fronts in one
// native call off the JS thread, and exclusive contributions.
import { withAbortSignal } from '../engine/abort.js';
import type { LongRunOptions } from '../engine/runtime.js';
import { native } from '../native/loader.js';
import { type Minimise, minimiseMask, type Points, toMatrix, toVector } from './points.js';

/** What to do with points that do not strictly dominate the reference point (they add nothing). */
export type OnOutside = 'ignore' | 'warn' | 'error';

export interface HypervolumeOptions {
  /** The reference point, one value per objective (in the points' own units and signs). */
  ref: ArrayLike<number>;
  /** Objectives to minimise (default: maximise all); points and ref are flipped together. */
  minimise?: Minimise;
  /** Default 'warn': a process warning (code MOALIGN_HV_OUTSIDE) when points were dropped. */
  onOutside?: OnOutside;
}

export interface HypervolumeResult {
  hypervolume: number;
  /** Points that do not strictly dominate the reference point: dropped before the computation. */
  dropped: number;
}

/** Above this many objectives exact hypervolume still runs, with a warning: it is #P-hard in m. */
export const MANY_OBJECTIVES = 10;

function warnIfCostly(m: number): void {
  if (m > MANY_OBJECTIVES) {
    process.emitWarning(`exact hypervolume in ${m} objectives can take very long (its cost grows exponentially with the number of objectives)`, {
      code: 'MOALIGN_HV_COST',
    });
  }
}

/** Applies `onOutside` once `dropped` of `total` points were found outside the reference point. */
export function reportOutside(dropped: number, total: number, onOutside: OnOutside = 'warn', where = ''): void {
  if (dropped === 0 || onOutside === 'ignore') return;
  const all = dropped === total;
  const message = `${where}${dropped} of ${total} points do not strictly dominate the reference point and add nothing to the hypervolume${all ? ' (hypervolume 0)' : ''}`;
  if (onOutside === 'error') throw new RangeError(message);
  process.emitWarning(message, { code: 'MOALIGN_HV_OUTSIDE' });
}

/** One front and its options as the native calls take them. */
function singleFront(points: Points, opts: HypervolumeOptions) {
  const { data, m, n } = toMatrix(points, 'points', opts.ref.length);
  const ref = toVector(opts.ref, m, 'ref');
  warnIfCostly(m);
  return { data, m, n, ref, mask: minimiseMask(opts.minimise, m) };
}

/** Exact hypervolume of one front, on the calling thread: 2-D sort + sweep, 3-D O(n log n), 4-D O(n²), 5-D+ WFG. */
export function hypervolume(points: Points, opts: HypervolumeOptions): HypervolumeResult {
  const { data, m, n, ref, mask } = singleFront(points, opts);
  const result = native().hypervolume(data, m, ref, mask);
  reportOutside(result.dropped, n, opts.onOutside);
  return result;
}

/**
 * Each point's exclusive contribution, HV(S) − HV(S \ {p}): 0 for points another point weakly
 * dominates (duplicates included) and for points outside the reference point.
 */
export function hypervolumeContributions(points: Points, opts: HypervolumeOptions): Float64Array {
  const { data, m, n, ref, mask } = singleFront(points, opts);
  const result = native().hypervolumeContributions(data, m, ref, mask);
  reportOutside(result.dropped, n, opts.onOutside);
  return result.contributions;
}

/** Ragged fronts in CSR layout: front b is rows offsets[b] .. offsets[b+1]-1 of `points` (m columns). */
export interface FrontSets {
  points: Float64Array;
  offsets: Int32Array | readonly number[];
  m: number;
}

export interface HypervolumeBatchOptions extends LongRunOptions {
  /** Shared (m values), or per front: B rows, or a flat array of B·m values. */
  ref: ArrayLike<number> | readonly ArrayLike<number>[];
  minimise?: Minimise;
  onOutside?: OnOutside;
  /**
   * 'cpu' (default): the exact sweeps, fronts spread over every CPU thread, each value
   * bit-identical to hypervolume() on that front for any thread count.
   * 'cuda': the tensor form on the GPU, for 2 and 3 objectives (exact up to summation order).
   */
  device?: 'cpu' | 'cuda';
}

export interface HypervolumeBatchResult {
  hypervolume: Float64Array;
  dropped: Int32Array;
}

function isFrontSets(sets: FrontSets | readonly Points[]): sets is FrontSets {
  return !Array.isArray(sets);
}

/** The fronts as one CSR batch (copies only when they are not one already). */
export function toFrontSets(sets: FrontSets | readonly Points[], emptyM = 0): { points: Float64Array; offsets: Int32Array; m: number } {
  if (isFrontSets(sets)) {
    const offsets = sets.offsets instanceof Int32Array ? sets.offsets : Int32Array.from(sets.offsets);
    return { points: sets.points, offsets, m: sets.m };
  }
  const fronts = sets.map((s, b) => toMatrix(s, `front ${b}`, emptyM));
  const m = fronts.find((f) => f.n > 0)?.m ?? emptyM;
  const offsets = new Int32Array(fronts.length + 1);
  fronts.forEach((f, b) => {
    if (f.n > 0 && f.m !== m) throw new RangeError(`front ${b} has ${f.m} objectives but earlier fronts have ${m}`);
    offsets[b + 1] = offsets[b] + f.n;
  });
  const points = new Float64Array(offsets[fronts.length] * m);
  fronts.forEach((f, b) => points.set(f.data, offsets[b] * m));
  return { points, offsets, m };
}

/** Many fronts in one native call, off the JS thread; cancel with `signal`. */
export async function hypervolumeBatch(sets: FrontSets | readonly Points[], opts: HypervolumeBatchOptions): Promise<HypervolumeBatchResult> {
  const shared = !Array.isArray(opts.ref) || typeof (opts.ref as ArrayLike<unknown>)[0] === 'number';
  const refM = shared ? (opts.ref as ArrayLike<number>).length : ((opts.ref as readonly ArrayLike<number>[])[0]?.length ?? 0);
  const { points, offsets, m } = toFrontSets(sets, refM);
  const fronts = offsets.length - 1;
  let ref: Float64Array;
  let perFront: boolean;
  if (!shared) {
    const rows = opts.ref as readonly ArrayLike<number>[];
    if (rows.length !== fronts) throw new RangeError(`ref has ${rows.length} rows but there are ${fronts} fronts`);
    ref = new Float64Array(fronts * m);
    rows.forEach((r, b) => ref.set(toVector(r, m, `ref[${b}]`), b * m));
    perFront = true;
  } else {
    const flat = opts.ref as ArrayLike<number>;
    perFront = flat.length !== m && flat.length === fronts * m;
    ref = toVector(flat, perFront ? fronts * m : m, perFront ? 'ref (per front)' : 'ref');
  }
  warnIfCostly(m);
  const device = opts.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') throw new RangeError(`device must be 'cpu' or 'cuda', got '${device as string}'`);
  const result = await withAbortSignal(opts.signal, (token) =>
    native().hypervolumeBatch(points, offsets, m, ref, perFront, minimiseMask(opts.minimise, m), device === 'cuda' ? 'cuda' : undefined, token, opts.onProgress),
  );
  if (opts.onOutside !== 'ignore') {
    let dropped = 0;
    for (const d of result.dropped) dropped += d;
    reportOutside(dropped, offsets[fronts], opts.onOutside, `across ${fronts} fronts, `);
  }
  return result;
}
