// The metric record of one front (metrics.md §2.1, §3–5, §7): hypervolume, inner product,
// sparsity and spacing, in the space shared by every front of a comparison. Thin over
// native/core/moo/front_metrics; values are never scaled by 100.
import { native } from '../native/loader.js';
import { type OnOutside, reportOutside } from './hypervolume.js';
import { type Points, toMatrix, toVector } from './points.js';

export interface NormalisationBounds {
  lo: number[];
  hi: number[];
  hvMargin: number;
}

/** Default margin δ below each objective's minimum: the worst point still contributes δ/(1+δ). */
export const DEFAULT_HV_MARGIN = 0.1;

/**
 * Shared scaling over the pooled points of every front in a comparison:
 * lo = min − hvMargin·(max − min), hi = max, per objective. Normalised x = (ξ − lo)/(hi − lo).
 */
export function normalisationBounds(fronts: readonly Points[], opts: { hvMargin?: number } = {}): NormalisationBounds {
  const hvMargin = opts.hvMargin ?? DEFAULT_HV_MARGIN;
  const matrices = fronts.map((f, b) => toMatrix(f, `front ${b}`));
  const m = matrices.find((f) => f.n > 0)?.m ?? 0;
  if (m === 0) throw new RangeError('normalisation bounds need at least one point');
  const { lo, hi } = native().normalisationBounds(
    matrices.filter((f) => f.n > 0).map((f) => f.data),
    m,
    hvMargin,
  );
  return { lo, hi, hvMargin };
}

export type SparsityVariant = 'pgmorl' | 'pairwise';
export type SpacingVariant = 'libmoon' | 'schott';

export interface FrontMetricsOptions {
  /** Objective names for the record (default: objective0, objective1, ...). */
  objectives?: string[];
  /** Default 'normalized': the shared space of `bounds`, reference point at the origin. */
  space?: 'normalized' | 'raw';
  /** Shared bounds of the comparison (normalisationBounds over every front); default: this front's own. */
  bounds?: NormalisationBounds;
  /** δ for the default bounds (default 0.1). */
  hvMargin?: number;
  /** The reference point in raw space (required there). */
  ref?: ArrayLike<number>;
  /** Default 'pgmorl' (normaliser N_p − 1, as LibMOON); 'pairwise' = sorted neighbours, /(m (N_p − 1)). */
  sparsityVariant?: SparsityVariant;
  /** Default 'libmoon' (L2, 1/N); 'schott' = L1, 1/(N − 1). */
  spacingVariant?: SpacingVariant;
  onOutside?: OnOutside;
}

export interface FrontMetricsRecord {
  objectives: string[];
  space: 'normalized' | 'raw';
  lo: number[] | null;
  hi: number[] | null;
  hvMargin: number | null;
  ref: number[];
  hypervolume: number;
  hvDropped: number;
  innerProduct: number;
  sparsity: { value: number; variant: SparsityVariant; nNondominated: number };
  spacing: { value: number; variant: SpacingVariant };
  points: { preference: number[]; mean: number[] }[];
}

function rowsOf(data: Float64Array, m: number): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < data.length; i += m) rows.push(Array.from(data.subarray(i, i + m)));
  return rows;
}

/** The metrics of one front: points[j] is the (mean reward) point produced for preferences[j]. */
export function frontMetrics(points: Points, preferences: Points, opts: FrontMetricsOptions = {}): FrontMetricsRecord {
  const space = opts.space ?? 'normalized';
  if (space !== 'normalized' && space !== 'raw') throw new RangeError(`space must be 'normalized' or 'raw', got '${space as string}'`);
  const p = toMatrix(points, 'points', opts.bounds?.lo.length ?? opts.ref?.length ?? 0);
  const prefs = toMatrix(preferences, 'preferences', p.m);
  const m = p.m;
  const objectives = opts.objectives ?? Array.from({ length: m }, (_, i) => `objective${i}`);
  if (objectives.length !== m) throw new RangeError(`objectives names ${objectives.length} objectives but the points have ${m}`);
  const sparsityVariant = opts.sparsityVariant ?? 'pgmorl';
  const spacingVariant = opts.spacingVariant ?? 'libmoon';
  let bounds: NormalisationBounds | undefined;
  let ref: Float64Array;
  if (space === 'normalized') {
    if (opts.bounds) bounds = opts.bounds;
    else if (p.n > 0) bounds = normalisationBounds([p], { hvMargin: opts.hvMargin });
    else bounds = { lo: new Array(m).fill(0), hi: new Array(m).fill(1), hvMargin: opts.hvMargin ?? DEFAULT_HV_MARGIN };
    toVector(bounds.lo, m, 'bounds.lo');
    toVector(bounds.hi, m, 'bounds.hi');
    ref = new Float64Array(m);
  } else {
    if (!opts.ref) throw new RangeError("raw space needs a reference point: pass opts.ref (there is no default reference point in raw reward space)");
    ref = toVector(opts.ref, m, 'ref');
  }
  const r = native().frontMetrics(p.data, prefs.data, m, {
    space,
    lo: bounds && Float64Array.from(bounds.lo),
    hi: bounds && Float64Array.from(bounds.hi),
    ref: space === 'raw' ? ref : undefined,
    sparsity: sparsityVariant,
    spacing: spacingVariant,
  });
  reportOutside(r.hvDropped, p.n, opts.onOutside);
  const means = rowsOf(p.data, m);
  const prefRows = rowsOf(prefs.data, m);
  return {
    objectives,
    space,
    lo: bounds ? [...bounds.lo] : null,
    hi: bounds ? [...bounds.hi] : null,
    hvMargin: bounds ? bounds.hvMargin : null,
    ref: Array.from(ref),
    hypervolume: r.hypervolume,
    hvDropped: r.hvDropped,
    innerProduct: r.innerProduct,
    sparsity: { value: r.sparsity, variant: sparsityVariant, nNondominated: r.nNondominated },
    spacing: { value: r.spacing, variant: spacingVariant },
    points: means.map((mean, j) => ({ preference: prefRows[j], mean })),
  };
}
