// selectParetoHq() (paretohqd.md §2–5) against pools of known geometry and against a brute-force
// reference written here from the spec: ranks by literal peeling, layers by the N_min rule,
// bounds from sorted columns (or fixed ones as given), distances to every candidate in float64, a
// full sort by (d, front, row), the first k.
import { describe, expect, it } from 'vitest';
import { ScoredDataset, type Sample } from '../../ts/data/records.js';
import {
  dasDennis,
  parsePreferences,
  parseSelectionRecord,
  selectParetoHq,
  selectParetoHqWithRanks,
  type SelectParetoHqOptions,
  type SelectionBounds,
  type SelectionRecord,
  twoObjectiveGrid,
} from '../../ts/moo/index.js';
import { paretoRanksPeel, randomRows, type Rows } from '../helpers/moo-reference.js';
import { rng } from '../helpers/reference.js';

const names = (m: number) => Array.from({ length: m }, (_, j) => `obj${j}`);
const pool = (rows: Rows) => ({ objectives: names(rows[0].length), rewards: Float64Array.from(rows.flat()) });
const quiet: SelectParetoHqOptions = { onWarning: () => {} };

// ---------------------------------------------------------------- the reference

/** numpy.quantile's default ('linear') of ascending values, with numpy's _lerp (from the nearer end). */
function numpyQuantile(sorted: number[], q: number): number {
  const v = (sorted.length - 1) * q;
  if (v >= sorted.length - 1) return sorted[sorted.length - 1];
  const i = Math.floor(v);
  const t = v - i;
  const [a, b] = [sorted[i], sorted[i + 1]];
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

interface Reference {
  lo: number[];
  hi: number[];
  layers: number;
  candidates: number;
  ranks: number[];
  selections: { indices: number[]; distances: number[]; fronts: number[] }[];
}

/** Per-objective bounds: fixed ones as given, else quantiles of the sorted columns (min/max = 0, 1). */
function referenceBounds(rows: Rows, bounds: SelectionBounds): { lo: number[]; hi: number[] } {
  if (typeof bounds === 'object' && 'lo' in bounds) return { lo: [...bounds.lo], hi: [...bounds.hi] };
  const [lq, uq] = bounds === 'minmax' ? [0, 1] : [bounds.lowerQuantile, bounds.upperQuantile];
  const lo: number[] = [];
  const hi: number[] = [];
  for (let j = 0; j < rows[0].length; j++) {
    const col = rows.map((r) => r[j]).sort((a, b) => a - b);
    lo.push(numpyQuantile(col, lq));
    hi.push(numpyQuantile(col, uq));
  }
  return { lo, hi };
}

function reference(
  rows: Rows,
  prefs: Rows,
  k: number,
  opts: { bounds?: SelectionBounds; distance?: 'perpendicular' | 'angular'; poolMin?: number; layers?: number } = {},
): Reference {
  const m = rows[0].length;
  const ranks = paretoRanksPeel(rows);
  const fronts = Math.max(...ranks);
  let layers = fronts;
  if (opts.layers !== undefined) layers = Math.min(fronts, opts.layers);
  else {
    const poolMin = opts.poolMin ?? Math.max(20 * k * prefs.length, 5000);
    for (let f = 1, count = 0; f <= fronts; f++) {
      count += ranks.filter((r) => r === f).length;
      if (count >= poolMin) {
        layers = f;
        break;
      }
    }
  }
  const { lo, hi } = referenceBounds(rows, opts.bounds ?? 'minmax');
  const cand = rows.map((_, i) => i).filter((i) => ranks[i] <= layers);
  const selections = prefs.map((w) => {
    const norm = Math.sqrt(w.reduce((s, x) => s + (x - 1) * (x - 1), 0));
    const u = w.map((x) => (x - 1) / norm);
    const scored = cand.map((i) => {
      const v = rows[i].map((r, j) => Math.min(1, Math.max(0, (r - lo[j]) / (hi[j] - lo[j]))) - 1);
      let t = 0;
      for (let j = 0; j < m; j++) t += v[j] * u[j];
      let e2 = 0;
      for (let j = 0; j < m; j++) e2 += (v[j] - t * u[j]) ** 2;
      const d = opts.distance === 'angular' ? Math.atan2(Math.sqrt(e2), t) : Math.sqrt(e2);
      return { i, d, front: ranks[i] };
    });
    scored.sort((a, b) => a.d - b.d || a.front - b.front || a.i - b.i);
    const top = scored.slice(0, k);
    return { indices: top.map((s) => s.i), distances: top.map((s) => s.d), fronts: top.map((s) => s.front) };
  });
  return { lo, hi, layers, candidates: cand.length, ranks: ranks.map((r) => (r <= layers ? r : 0)), selections };
}

function expectMatches(got: SelectionRecord, want: Reference, what: string) {
  expect(got.lo, `${what}: lo`).toEqual(want.lo);
  expect(got.hi, `${what}: hi`).toEqual(want.hi);
  expect(got.layers, `${what}: layers`).toBe(want.layers);
  expect(got.candidates, `${what}: candidates`).toBe(want.candidates);
  want.selections.forEach((s, p) => {
    const g = got.selections[p];
    expect(g.indices, `${what}: preference ${p} indices`).toEqual(s.indices);
    expect(g.fronts, `${what}: preference ${p} fronts`).toEqual(s.fronts);
    s.distances.forEach((d, a) => expect(Math.abs(g.distances[a] - d), `${what}: preference ${p} distance ${a}`).toBeLessThanOrEqual(1e-15));
  });
}

// ---------------------------------------------------------------- geometry

/** Points on a quarter circle of radius 1 around `centre`, angles θ_i = (π/2)·i/(n−1). */
function arc(n: number, centre: [number, number], sign: 1 | -1): Rows {
  return Array.from({ length: n }, (_, i) => {
    const th = ((Math.PI / 2) * i) / (n - 1);
    return [centre[0] + sign * Math.cos(th), centre[1] + sign * Math.sin(th)];
  });
}

/** Where the ray from (1, 1) toward ω leaves the point 1 + t·u, t ≥ 0, in normalised space. */
const direction = (w: number[]) => {
  const norm = Math.hypot(w[0] - 1, w[1] - 1);
  return [(w[0] - 1) / norm, (w[1] - 1) / norm];
};

describe('geometry', () => {
  it('a concave front with many dominated points: the rays cover its dent, linear scalarisation only its ends', async () => {
    // The front: the quarter circle of radius 1 around the ideal point (1, 1), bulging toward the
    // origin, so min-max normalisation leaves it as it is. Below it, 2,000 dominated points, each a
    // front point pulled toward the origin.
    const front = arc(181, [1, 1], -1); // (1 − cos θ, 1 − sin θ): from (0, 1) to (1, 0)
    front[180] = [1, 0]; // not 1 − cos(π/2) = 0.9999999999999999
    const next = rng(1);
    const dominated = Array.from({ length: 2000 }, () => {
      const p = front[Math.floor(next() * front.length)];
      const s = 0.2 + 0.75 * next();
      return [p[0] * s, p[1] * s];
    });
    const rows = [...front, ...dominated];
    const prefs = twoObjectiveGrid(11);
    const rec = await selectParetoHq(pool(rows), prefs, { k: 3, paretoLayers: 1 });
    expect(rec.lo).toEqual([0, 0]);
    expect(rec.hi).toEqual([1, 1]);
    expect(rec.candidates).toBe(181);

    for (const [p, w] of prefs.entries()) {
      // The ray meets the circle at 1 + u: the nearest front point is the one at that angle.
      const u = direction(w);
      const hit = [1 + u[0], 1 + u[1]];
      const nearest = rec.selections[p].indices[0];
      expect(Math.hypot(rows[nearest][0] - hit[0], rows[nearest][1] - hit[1]), `ω = ${w}`).toBeLessThan(Math.PI / 2 / 180);
      expect(rec.selections[p].fronts).toEqual([1, 1, 1]);
    }
    // The middle preferences select from the dent, away from both ends (ω = (0.2, 0.8) meets the
    // front at (0.030, 0.757)) ...
    for (let p = 2; p <= 8; p++) for (const i of rec.selections[p].indices) expect(Math.min(...rows[i])).toBeGreaterThan(0.02);
    const middle = rec.selections[5].indices.map((i) => rows[i]);
    for (const r of middle) expect(Math.abs(r[0] - r[1])).toBeLessThan(0.03);
    // ... where ω·r̂, maximised over the same candidates, picks an end of the front for every ω.
    for (const w of prefs) {
      let best = 0;
      for (let i = 0; i < 181; i++) if (w[0] * rows[i][0] + w[1] * rows[i][1] > w[0] * rows[best][0] + w[1] * rows[best][1]) best = i;
      expect([0, 180], `ω = ${w}`).toContain(best);
    }
    // Across the grid the rays select 11 different front regions; linear scalarisation two.
    expect(new Set(rec.selections.map((s) => s.indices[0])).size).toBe(11);
  });

  it('a convex front: the nearest point is where the ray crosses it', async () => {
    // The quarter circle of radius 1 around the origin (bulging toward the ideal point), plus
    // dominated points inside it; the ray 1 + t·u meets the circle at t = −(u1 + u2) − sqrt((u1 + u2)² − 1).
    const front = arc(361, [0, 0], 1);
    const next = rng(2);
    const inside = Array.from({ length: 1500 }, () => {
      const th = (next() * Math.PI) / 2;
      const r = 0.95 * Math.sqrt(next());
      return [r * Math.cos(th), r * Math.sin(th)];
    });
    const rows = [...front, ...inside];
    const prefs = twoObjectiveGrid(11);
    const rec = await selectParetoHq(pool(rows), prefs, { k: 1, paretoLayers: 1 });
    for (const [p, w] of prefs.entries()) {
      const u = direction(w);
      const s = u[0] + u[1];
      const t = -s - Math.sqrt(s * s - 1);
      const hit = [1 + t * u[0], 1 + t * u[1]];
      const i = rec.selections[p].indices[0];
      expect(Math.hypot(rows[i][0] - hit[0], rows[i][1] - hit[1]), `ω = ${w}`).toBeLessThan(Math.PI / 2 / 360);
    }
  });

  it('each preference selects on its own: one sample may serve several', async () => {
    const rows = [
      [1, 1],
      [0, 0.5],
      [0.5, 0],
    ];
    const rec = await selectParetoHq(pool(rows), twoObjectiveGrid(3), { k: 1, ...quiet });
    expect(rec.selections.map((s) => s.indices)).toEqual([[0], [0], [0]]);
    expect(rec.selections.map((s) => s.distances)).toEqual([[0], [0], [0]]); // the ideal point: distance 0
  });
});

// ---------------------------------------------------------------- the reference on random pools

/** Random pools: continuous, or integer levels (ties) with exact duplicates appended. */
function randomPool(n: number, m: number, seed: number, levels = 0): Rows {
  const next = rng(seed);
  const rows = randomRows(n, m, next, levels);
  for (let d = 0; d < n / 8; d++) rows.push([...rows[Math.floor(next() * n)]]);
  return rows;
}

const gridFor = (m: number) => (m === 2 ? twoObjectiveGrid(7) : m === 3 ? parsePreferences('ric13', 3) : dasDennis(m, 3));

describe('equals the brute-force reference', () => {
  for (const m of [2, 3, 4]) {
    for (const distance of ['perpendicular', 'angular'] as const) {
      // Angular distances of distinct integer points can tie in exact arithmetic and not in
      // floating point, where Math.atan2 and the C library may round apart: ties for angular come
      // from exact duplicates only.
      const kinds = distance === 'perpendicular' ? [0, 4, 7] : [0];
      it(`m = ${m}, ${distance}: ties, duplicates, the N_min rule`, async () => {
        const prefs = gridFor(m);
        for (const levels of kinds) {
          for (const [t, n] of [40, 150, 400].entries()) {
            const rows = randomPool(n, m, 1000 * m + 10 * levels + t, levels);
            const k = [1, 7, 25][t];
            const poolMin = [5, 60, 120][t];
            const what = `n = ${rows.length}, levels = ${levels}, k = ${k}, N_min = ${poolMin}`;
            const { record, ranks } = await selectParetoHqWithRanks(pool(rows), prefs, { k, distance, paretoPoolMin: poolMin, ...quiet });
            const want = reference(rows, prefs, k, { distance, poolMin });
            expectMatches(record, want, what);
            expect(Array.from(ranks), what).toEqual(want.ranks);
            expect(record.options.paretoPoolMin).toBe(poolMin);
          }
        }
      });
    }
  }

  it('quantile bounds clamp the outliers; both distances', async () => {
    for (const m of [2, 3]) {
      const rows = randomPool(300, m, 77 + m, 0);
      // A few outliers far beyond the bulk, both ways.
      rows.push(new Array(m).fill(9), new Array(m).fill(-9), [5, ...new Array(m - 1).fill(0.5)]);
      const bounds = { lowerQuantile: 0.05, upperQuantile: 0.9 };
      for (const distance of ['perpendicular', 'angular'] as const) {
        const rec = await selectParetoHq(pool(rows), gridFor(m), { k: 12, bounds, distance, paretoPoolMin: 80, ...quiet });
        expectMatches(rec, reference(rows, gridFor(m), 12, { bounds, distance, poolMin: 80 }), `m = ${m}, ${distance}`);
        expect(rec.options.bounds).toEqual(bounds);
      }
    }
  });

  it("fixed bounds equal to the pool's min/max select exactly as 'minmax'", async () => {
    for (const m of [2, 3]) {
      const rows = randomPool(250, m, 40 + m, m === 2 ? 5 : 0);
      const prefs = gridFor(m);
      const minmax = await selectParetoHq(pool(rows), prefs, { k: 9, paretoPoolMin: 60, ...quiet });
      const fixed = await selectParetoHq(pool(rows), prefs, { k: 9, paretoPoolMin: 60, bounds: { lo: minmax.lo, hi: minmax.hi }, ...quiet });
      expect(fixed.options.bounds).toEqual({ lo: minmax.lo, hi: minmax.hi });
      expect({ ...fixed, options: minmax.options }).toEqual(minmax); // distances bit for bit
    }
  });

  it('fixed bounds wider and narrower (clamping) than the pool', async () => {
    for (const m of [2, 3]) {
      const rows = randomPool(300, m, 60 + m, 0);
      const own = referenceBounds(rows, 'minmax');
      // even objectives: wider than the pool (r̂ squeezed toward the middle); odd: narrower (clamped)
      const bounds = {
        lo: own.lo.map((x, j) => (j % 2 === 0 ? x - 0.3 : x + 0.1)),
        hi: own.hi.map((x, j) => (j % 2 === 0 ? x + 0.5 : x - 0.2)),
      };
      for (const distance of ['perpendicular', 'angular'] as const) {
        const opts = { k: 10, distance, paretoPoolMin: 70 };
        const rec = await selectParetoHq(pool(rows), gridFor(m), { ...opts, bounds, ...quiet });
        expectMatches(rec, reference(rows, gridFor(m), 10, { ...opts, poolMin: 70, bounds }), `m = ${m}, ${distance}`);
        expect(rec.options.bounds).toEqual(bounds);
        const minmax = await selectParetoHq(pool(rows), gridFor(m), { ...opts, ...quiet });
        expect(rec.selections.map((s) => s.distances)).not.toEqual(minmax.selections.map((s) => s.distances));
      }
    }
  });

  it('fixed bounds by hand: twice as wide halves the distances, clamping undoes narrower ones', async () => {
    // ω = (0.5, 0.5): the ray runs along the diagonal. Under [0, 1]², (0, 1) is √2/2 from it; under
    // [−1, 1]² it maps to (0.5, 1): √2/4; under [0.25, 0.75]² it is clamped back to (0, 1).
    const rows = [
      [0, 1],
      [1, 0],
      [0.5, 0.5],
    ];
    const distances = async (lo: number[], hi: number[]) => (await selectParetoHq(pool(rows), [[0.5, 0.5]], { k: 3, bounds: { lo, hi }, ...quiet })).selections[0];
    const half = Math.SQRT2 / 2;
    for (const [lo, hi, d] of [
      [[-1, -1], [1, 1], half / 2],
      [[0.25, 0.25], [0.75, 0.75], half],
    ] as const) {
      const s = await distances([...lo], [...hi]);
      expect(s.indices).toEqual([2, 0, 1]);
      expect(s.distances[0]).toBeLessThanOrEqual(1e-15);
      for (const x of s.distances.slice(1)) expect(Math.abs(x - d)).toBeLessThanOrEqual(1e-15);
    }
  });

  it('a fixed number of layers overrides the N_min rule', async () => {
    const rows = randomPool(300, 3, 5, 6);
    const prefs = gridFor(3);
    for (const layers of [1, 2, 5]) {
      const rec = await selectParetoHq(pool(rows), prefs, { k: 10, paretoLayers: layers, paretoPoolMin: 1, ...quiet });
      expectMatches(rec, reference(rows, prefs, 10, { layers }), `L = ${layers}`);
      expect(rec.layers).toBe(layers);
      expect(rec.options).toMatchObject({ paretoLayers: layers, paretoPoolMin: null });
    }
  });
});

// ---------------------------------------------------------------- N_min, warnings, the record

describe('the N_min rule, small pools and the record', () => {
  it('N_min defaults to max(20·k·|Ω|, 5000) and may be a function of k and |Ω|', async () => {
    const rows = randomPool(600, 2, 9);
    const prefs = twoObjectiveGrid(11);
    const warnings: string[] = [];
    const rec = await selectParetoHq(pool(rows), prefs, { k: 100, onWarning: (w) => warnings.push(w) });
    expect(rec.options.paretoPoolMin).toBe(22_000);
    const small = await selectParetoHq(pool(rows), prefs, { k: 2, onWarning: () => {} });
    expect(small.options.paretoPoolMin).toBe(5000);
    const seen: number[][] = [];
    const fn = await selectParetoHq(pool(rows), prefs, {
      k: 4,
      paretoPoolMin: (k, count) => {
        seen.push([k, count]);
        return 3 * k * count;
      },
    });
    expect(seen).toEqual([[4, 11]]);
    expectMatches(fn, reference(rows, prefs, 4, { poolMin: 132 }), 'N_min = 3·k·|Ω|');
    expect(fn.candidates).toBeGreaterThanOrEqual(132);
    expect(fn.warnings).toEqual([]);
  });

  it('a pool smaller than N_min or than k: everything is taken, with warnings in the record and to onWarning', async () => {
    const rows = randomPool(24, 2, 10); // 27 rows
    const warnings: string[] = [];
    const rec = await selectParetoHq(pool(rows), twoObjectiveGrid(3), { k: 100, onWarning: (w) => warnings.push(w) });
    expect(rec.candidates).toBe(27);
    expect(rec.layers).toBe(Math.max(...paretoRanksPeel(rows)));
    for (const s of rec.selections) expect([...s.indices].sort((a, b) => a - b)).toEqual(rows.map((_, i) => i));
    expect(rec.warnings).toEqual([
      `the pool holds 27 samples, fewer than N_min = 6000: all its ${rec.layers} Pareto layers are candidates`,
      'only 27 candidates for k = 100: every preference takes all of them',
    ]);
    expect(warnings).toEqual(rec.warnings);
    const fixed = await selectParetoHq(pool(rows), twoObjectiveGrid(3), { k: 2, paretoLayers: 500, ...quiet });
    expect(fixed.warnings).toEqual([`paretoLayers is 500 but the pool has only ${rec.layers} Pareto layers: all 27 samples are candidates`]);
  });

  it('a ScoredDataset gives ids; the record is JSON and validates against its schema', async () => {
    const rows = randomPool(200, 3, 11, 5);
    const samples: Sample[] = rows.map((_, i) => ({ id: `s${i}`, prompt: 'p', response: `r${i}`, origin: 'dataset' }));
    const dataset = new ScoredDataset(['helpful', 'harmless', 'humor'], samples, Float64Array.from(rows.flat()));
    const rec = await selectParetoHq(dataset, parsePreferences('paretohqd', 3), { k: 5, ...quiet });
    expect(rec.objectives).toEqual(['helpful', 'harmless', 'humor']);
    expect(rec.samples).toBe(rows.length);
    for (const s of rec.selections) expect(s.ids).toEqual(s.indices.map((i) => `s${i}`));
    expect(parseSelectionRecord(JSON.parse(JSON.stringify(rec)))).toEqual(rec);
    expect(rec.selections[9].preference).toEqual([1 / 3, 1 / 3, 1 / 3]);
    const bad = { ...rec, lo: [0] };
    expect(() => parseSelectionRecord(bad, 'sel.json')).toThrow('sel.json: not a valid selection record: field "lo": holds 1 numbers for 3 objectives');
    // fixed bounds and stage 2's stage1Bounds are in the record too, checked against the objectives
    const fixed = await selectParetoHq(dataset, parsePreferences('paretohqd', 3), { k: 5, bounds: { lo: [-1, -1, -1], hi: [5, 5, 5] }, ...quiet });
    const withStage1 = { ...fixed, stage1Bounds: { lo: [0, 0, 0], hi: [1, 1, 1] } };
    expect(parseSelectionRecord(JSON.parse(JSON.stringify(withStage1)))).toEqual(withStage1);
    expect(() => parseSelectionRecord({ ...fixed, options: { ...fixed.options, bounds: { lo: [0], hi: [1, 1, 1] } } })).toThrow(
      'field "options.bounds.lo": holds 1 numbers for 3 objectives',
    );
    expect(() => parseSelectionRecord({ ...withStage1, stage1Bounds: { lo: [0, 0, 0], hi: [1] } })).toThrow('field "stage1Bounds.hi": holds 1 numbers for 3 objectives');
  });

  it('records written before fixed bounds and stage1Bounds still parse', () => {
    const old = {
      kind: 'paretohqd-selection',
      version: 1,
      objectives: ['a', 'b'],
      samples: 3,
      options: { k: 2, bounds: { lowerQuantile: 0.1, upperQuantile: 0.9 }, distance: 'perpendicular', paretoPoolMin: 5000, paretoLayers: null },
      lo: [0, 0],
      hi: [1, 1],
      layers: 1,
      candidates: 3,
      warnings: [],
      selections: [{ preference: [0.5, 0.5], indices: [2, 0], distances: [0, 0.7], fronts: [1, 1] }],
    };
    expect(parseSelectionRecord(old)).toEqual(old);
  });
});

// ---------------------------------------------------------------- errors

describe('errors name the problem', () => {
  const rows = randomPool(50, 2, 12);
  const prefs = twoObjectiveGrid(3);

  it('bad rewards: non-finite (naming the sample and objective), wrong shape, one objective, empty', async () => {
    const samples: Sample[] = rows.map((_, i) => ({ id: `id-${i}`, prompt: 'p', response: `r${i}`, origin: 'dataset' }));
    const rewards = Float64Array.from(rows.flat());
    rewards[2 * 7 + 1] = Number.NaN;
    await expect(selectParetoHq(new ScoredDataset(['a', 'b'], samples, rewards), prefs)).rejects.toThrow(
      'sample "id-7" (row 7) has reward NaN on objective "b"; rewards must be finite numbers',
    );
    const inf = Float64Array.from(rows.flat());
    inf[4] = Number.POSITIVE_INFINITY;
    await expect(selectParetoHq({ objectives: ['a', 'b'], rewards: inf }, prefs)).rejects.toThrow('row 2 has reward Infinity on objective "a"');
    await expect(selectParetoHq({ objectives: ['a', 'b'], rewards: [1, 2, 3] }, prefs)).rejects.toThrow('rewards hold 3 numbers, not a whole number of rows of 2 objectives');
    await expect(selectParetoHq({ objectives: ['a'], rewards: [1, 2, 3] }, [[1]])).rejects.toThrow('selection needs at least two');
    await expect(selectParetoHq({ objectives: ['a', 'b'], rewards: [] }, prefs)).rejects.toThrow('the pool is empty');
    await expect(selectParetoHq({ objectives: ['a', 'b'], rewards: [1, 2], ids: ['x', 'y'] }, prefs)).rejects.toThrow('2 ids for 1 reward rows');
  });

  it('a constant objective is named', async () => {
    const flat = rows.map((r) => [r[0], 3]);
    await expect(selectParetoHq({ objectives: ['helpful', 'harmless'], rewards: flat.flat() }, prefs)).rejects.toThrow(
      'objective 1 ("harmless") is constant over the pool (min 3, max 3): it carries no trade-off',
    );
  });

  it('bad preferences and options', async () => {
    await expect(selectParetoHq(pool(rows), [[0.5, 0.6]])).rejects.toThrow('preference 0 (0.5, 0.6) sums to 1.1, not 1');
    await expect(selectParetoHq(pool(rows), [[0.5, 0.5, 0]])).rejects.toThrow('preference 0 (0.5, 0.5, 0) has 3 weights but there are 2 objectives');
    await expect(selectParetoHq(pool(rows), [])).rejects.toThrow('no preferences');
    await expect(selectParetoHq(pool(rows), prefs, { k: 0 })).rejects.toThrow('k must be a positive integer, got 0');
    await expect(selectParetoHq(pool(rows), prefs, { paretoLayers: 1.5 })).rejects.toThrow('paretoLayers must be a positive integer');
    await expect(selectParetoHq(pool(rows), prefs, { bounds: { lowerQuantile: 0.9, upperQuantile: 0.1 } })).rejects.toThrow(
      'lowerQuantile (0.9) must be below upperQuantile (0.1)',
    );
    await expect(selectParetoHq(pool(rows), prefs, { distance: 'cosine' as 'angular' })).rejects.toThrow("distance must be 'perpendicular' or 'angular'");
  });

  it('bad fixed bounds name the objective', async () => {
    const named = { objectives: ['helpful', 'harmless'], rewards: rows.flat() };
    const select = (lo: number[], hi: number[]) => selectParetoHq(named, prefs, { bounds: { lo, hi }, ...quiet });
    await expect(select([0], [1, 1])).rejects.toThrow('fixed bounds hold 1 lo and 2 hi values for 2 objectives (helpful, harmless)');
    await expect(select([0, Number.NaN], [1, 1])).rejects.toThrow('fixed bounds of objective "harmless": lo NaN, hi 1: both must be finite numbers');
    await expect(select([0, 0], [Number.POSITIVE_INFINITY, 1])).rejects.toThrow('fixed bounds of objective "helpful": lo 0, hi Infinity: both must be finite numbers');
    await expect(select([2, 0], [1, 1])).rejects.toThrow('fixed bounds of objective "helpful": lo 2, hi 1: hi must be above lo');
    await expect(select([0, 1], [1, 1])).rejects.toThrow('fixed bounds of objective "harmless": lo 1, hi 1: hi must be above lo');
    // what only the native check sees: bounds too close together to divide by
    await expect(select([0, 1], [1, 1 + 1e-14])).rejects.toThrow('objective 1 ("harmless"): fixed bounds lo 1, hi 1.00000000000001: too close together');
  });

  it('an aborted signal rejects without starting', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(selectParetoHq(pool(rows), prefs, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
