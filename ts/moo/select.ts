// ParetoHqD's Pareto high-quality data selection (paretohqd.md §2–5), thin over
// native/core/moo/select_pareto_hq: for each preference ω, the k samples of the top Pareto layers
// nearest to the ray from the ideal point toward ω, in normalised reward space (bounds: the pool's
// min/max, two quantiles of it, or fixed ones). The
// result is a JSON-able selection record: what stage-1 training reads, saved next to it.
import { z } from 'zod';
import { checkRecord } from '../data/jsonl.js';
import { ScoredDataset } from '../data/records.js';
import { withAbortSignal } from '../engine/abort.js';
import { native } from '../native/loader.js';
import { checkPreferences } from './preferences.js';
import { readJsonFileAsync } from '../util/json-file.js';

/** Bounds from fixed numbers, not from the pool: lo[j] and hi[j] (hi[j] > lo[j], finite) for objective j. */
export interface FixedBounds {
  lo: number[];
  hi: number[];
}

/**
 * Per-objective bounds of the normalisation: the pool's min and max, two quantiles of it, or fixed
 * ones (e.g. another pool's: ParetoHqD's stage2Bounds 'stage1').
 */
export type SelectionBounds = 'minmax' | { lowerQuantile: number; upperQuantile: number } | FixedBounds;

/** Distance to a preference ray: Euclidean ('perpendicular') or the angle in radians ('angular'). */
export type RayDistance = 'perpendicular' | 'angular';

/** A pool without texts: objective names and the raw reward matrix (every objective maximised). */
export interface RewardPool {
  objectives: readonly string[];
  /** Row-major (n, m): rewards[i * m + j] is row i's reward on objectives[j]. */
  rewards: Float64Array | readonly number[];
  /** Sample ids, one per row: then the record lists the selected ids too. */
  ids?: readonly string[];
}

export interface SelectParetoHqOptions {
  /** Samples per preference. Default 100 (stage 1; stage 2 uses 50). */
  k?: number;
  /**
   * Default 'minmax'. Quantile and fixed bounds clamp the rewards outside them (a robust choice of
   * quantiles is 0.001, 0.999).
   */
  bounds?: SelectionBounds;
  /** Default 'perpendicular'. */
  distance?: RayDistance;
  /**
   * N_min: the candidates are the fewest Pareto layers holding at least this many samples.
   * A number, or a function of k and the number of preferences. Default max(20·k·|Ω|, 5000).
   */
  paretoPoolMin?: number | ((k: number, preferences: number) => number);
  /** A fixed number of Pareto layers, overriding paretoPoolMin. Default: the N_min rule. */
  paretoLayers?: number;
  /** Aborts the native work at its next check; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Receives each warning (a pool too small for N_min or for k). Default: process.emitWarning
   *  with code MOALIGN_SELECTION. The warnings are in the record either way. */
  onWarning?: (message: string) => void;
}

const objectiveNames = z
  .array(z.string().min(1))
  .min(2)
  .refine((names) => new Set(names).size === names.length, 'objective names repeat');

/** One preference's selection, nearest first. */
export const preferenceSelection = z.object({
  /** ω as used (divided by its sum), in objective order. */
  preference: z.array(z.number().min(0)),
  /** The selected samples' ids, when the pool had ids. */
  ids: z.array(z.string()).optional(),
  /** Their rows in the pool (0-based). */
  indices: z.array(z.number().int().min(0)),
  /** Their distance to ω's ray. */
  distances: z.array(z.number().min(0)),
  /** Their Pareto front (1 = non-dominated). */
  fronts: z.array(z.number().int().min(1)),
  /** Where the selected samples were written (the CLI: a file name relative to the record). */
  file: z.string().optional(),
});
export type PreferenceSelection = z.infer<typeof preferenceSelection>;

