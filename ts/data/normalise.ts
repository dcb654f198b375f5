// Per-objective reward normalisation, fitted on one pool of rewards and then applied, unchanged,
// to any later rewards (design: paretohqd.md §2 for min-max, §9.1 for RiC's z-scores).
//
//   minmax: r̂ = clamp((r − lo) / (hi − lo), 0, 1), lo/hi the pool's min/max or given quantiles;
//   zscore: r̃ = (r − μ) / σ, μ the mean and σ the population standard deviation (ddof 0).
//
// Both are affine per objective, r ↦ (r − offset) / scale (min-max then clamps), which is how
// apply and invert compute them. The fitted numbers are a plain JSON object (`stats`), saved
// with whatever used them, and a Normaliser loaded from it gives the same numbers bit for bit.
import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic, type WriteOptions } from '../util/atomic-file.js';
import { checkRecord, stringifyJson } from './jsonl.js';
import { ScoredDataset } from './records.js';
import { readJsonFileAsync } from '../util/json-file.js';

/** How to normalise. Quantiles are in [0, 1]; the defaults 0 and 1 give the pool's min and max. */
export const normaliserSpec = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('minmax'),
    /** The quantile used as each objective's lower bound. Default 0 (the minimum). */
    lowerQuantile: z.number().min(0).max(1).optional(),
    /** The quantile used as each objective's upper bound. Default 1 (the maximum). */
    upperQuantile: z.number().min(0).max(1).optional(),
  }),
  z.object({ kind: z.literal('zscore') }),
]);
export type NormaliserSpec = z.infer<typeof normaliserSpec>;

const objectiveNames = z
  .array(z.string().min(1))
  .min(1)
  .refine((names) => new Set(names).size === names.length, 'objective names repeat');
const fitted = { objectives: objectiveNames, samples: z.number().int().positive() };

/** The fitted numbers, one entry per objective in `objectives` order; `samples` is the pool size. */
export const normaliserStats = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('minmax'), ...fitted, lowerQuantile: z.number().min(0).max(1), upperQuantile: z.number().min(0).max(1), lo: z.array(z.number()), hi: z.array(z.number()) }),
    z.object({ kind: z.literal('zscore'), ...fitted, mean: z.array(z.number()), std: z.array(z.number()) }),
  ])
  .superRefine((s, ctx) => {
    const [offsetKey, scaleKey] = s.kind === 'minmax' ? (['lo', 'hi'] as const) : (['mean', 'std'] as const);
    const [offset, scale] = s.kind === 'minmax' ? [s.lo, s.hi] : [s.mean, s.std];
    for (const [key, list] of [[offsetKey, offset], [scaleKey, scale]] as const) {
      if (list.length !== s.objectives.length) ctx.addIssue({ code: 'custom', path: [key], message: `holds ${list.length} numbers for ${s.objectives.length} objectives` });
    }
    s.objectives.forEach((name, j) => {
      const ok = s.kind === 'minmax' ? offset[j] < scale[j] && Number.isFinite(scale[j] - offset[j]) : scale[j] > 0;
      if (!ok) ctx.addIssue({ code: 'custom', path: [scaleKey, j], message: `is degenerate for objective "${name}"` });
    });
    if (s.kind === 'minmax' && !(s.lowerQuantile < s.upperQuantile)) ctx.addIssue({ code: 'custom', path: ['upperQuantile'], message: 'must exceed lowerQuantile' });
  });
export type NormaliserStats = z.infer<typeof normaliserStats>;

/** A fitted normalisation. Build one with fitNormaliser, Normaliser.load or Normaliser.fromJSON. */
export class Normaliser {
  private readonly offset: Float64Array;
  private readonly scale: Float64Array;

  private constructor(readonly stats: Readonly<NormaliserStats>) {
    const m = stats.objectives.length;
    this.offset = Float64Array.from(stats.kind === 'minmax' ? stats.lo : stats.mean);
    this.scale = new Float64Array(m);
    for (let j = 0; j < m; j++) this.scale[j] = stats.kind === 'minmax' ? stats.hi[j] - stats.lo[j] : stats.std[j];
  }

