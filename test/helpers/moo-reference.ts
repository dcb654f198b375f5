// Brute-force float64 oracles for the multi-objective metrics (shared/design/metrics.md §1–5, §2.4).
// Written from the definitions, as plainly as possible, and independent of ts/moo and native/.
// Everything is maximisation; `toMax` converts a minimisation problem by negating points and ref.

export type Rows = number[][];

/** Exact sum of float64 values (Shewchuk's partials, as in Python's math.fsum). */
export function fsum(values: Iterable<number>): number {
  const partials: number[] = [];
  for (let x of values) {
    let i = 0;
    for (let y of partials) {
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[i++] = lo;
      x = hi;
    }
    partials.length = i;
    partials.push(x);
  }
  // Round the partials to one float64, as fsum does (with the half-way correction).
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n];
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n];
    hi = x + y;
    const yr = hi - x;
    lo = y - yr;
    if (lo !== 0) break;
  }
  if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}

function dims(points: Rows, ref: ArrayLike<number>): number {
  const m = ref.length;
  for (const p of points) if (p.length !== m) throw new Error(`oracle: point of length ${p.length}, ref of length ${m}`);
  return m;
}

/** Converts to maximisation: negates the chosen objectives of every point and of the ref. */
export function toMax(points: Rows, ref: ArrayLike<number>, minimise: boolean | readonly boolean[]): { points: Rows; ref: number[] } {
  const m = ref.length;
  const neg = Array.from({ length: m }, (_, i) => (typeof minimise === 'boolean' ? minimise : minimise[i]));
  return {
    points: points.map((p) => p.map((v, i) => (neg[i] ? -v : v))),
    ref: Array.from(ref, (v, i) => (neg[i] ? -v : v)),
  };
}

/** Points that strictly dominate the ref (every coordinate > z_i); the others add nothing. */
export function countOutside(points: Rows, ref: ArrayLike<number>): number {
  return points.filter((p) => p.some((v, i) => !(v > ref[i]))).length;
}

/**
 * Inclusion–exclusion (n ≤ 12, any m):
 *   HV = Σ_{∅≠T⊆S} (−1)^{|T|+1} Π_i (min_{p∈T} p_i − z_i)⁺
 * Every term is an exact float64 product of m rounded factors; the terms are summed exactly.
 */
export function hvInclusionExclusion(points: Rows, ref: ArrayLike<number>): number {
  const m = dims(points, ref);
  const n = points.length;
  if (n > 12) throw new Error(`oracle: inclusion–exclusion is for n <= 12, got ${n}`);
  const terms: number[] = [];
  for (let mask = 1; mask < 1 << n; mask++) {
    let size = 0;
    let prod = 1;
    for (let i = 0; i < m; i++) {
      let lo = Infinity;
      for (let j = 0; j < n; j++) if (mask & (1 << j)) lo = Math.min(lo, points[j][i]);
      prod *= Math.max(lo - ref[i], 0);
    }
    for (let j = 0; j < n; j++) if (mask & (1 << j)) size++;
    terms.push(size % 2 === 1 ? prod : -prod);
  }
  return fsum(terms);
}

/**
 * Grid cells (m ≤ 4, n ≤ 15): the distinct coordinates above z, with z itself, cut each axis into
 * intervals; a cell counts when its upper corner is weakly dominated by some point.
 */
export function hvGrid(points: Rows, ref: ArrayLike<number>): number {
  const m = dims(points, ref);
  const n = points.length;
  if (m > 4 || n > 15) throw new Error(`oracle: grid cells are for m <= 4 and n <= 15, got m = ${m}, n = ${n}`);
  const cuts: number[][] = [];
  for (let i = 0; i < m; i++) {
    const c = new Set<number>([ref[i]]);
    for (const p of points) if (p[i] > ref[i]) c.add(p[i]);
    cuts.push([...c].sort((a, b) => a - b));
  }
  const volumes: number[] = [];
  const cell = new Array<number>(m).fill(0); // interval index per axis: [cuts[k], cuts[k+1]]
  const counts = cuts.map((c) => c.length - 1);
  if (counts.some((c) => c === 0)) return 0;
  for (;;) {
    const upper = cell.map((k, i) => cuts[i][k + 1]);
    if (points.some((p) => p.every((v, i) => v >= upper[i]))) {
      let vol = 1;
      for (let i = 0; i < m; i++) vol *= cuts[i][cell[i] + 1] - cuts[i][cell[i]];
      volumes.push(vol);
    }
    let i = 0;
    while (i < m && ++cell[i] === counts[i]) cell[i++] = 0;
    if (i === m) break;
  }
  return fsum(volumes);
}