/** The record of one selection run (paretohqd.md §5, "Selection record"). */
export const selectionRecord = z
  .object({
    kind: z.literal('paretohqd-selection'),
    version: z.literal(1),
    objectives: objectiveNames,
    /** Samples in the pool. */
    samples: z.number().int().min(1),
    options: z.object({
      k: z.number().int().min(1),
      /** As asked for: 'minmax', two quantiles, or fixed lo/hi (checked against the objectives below). */
      bounds: z.union([
        z.literal('minmax'),
        z.object({ lowerQuantile: z.number().min(0).max(1), upperQuantile: z.number().min(0).max(1) }),
        z.object({ lo: z.array(z.number()), hi: z.array(z.number()) }),
      ]),
      distance: z.enum(['perpendicular', 'angular']),
      /** N_min as used; null when paretoLayers fixed the layers. */
      paretoPoolMin: z.number().int().min(1).nullable(),
      /** The fixed number of layers asked for; null under the N_min rule. */
      paretoLayers: z.number().int().min(1).nullable(),
    }),
    /** Per-objective bounds of the normalisation r̂ = clamp((r − lo) / (hi − lo), 0, 1). */
    lo: z.array(z.number()),
    hi: z.array(z.number()),
    /** L: Pareto layers in the candidate set D^Pareto. */
    layers: z.number().int().min(1),
    /** |D^Pareto|. */
    candidates: z.number().int().min(1),
    /**
     * ParetoHqD's stage 2 only (paretohqd.md §6): the stage-1 selection's bounds, logged beside the
     * ones used (lo, hi): equal to them under stage2Bounds 'stage1', the stage-2 pool's own under 'recompute'.
     */
    stage1Bounds: z.object({ lo: z.array(z.number()), hi: z.array(z.number()) }).optional(),
    /** ParetoHqD's stage 2 only: the stage-2 pool's own min and max per objective (the bounds 'recompute' uses), whatever was used. */
    poolBounds: z.object({ lo: z.array(z.number()), hi: z.array(z.number()) }).optional(),
    warnings: z.array(z.string()),
    selections: z.array(preferenceSelection).min(1),
  })
  .superRefine((r, ctx) => {
    const m = r.objectives.length;
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    for (const key of ['lo', 'hi'] as const) if (r[key].length !== m) issue([key], `holds ${r[key].length} numbers for ${m} objectives`);
    const bounds = r.options.bounds;
    if (typeof bounds === 'object' && 'lo' in bounds)
      for (const key of ['lo', 'hi'] as const) if (bounds[key].length !== m) issue(['options', 'bounds', key], `holds ${bounds[key].length} numbers for ${m} objectives`);
    for (const field of ['stage1Bounds', 'poolBounds'] as const) {
      const b = r[field];
      if (b !== undefined) for (const key of ['lo', 'hi'] as const) if (b[key].length !== m) issue([field, key], `holds ${b[key].length} numbers for ${m} objectives`);
    }
    r.selections.forEach((s, p) => {
      if (s.preference.length !== m) issue(['selections', p, 'preference'], `holds ${s.preference.length} weights for ${m} objectives`);
      const n = s.indices.length;
      if (n > r.options.k) issue(['selections', p, 'indices'], `holds ${n} samples, more than k = ${r.options.k}`);
      for (const key of ['distances', 'fronts', 'ids'] as const) {
        const list = s[key];
        if (list !== undefined && list.length !== n) issue(['selections', p, key], `holds ${list.length} entries for ${n} indices`);
      }
    });
  });
export type SelectionRecord = z.infer<typeof selectionRecord>;

/** A record read from JSON, validated; `source` names it in errors. */
export function parseSelectionRecord(value: unknown, source = 'selection record'): SelectionRecord {
  const r = checkRecord(selectionRecord, value);
  if (r.problem !== undefined) throw new Error(`${source}: not a valid selection record: ${r.problem}`);
  return r.data;
}