  /** A normaliser from saved statistics, validated; `source` names them in errors. */
  static fromJSON(value: unknown, source = 'normaliser statistics'): Normaliser {
    const r = checkRecord(normaliserStats, value);
    if (r.problem !== undefined) throw new Error(`${source}: not valid normaliser statistics: ${r.problem}`);
    return new Normaliser(deepFreeze(r.data));
  }

  /** Loads statistics saved by `save`. */
  static async load(file: string): Promise<Normaliser> {
    return Normaliser.fromJSON(await readJsonFileAsync(file), file);
  }

  get kind(): NormaliserStats['kind'] {
    return this.stats.kind;
  }

  get objectives(): readonly string[] {
    return this.stats.objectives;
  }

  /** Normalises a row-major (n, m) reward matrix whose columns are `objectives`, which must be
   *  the fitted objectives in the fitted order. Returns a new array. */
  apply(rewards: Float64Array, objectives: readonly string[]): Float64Array {
    this.check(rewards, objectives);
    const m = objectives.length;
    const out = new Float64Array(rewards.length);
    const clamp = this.stats.kind === 'minmax';
    for (let k = 0; k < rewards.length; k++) {
      const j = k % m;
      const v = (rewards[k] - this.offset[j]) / this.scale[j];
      out[k] = clamp ? Math.min(1, Math.max(0, v)) : v;
    }
    return out;
  }

  /** `apply` on a dataset's rewards. */
  applyTo(dataset: ScoredDataset): Float64Array {
    return this.apply(dataset.rewards, dataset.objectives);
  }

  /** Maps z-scores back to raw rewards, r = r̃·σ + μ (RiC turns target z-scores into rewards).
   *  Min-max normalisers clamp, so they have no inverse. */
  invert(normalised: Float64Array, objectives: readonly string[]): Float64Array {
    if (this.stats.kind !== 'zscore') throw new Error('a min-max normaliser clamps, so it cannot be inverted (only z-scores can)');
    this.check(normalised, objectives);
    const m = objectives.length;
    return normalised.map((v, k) => v * this.scale[k % m] + this.offset[k % m]);
  }

  toJSON(): NormaliserStats {
    return this.stats;
  }

  /** Saves the statistics as JSON, atomically; refuses to replace a file unless `overwrite`. */
  async save(file: string, options: WriteOptions = {}): Promise<void> {
    await writeFileAtomic(file, options, (tmp) => writeFile(tmp, `${stringifyJson(this.stats)}\n`, { flag: 'wx' }));
  }

  private check(values: Float64Array, objectives: readonly string[]): void {
    const want = this.stats.objectives;
    if (objectives.length !== want.length || objectives.some((name, j) => name !== want[j])) {
      const missing = want.filter((n) => !objectives.includes(n));
      const extra = objectives.filter((n) => !want.includes(n));
      const why = [
        missing.length > 0 ? `missing ${quoted(missing)}` : '',
        extra.length > 0 ? `unexpected ${quoted(extra)}` : '',
        missing.length + extra.length === 0 ? 'same names in a different order' : '',
      ].filter((s) => s !== '');
      throw new Error(`objectives ${quoted(objectives)} differ from the normaliser's ${quoted(want)}: ${why.join('; ')}`);
    }
    checkRewards(values, objectives);
  }
}

/**
 * Fits a normaliser on a pool of rewards: a row-major (n, m) matrix whose columns are
 * `objectives`, or a ScoredDataset. A degenerate objective (constant over the pool, or with equal
 * quantile bounds) is an error naming it, and so is a NaN or infinite reward.
 */