/**
 * Slicing by the definition (any m, n up to ~20): cut the last axis at the distinct values of the
 * points' last coordinates; the slab (h_prev, h] is covered, in the other m − 1 axes, by exactly
 * the points whose last coordinate is ≥ h. Recurse down to m = 1 (the largest coordinate).
 */
export function hvSlicing(points: Rows, ref: ArrayLike<number>): number {
  const m = dims(points, ref);
  const shifted = points.filter((p) => p.every((v, i) => v > ref[i])).map((p) => p.map((v, i) => v - ref[i]));
  const slice = (P: Rows, d: number): number => {
    if (P.length === 0) return 0;
    if (d === 1) return Math.max(...P.map((p) => p[0]));
    const levels = [...new Set(P.map((p) => p[d - 1]))].sort((a, b) => a - b);
    const slabs: number[] = [];
    let below = 0;
    for (const h of levels) {
      slabs.push((h - below) * slice(P.filter((p) => p[d - 1] >= h), d - 1));
      below = h;
    }
    return fsum(slabs);
  };
  return slice(shifted, m);
}

/** a ≻ b: a_i ≥ b_i everywhere and a_j > b_j somewhere (maximisation). */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let strict = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] < b[i]) return false;
    if (a[i] > b[i]) strict = true;
  }
  return strict;
}

/**
 * Pareto ranks (1-based) by literally peeling fronts: F_1 = points no remaining point dominates,
 * remove them, repeat. Identical points never dominate each other, so they share a front.
 * O(n² · fronts · m): for n up to a few hundred.
 */
export function paretoRanksPeel(points: Rows): number[] {
  const n = points.length;
  const rank = new Array<number>(n).fill(0);
  let remaining = points.map((_, i) => i);
  for (let front = 1; remaining.length > 0; front++) {
    const current = remaining.filter((i) => !remaining.some((j) => dominates(points[j], points[i])));
    for (const i of current) rank[i] = front;
    remaining = remaining.filter((i) => rank[i] === 0);
  }
  return rank;
}

/**
 * The same ranks in O(n² m), for larger n: rank(p) = 1 + the largest rank among p's dominators
 * (the length of the longest dominance chain ending at p; every point of F_{f+1} is dominated by
 * one of F_f). Points are visited in lexicographically descending order, in which a dominator
 * always comes first.
 */
export function paretoRanksChain(points: Rows): number[] {
  const n = points.length;
  const order = points.map((_, i) => i).sort((a, b) => {
    const p = points[a];
    const q = points[b];
    for (let i = 0; i < p.length; i++) if (p[i] !== q[i]) return q[i] - p[i];
    return 0;
  });
  const rank = new Array<number>(n).fill(0);
  for (let k = 0; k < n; k++) {
    const i = order[k];
    let best = 0;
    for (let l = 0; l < k; l++) {
      const j = order[l];
      if (rank[j] > best && dominates(points[j], points[i])) best = rank[j];
    }
    rank[i] = best + 1;
  }
  return rank;
}

/**
 * Truncates full ranks as the early-stop rules do: fronts beyond `maxFronts` and fronts after the
 * one during which `stopAfterPoints` points have been ranked get 0.
 */
export function truncateRanks(ranks: readonly number[], opts: { stopAfterPoints?: number; maxFronts?: number }): number[] {
  let last = Math.max(0, ...ranks);
  if (opts.maxFronts !== undefined) last = Math.min(last, opts.maxFronts);
  if (opts.stopAfterPoints !== undefined) {
    let ranked = 0;
    for (let f = 1; f <= last; f++) {
      ranked += ranks.filter((r) => r === f).length;
      if (ranked >= opts.stopAfterPoints) {
        last = f;
        break;
      }
    }
  }
  return ranks.map((r) => (r <= last ? r : 0));
}

/** HV(S) − HV(S \ {p}) for every p, with the inclusion–exclusion oracle. */
export function hvContributionsBrute(points: Rows, ref: ArrayLike<number>): number[] {
  const total = hvInclusionExclusion(points, ref);
  return points.map((_, k) => total - hvInclusionExclusion(points.filter((_, j) => j !== k), ref));
}