/** Reads a selection record written by `moalign select` (selection.json). */
export async function loadSelectionRecord(file: string): Promise<SelectionRecord> {
  return parseSelectionRecord(await readJsonFileAsync(file), file);
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${what} must be a positive integer, got ${value}`);
  return value;
}

/** The pool as the native call takes it, checked: shape, finiteness (naming row, id, objective). */
function poolOf(pool: ScoredDataset | RewardPool): { objectives: readonly string[]; rewards: Float64Array; idOf?: (i: number) => string } {
  const objectives = pool.objectives;
  const m = objectives.length;
  if (m < 2) throw new RangeError(`the pool has ${m} objective${m === 1 ? '' : 's'}; selection needs at least two (a trade-off)`);
  if (new Set(objectives).size !== m) throw new RangeError(`objective names repeat: ${objectives.join(', ')}`);
  const rewards = pool.rewards instanceof Float64Array ? pool.rewards : Float64Array.from(pool.rewards);
  if (rewards.length % m !== 0) throw new RangeError(`rewards hold ${rewards.length} numbers, not a whole number of rows of ${m} objectives`);
  const n = rewards.length / m;
  if (n === 0) throw new RangeError('the pool is empty: no rewards to select from');
  let idOf: ((i: number) => string) | undefined;
  if (pool instanceof ScoredDataset) idOf = (i) => pool.samples[i].id;
  else if (pool.ids !== undefined) {
    const ids = pool.ids;
    if (ids.length !== n) throw new RangeError(`${ids.length} ids for ${n} reward rows`);
    idOf = (i) => ids[i];
  }
  for (let k = 0; k < rewards.length; k++) {
    if (!Number.isFinite(rewards[k])) {
      const i = Math.floor(k / m);
      const sample = idOf ? `sample "${idOf(i)}" (row ${i})` : `row ${i}`;
      throw new RangeError(`${sample} has reward ${rewards[k]} on objective "${objectives[k % m]}"; rewards must be finite numbers`);
    }
  }
  return { objectives, rewards, idOf };
}

/** Fixed bounds, checked (one finite lo < hi per objective, naming it) and copied. */
function checkFixedBounds(bounds: FixedBounds, objectives: readonly string[]): FixedBounds {
  const m = objectives.length;
  const { lo, hi } = bounds;
  if (!Array.isArray(lo) || !Array.isArray(hi)) throw new RangeError('fixed bounds need lo and hi arrays, one number per objective');
  if (lo.length !== m || hi.length !== m) throw new RangeError(`fixed bounds hold ${lo.length} lo and ${hi.length} hi values for ${m} objectives (${objectives.join(', ')})`);
  objectives.forEach((name, j) => {
    const what = `fixed bounds of objective "${name}": lo ${lo[j]}, hi ${hi[j]}`;
    if (typeof lo[j] !== 'number' || typeof hi[j] !== 'number' || !Number.isFinite(lo[j]) || !Number.isFinite(hi[j]))
      throw new RangeError(`${what}: both must be finite numbers`);
    if (!(hi[j] > lo[j])) throw new RangeError(`${what}: hi must be above lo`);
  });
  return { lo: [...lo], hi: [...hi] };
}

/** The bounds as recorded and as the native call takes them (quantiles, or fixed lo/hi), checked. */
function boundsOf(
  bounds: SelectionBounds,
  objectives: readonly string[],
): { recorded: SelectionBounds; native: { lowerQuantile: number; upperQuantile: number } | FixedBounds } {
  if (bounds === 'minmax') return { recorded: 'minmax', native: { lowerQuantile: 0, upperQuantile: 1 } };
  if (typeof bounds !== 'object' || bounds === null) throw new RangeError(`bounds must be 'minmax', { lowerQuantile, upperQuantile } or { lo, hi }, got ${String(bounds)}`);
  if ('lo' in bounds || 'hi' in bounds) {
    const fixed = checkFixedBounds(bounds as FixedBounds, objectives);
    return { recorded: fixed, native: fixed };
  }
  const { lowerQuantile: lq, upperQuantile: uq } = bounds;
  if (!(lq >= 0 && lq <= 1 && uq >= 0 && uq <= 1)) throw new RangeError(`bound quantiles must lie in [0, 1], got ${lq} and ${uq}`);
  if (!(lq < uq)) throw new RangeError(`lowerQuantile (${lq}) must be below upperQuantile (${uq})`);
  const quantiles = { lowerQuantile: lq, upperQuantile: uq };
  return { recorded: quantiles, native: quantiles };
}

/** The selection record, and each pool row's Pareto front within the candidate layers (1..L; 0
 *  beyond), for drawing the candidates without sorting the pool again. */
export interface SelectionWithRanks {
  record: SelectionRecord;
  ranks: Int32Array;
}

/** selectParetoHq, also returning the pool's ranks (see SelectionWithRanks). */
export async function selectParetoHqWithRanks(
  pool: ScoredDataset | RewardPool,
  preferences: readonly ArrayLike<number>[],
  options: SelectParetoHqOptions = {},
): Promise<SelectionWithRanks> {
  const { objectives, rewards, idOf } = poolOf(pool);
  const m = objectives.length;
  const n = rewards.length / m;
  const prefs = checkPreferences(preferences, m);
  const k = positiveInteger(options.k ?? 100, 'k');
  const { recorded: bounds, native: nativeBounds } = boundsOf(options.bounds ?? 'minmax', objectives);
  const distance = options.distance ?? 'perpendicular';
  if (distance !== 'perpendicular' && distance !== 'angular') throw new RangeError(`distance must be 'perpendicular' or 'angular', got '${distance as string}'`);
  const layers = options.paretoLayers === undefined ? undefined : positiveInteger(options.paretoLayers, 'paretoLayers');
  // 0 = the native default, max(20·k·P, 5000); ignored under fixed layers
  let poolMin = 0;
  if (layers === undefined && options.paretoPoolMin !== undefined) {
    const value = typeof options.paretoPoolMin === 'function' ? options.paretoPoolMin(k, prefs.length) : options.paretoPoolMin;
    poolMin = positiveInteger(value, 'paretoPoolMin');
  }

  const flatPrefs = Float64Array.from(prefs.flat());
  const r = await withAbortSignal(options.signal, (token) =>
    native().selectParetoHq(rewards, m, flatPrefs, { k, ...nativeBounds, distance, poolMin, layers: layers ?? 0, objectives: [...objectives] }, token),
  );

  const warnings: string[] = [];
  if (r.poolShort) {
    warnings.push(
      layers !== undefined
        ? `paretoLayers is ${layers} but the pool has only ${r.layers} Pareto layers: all ${r.candidates} samples are candidates`
        : `the pool holds ${n} samples, fewer than N_min = ${r.poolMin}: all its ${r.layers} Pareto layers are candidates`,
    );
  }
  if (r.fewerThanK) warnings.push(`only ${r.candidates} candidates for k = ${k}: every preference takes all of them`);
  const warn = options.onWarning ?? ((message: string) => process.emitWarning(message, { code: 'MOALIGN_SELECTION' }));
  for (const w of warnings) warn(w);

  const record: SelectionRecord = {
    kind: 'paretohqd-selection',
    version: 1,
    objectives: [...objectives],
    samples: n,
    options: { k, bounds, distance, paretoPoolMin: layers === undefined ? r.poolMin : null, paretoLayers: layers ?? null },
    lo: r.lo,
    hi: r.hi,
    layers: r.layers,
    candidates: r.candidates,
    warnings,
    selections: r.selections.map((s, p) => {
      const indices = Array.from(s.rows);
      return {
        preference: Array.from(r.preferences.subarray(p * m, (p + 1) * m)),
        ...(idOf ? { ids: indices.map(idOf) } : {}),
        indices,
        distances: Array.from(s.distances),
        fronts: Array.from(s.fronts),
      };
    }),
  };
  return { record, ranks: r.ranks };
}

/**
 * ParetoHqD's Pareto high-quality data selection (paretohqd.md §2–5), in native code off the JS
 * thread:
 * 1. bounds per objective over the pool (min/max or quantiles; a constant objective is an error),
 *    or fixed ones given in `bounds` (rewards outside them are clamped);
 * 2. Pareto layers on the raw rewards, the fewest holding N_min samples (or `paretoLayers`);
 * 3. for each preference ω, the k candidates nearest to the ray from the ideal point 1 toward ω
 *    in normalised space r̂ = clamp((r − lo) / (hi − lo), 0, 1), ties broken by front, then row.
 * Preferences are checked (ω_i ≥ 0, |Σω − 1| ≤ 1e-6) and divided by their sums. Each preference
 * selects independently: a sample may be selected for several.
 */
export async function selectParetoHq(
  pool: ScoredDataset | RewardPool,
  preferences: readonly ArrayLike<number>[],
  options: SelectParetoHqOptions = {},
): Promise<SelectionRecord> {
  return (await selectParetoHqWithRanks(pool, preferences, options)).record;
}