export function fitNormaliser(dataset: ScoredDataset, spec: NormaliserSpec): Normaliser;
export function fitNormaliser(objectives: readonly string[], rewards: Float64Array, spec: NormaliserSpec): Normaliser;
export function fitNormaliser(a: ScoredDataset | readonly string[], b: Float64Array | NormaliserSpec, c?: NormaliserSpec): Normaliser {
  const [objectives, rewards, specIn] = a instanceof ScoredDataset ? [a.objectives, a.rewards, b as NormaliserSpec] : [a, b as Float64Array, c];
  const parsed = checkRecord(normaliserSpec, specIn);
  if (parsed.problem !== undefined) throw new RangeError(`normaliser spec: ${parsed.problem}`);
  const spec = parsed.data;
  const m = objectives.length;
  if (m === 0) throw new RangeError('no objectives to normalise');
  if (new Set(objectives).size !== m) throw new RangeError(`objective names repeat: ${objectives.join(', ')}`);
  checkRewards(rewards, objectives);
  const n = rewards.length / m;
  if (n === 0) throw new RangeError('no rewards to fit a normaliser on');

  const columns = objectives.map((_, j) => Float64Array.from({ length: n }, (_, i) => rewards[i * m + j]));
  if (spec.kind === 'zscore') {
    const mean: number[] = [];
    const std: number[] = [];
    columns.forEach((x, j) => {
      const [mu, sigma] = meanAndStd(x);
      // All rewards equal means σ = 0; testing that exactly avoids a rounding residue from the mean.
      if (x.every((v) => v === x[0])) throw degenerate(objectives[j], `every reward is ${x[0]}, so its standard deviation is 0`);
      if (!(sigma > 0 && Number.isFinite(sigma))) throw degenerate(objectives[j], `its standard deviation is ${sigma}`);
      mean.push(mu);
      std.push(sigma);
    });
    return Normaliser.fromJSON({ kind: 'zscore', objectives: [...objectives], samples: n, mean, std });
  }

  const lowerQuantile = spec.lowerQuantile ?? 0;
  const upperQuantile = spec.upperQuantile ?? 1;
  if (!(lowerQuantile < upperQuantile)) throw new RangeError(`lowerQuantile (${lowerQuantile}) must be below upperQuantile (${upperQuantile})`);
  const lo: number[] = [];
  const hi: number[] = [];
  columns.forEach((x, j) => {
    const sorted = x.sort();
    const [l, h] = [quantileSorted(sorted, lowerQuantile), quantileSorted(sorted, upperQuantile)];
    const spread = h - l;
    if (!Number.isFinite(spread)) throw new RangeError(`objective "${objectives[j]}": its bounds ${l} and ${h} are too far apart for doubles`);
    if (spread <= 1e-12 * Math.max(1, Math.abs(h))) {
      const bounds = lowerQuantile === 0 && upperQuantile === 1 ? `min ${l}, max ${h}` : `${lowerQuantile} quantile ${l}, ${upperQuantile} quantile ${h}`;
      throw degenerate(objectives[j], bounds);
    }
    lo.push(l);
    hi.push(h);
  });
  return Normaliser.fromJSON({ kind: 'minmax', objectives: [...objectives], samples: n, lowerQuantile, upperQuantile, lo, hi });
}

function degenerate(objective: string, detail: string): RangeError {
  return new RangeError(`objective "${objective}" is constant over the pool (${detail}): it carries no trade-off`);
}

/**
 * The q-quantile of ascending `sorted` values by numpy's default ('linear') method: the order
 * statistics around the virtual index (n − 1)·q, interpolated with numpy's own formula (from the
 * nearer end when the fraction is ≥ 0.5), so the result matches numpy.quantile bit for bit.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('no values to take a quantile of');
  const v = (n - 1) * q;
  if (v >= n - 1) return sorted[n - 1];
  const i = Math.floor(v);
  const t = v - i;
  const a = sorted[i];
  const b = sorted[i + 1];
  const d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

/** Mean and population standard deviation (ddof 0), two-pass: Σ(x − μ)² loses far less than
 *  Σx² − nμ². */
export function meanAndStd(x: Float64Array): [number, number] {
  let sum = 0;
  for (const v of x) sum += v;
  const mean = sum / x.length;
  let ss = 0;
  for (const v of x) ss += (v - mean) * (v - mean);
  return [mean, Math.sqrt(ss / x.length)];
}

/** Refuses a matrix whose size is not a multiple of m, or with a NaN or infinite reward (naming
 *  its row and objective). */
function checkRewards(rewards: Float64Array, objectives: readonly string[]): void {
  const m = objectives.length;
  if (rewards.length % m !== 0) throw new RangeError(`rewards hold ${rewards.length} numbers, not a whole number of rows of ${m} objectives`);
  for (let k = 0; k < rewards.length; k++) {
    if (!Number.isFinite(rewards[k])) throw new RangeError(`reward of row ${Math.floor(k / m)} (0-based), objective "${objectives[k % m]}", is ${rewards[k]}`);
  }
}

const quoted = (names: readonly string[]) => `[${names.map((n) => JSON.stringify(n)).join(', ')}]`;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