// ---- §2.1 normalisation

export interface Bounds { lo: number[]; hi: number[]; hvMargin: number }

/** Shared scaling over pooled fronts: lo = min − δ·(max − min), hi = max, per objective. */
export function boundsOf(fronts: readonly Rows[], hvMargin = 0.1): Bounds {
  const all = fronts.flat();
  const m = all[0].length;
  const lo: number[] = [];
  const hi: number[] = [];
  for (let i = 0; i < m; i++) {
    const col = all.map((p) => p[i]);
    const min = Math.min(...col);
    const max = Math.max(...col);
    lo.push(min - hvMargin * (max - min));
    hi.push(max);
  }
  return { lo, hi, hvMargin };
}

/** ξ ↦ (ξ − lo) / (hi − lo), per objective. */
export function normalise(points: Rows, b: Bounds): Rows {
  return points.map((p) => p.map((v, i) => (v - b.lo[i]) / (b.hi[i] - b.lo[i])));
}

// ---- §3 inner product, §4 sparsity, §5 spacing

/** IP = (1/N) Σ_j ⟨λ^j, ξ^j⟩. */
export function innerProduct(points: Rows, prefs: Rows): number {
  let s = 0;
  for (let j = 0; j < points.length; j++) {
    let dot = 0;
    for (let i = 0; i < points[j].length; i++) dot += prefs[j][i] * points[j][i];
    s += dot;
  }
  return s / points.length;
}

/** The non-dominated points of a front, duplicates kept. */
export function nondominated(points: Rows): Rows {
  return points.filter((p) => !points.some((q) => dominates(q, p)));
}

/**
 * Sparsity on the non-dominated points P (N_p = |P|; 0 when N_p ≤ 1).
 * 'pgmorl': 1/(N_p − 1) · Σ_j Σ_i (S̃_j(i+1) − S̃_j(i))², each objective sorted on its own.
 * 'pairwise': points sorted by objective 1; Σ ‖P(i+1) − P(i)‖² / (m · (N_p − 1)).
 */
export function sparsity(points: Rows, variant: 'pgmorl' | 'pairwise'): { value: number; nNondominated: number } {
  const P = nondominated(points);
  const np = P.length;
  if (np <= 1) return { value: 0, nNondominated: np };
  const m = P[0].length;
  let s = 0;
  if (variant === 'pgmorl') {
    for (let j = 0; j < m; j++) {
      const col = P.map((p) => p[j]).sort((a, b) => a - b);
      for (let i = 0; i + 1 < np; i++) s += (col[i + 1] - col[i]) ** 2;
    }
    return { value: s / (np - 1), nNondominated: np };
  }
  const sorted = [...P].sort((a, b) => a[0] - b[0]);
  for (let i = 0; i + 1 < np; i++) for (let j = 0; j < m; j++) s += (sorted[i + 1][j] - sorted[i][j]) ** 2;
  return { value: s / (m * (np - 1)), nNondominated: np };
}

/**
 * Spacing over all N points (0 when N ≤ 1). d_i = distance to the nearest other point, d̄ = mean d_i.
 * 'libmoon': L2 distance, sqrt((1/N) Σ (d_i − d̄)²).  'schott': L1 distance, sqrt((1/(N−1)) Σ (d_i − d̄)²).
 */
export function spacing(points: Rows, variant: 'libmoon' | 'schott'): number {
  const n = points.length;
  if (n <= 1) return 0;
  const dist = (a: number[], b: number[]) =>
    variant === 'libmoon' ? Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0)) : a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0);
  const d = points.map((p, i) => Math.min(...points.filter((_, j) => j !== i).map((q) => dist(p, q))));
  const mean = d.reduce((s, v) => s + v, 0) / n;
  const ss = d.reduce((s, v) => s + (v - mean) ** 2, 0);
  return Math.sqrt(ss / (variant === 'libmoon' ? n : n - 1));
}

// ---- random test data

/** n points in m dimensions; `levels` > 0 gives integer coordinates 0..levels-1 (heavy ties). */
export function randomRows(n: number, m: number, next: () => number, levels = 0): Rows {
  return Array.from({ length: n }, () => Array.from({ length: m }, () => (levels > 0 ? Math.floor(next() * levels) : next())));
}

/** Rows → a row-major Float64Array. */
export function flat(rows: Rows): Float64Array {
  return Float64Array.from(rows.flat());
}
