// hypervolume() and hypervolumeContributions() against the brute-force oracles
// (test/helpers/moo-reference.ts), closed forms, properties, and moocore's values for large fronts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hypervolume, hypervolumeContributions } from '../../ts/moo/index.js';
import { loadMoocoreFixtures } from '../helpers/moo-fixtures.js';
import { countOutside, dominates, flat, hvContributionsBrute, hvGrid, hvInclusionExclusion, hvSlicing, randomRows, toMax, type Rows } from '../helpers/moo-reference.js';
import { rng } from '../helpers/reference.js';

/** |got − want| ≤ rtol·|want| (exact when want is 0). */
function expectClose(got: number, want: number, rtol: number, context?: unknown) {
  const ok = got === want || Math.abs(got - want) <= rtol * Math.abs(want);
  expect(ok, `got ${got}, want ${want} (rel ${Math.abs(got - want) / Math.abs(want)} > ${rtol}) ${context === undefined ? '' : JSON.stringify(context)}`).toBe(true);
}

type Warning = Error & { code?: string };
/** Runs fn and collects the process warnings it emits (emitWarning delivers them on a later tick). */
async function warningsDuring(fn: () => unknown): Promise<Warning[]> {
  const seen: Warning[] = [];
  const listener = (w: Warning) => seen.push(w);
  process.on('warning', listener);
  try {
    fn();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}
const codes = (ws: Warning[]) => ws.map((w) => w.code);

/**
 * A random ref below most points, for points in [0, 1)^m (continuous) or {0, 1, ...}^m (integer):
 * whatever m, about 75–90% of the points strictly dominate it, and the rest exercise dropping.
 */
const randomRef = (m: number, next: () => number, levels: number) =>
  Array.from({ length: m }, () => (levels ? (next() < 1 / m ? 0 : -1) : (next() * 0.4 - 0.1) / m));

describe('hypervolume = inclusion–exclusion on random small sets', () => {
  for (let m = 1; m <= 8; m++) {
    const trials = m <= 6 ? 40 : 15;
    it(`m = ${m}: continuous coordinates, within 1e-12 relative; dropped counted`, () => {
      const next = rng(1000 + m);
      for (let trial = 0; trial < trials; trial++) {
        const n = Math.floor(next() * 13); // 0..12
        const pts = randomRows(n, m, next);
        const ref = randomRef(m, next, 0);
        const got = hypervolume(pts, { ref, onOutside: 'ignore' });
        expectClose(got.hypervolume, hvInclusionExclusion(pts, ref), 1e-12, { pts, ref });
        expect(got.dropped).toBe(countOutside(pts, ref));
      }
    });

    it(`m = ${m}: integer coordinates with ties and exact duplicates, exactly`, () => {
      const next = rng(2000 + m);
      for (let trial = 0; trial < trials; trial++) {
        const pts = randomRows(1 + Math.floor(next() * 8), m, next, 3 + (trial % 4));
        while (pts.length < 12 && next() < 0.5) pts.push([...pts[Math.floor(next() * pts.length)]]);
        const ref = randomRef(m, next, 1);
        const got = hypervolume(pts, { ref, onOutside: 'ignore' });
        // Integer inputs: every intermediate is a small integer, so any correct sweep is exact.
        expect(got.hypervolume, JSON.stringify({ pts, ref })).toBe(hvInclusionExclusion(pts, ref));
        expect(got.dropped).toBe(countOutside(pts, ref));
      }
    });
  }

  it('every input layout gives the same value: rows, Float64Array, Float32Array, number[] matrices', () => {
    const next = rng(31);
    for (const m of [2, 3, 4, 5]) {
      // Multiples of 1/64: exact in float32 too, so all four layouts hold the same doubles.
      const pts = randomRows(10, m, next).map((p) => p.map((v) => Math.round(v * 64) / 64));
      const ref = new Array(m).fill(-1 / 8);
      const want = hvInclusionExclusion(pts, ref);
      const rows = hypervolume(pts, { ref }).hypervolume;
      expect(rows).toBe(want);
      expect(hypervolume({ data: flat(pts), m }, { ref }).hypervolume).toBe(rows);
      expect(hypervolume({ data: Float32Array.from(pts.flat()), m }, { ref }).hypervolume).toBe(rows);
      expect(hypervolume({ data: pts.flat(), m }, { ref: Float64Array.from(ref) }).hypervolume).toBe(rows);
    }
  });

  it('float32 input is widened to float64 before any arithmetic', () => {
    const f32 = Float32Array.from([0.1, 0.7, 0.3, 0.3, 0.7, 0.1]);
    const asDoubles = [[f32[0], f32[1]], [f32[2], f32[3]], [f32[4], f32[5]]];
    expect(hypervolume({ data: f32, m: 2 }, { ref: [0, 0] }).hypervolume).toBe(hypervolume(asDoubles, { ref: [0, 0] }).hypervolume);
    expectClose(hypervolume({ data: f32, m: 2 }, { ref: [0, 0] }).hypervolume, hvInclusionExclusion(asDoubles, [0, 0]), 1e-15);
  });
});

// Integer grids (levels > 0) must match the oracle exactly; continuous points within 1e-12.
function expectOracle(oracle: (pts: number[][], ref: number[]) => number, pts: number[][], ref: number[], levels: number): void {
  const got = hypervolume(pts, { ref, onOutside: 'ignore' }).hypervolume;
  if (levels) expect(got).toBe(oracle(pts, ref));
  else expectClose(got, oracle(pts, ref), 1e-12, { pts, ref });
}

describe('hypervolume = grid cells where inclusion–exclusion cannot go (n = 13..15, m ≤ 4)', () => {
  for (let m = 2; m <= 4; m++) {
    it(`m = ${m}`, () => {
      const next = rng(3000 + m);
      for (let trial = 0; trial < 8; trial++) {
        const n = 13 + (trial % 3);
        const levels = trial % 2 ? 6 : 0;
        const pts = randomRows(n, m, next, levels);
        const ref = randomRef(m, next, levels);
        expectOracle(hvGrid, pts, ref, levels);
      }
    });
  }
});

describe('hypervolume = slicing where inclusion–exclusion cannot go (n = 13..20, m = 5..7: WFG with deep recursion)', () => {
  for (let m = 5; m <= 7; m++) {
    it(`m = ${m}`, () => {
      const next = rng(3500 + m);
      for (let trial = 0; trial < (m === 7 ? 3 : 6); trial++) {
        const n = 13 + (m === 7 ? trial : trial + Math.floor(trial / 2)); // up to 20 rows
        const levels = trial % 2 ? 5 : 0;
        const pts = randomRows(n, m, next, levels);
        const ref = randomRef(m, next, levels);
        expectOracle(hvSlicing, pts, ref, levels);
      }
    });
  }
});

describe('m = 5: the q5 sweep with 4-D one-contributions = slicing on larger sets (n = 20..60)', () => {
  // Rows scaled onto the simplex form a front (no row dominates another), which keeps every 4-D
  // one-contribution busy; uniform rows bring dominated points; grids bring ties in every
  // coordinate, and duplicates. Scaled and rounded onto a grid: a front with ties.
  const onSimplex = (pts: Rows, gridSteps = 0) =>
    pts.map((p) => {
      const sum = p.reduce((a, b) => a + b, 0) || 1;
      return p.map((v) => (gridSteps ? Math.round((v / sum) * gridSteps) : v / sum));
    });

  it('fronts and uniform sets, continuous coordinates, within 1e-12 relative', () => {
    const next = rng(3600);
    for (let trial = 0; trial < 6; trial++) {
      const rows = randomRows(20 + 8 * trial, 5, next); // 20..60 rows
      expectOracle(hvSlicing, trial % 2 ? rows : onSimplex(rows), randomRef(5, next, 0), 0);
    }
  });

  it('grids and grid fronts with ties and duplicates, exactly', () => {
    const next = rng(3700);
    for (let trial = 0; trial < 8; trial++) {
      const levels = 3 + (trial % 4);
      const rows = randomRows(30 + 3 * trial, 5, next, levels);
      const pts = trial % 2 ? rows : onSimplex(rows, 2 * levels);
      for (let k = 0; k < 5; k++) pts.push([...pts[Math.floor(next() * pts.length)]]); // up to 56 rows
      expectOracle(hvSlicing, pts, randomRef(5, next, 1), levels);
    }
  });

  it('runs of equal q3 in a clipped base enter in (q2, q1) order, whatever the row order', () => {
    const tied = [[3, 2, 1, 1, 1], [2, 2, 2, 3, 2], [2, 1, 2, 3, 3], [3, 2, 3, 2, 1], [2, 3, 2, 1, 2], [3, 1, 2, 2, 2]];
    const ref = [0, 0, 0, 0, 0];
    const want = hvInclusionExclusion(tied, ref);
    const next = rng(3800);
    for (let trial = 0; trial < 60; trial++) {
      const rows = tied.map((p) => [...p]);
      for (let i = rows.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [rows[i], rows[j]] = [rows[j], rows[i]];
      }
      expect(hypervolume(rows, { ref }).hypervolume, JSON.stringify(rows)).toBe(want);
    }
  });
});

describe('minimisation', () => {
  it('minimise: true negates points and ref on every objective', () => {
    const next = rng(41);
    for (let trial = 0; trial < 30; trial++) {
      const m = 1 + (trial % 5);
      const pts = randomRows(1 + Math.floor(next() * 10), m, next, trial % 2 ? 5 : 0);
      const ref = Array.from({ length: m }, () => (trial % 2 ? 4 : 0.9 + next() * 0.2));
      const max = toMax(pts, ref, true);
      const got = hypervolume(pts, { ref, minimise: true, onOutside: 'ignore' });
      expectClose(got.hypervolume, hvInclusionExclusion(max.points, max.ref), 1e-12, { pts, ref });
      expect(got.dropped).toBe(countOutside(max.points, max.ref));
    }
  });

  it('per-objective minimise flags', () => {
    const next = rng(42);
    for (let trial = 0; trial < 30; trial++) {
      const m = 2 + (trial % 4);
      const flags = Array.from({ length: m }, () => next() < 0.5);
      const pts = randomRows(1 + Math.floor(next() * 10), m, next);
      const ref = flags.map((f) => (f ? 1.05 : -0.05));
      const max = toMax(pts, ref, flags);
      const got = hypervolume(pts, { ref, minimise: flags, onOutside: 'ignore' });
      expectClose(got.hypervolume, hvInclusionExclusion(max.points, max.ref), 1e-12, { pts, ref, flags });
      expect(got.dropped).toBe(countOutside(max.points, max.ref));
    }
  });

  it('minimise: false, or all-false flags, is the default exactly', () => {
    const pts = randomRows(9, 3, rng(43));
    const a = hypervolume(pts, { ref: [0.1, 0.1, 0.1] }).hypervolume;
    expect(hypervolume(pts, { ref: [0.1, 0.1, 0.1], minimise: false }).hypervolume).toBe(a);
    expect(hypervolume(pts, { ref: [0.1, 0.1, 0.1], minimise: [false, false, false] }).hypervolume).toBe(a);
  });
});

describe('points outside the ref, and empty sets', () => {
  it('points on the ref (flat boxes) or below it are dropped and counted; the value is unchanged', () => {
    const inside = [[3, 1, 2], [1, 3, 2], [2, 2, 3]];
    const outside = [[0, 5, 5], [5, 0, 5], [5, 5, -1], [0, 0, 0], [-3, -3, -3]];
    const ref = [0, 0, 0];
    const got = hypervolume([...outside.slice(0, 2), ...inside, ...outside.slice(2)], { ref, onOutside: 'ignore' });
    expect(got).toEqual({ hypervolume: hvInclusionExclusion(inside, ref), dropped: 5 });
    expect(got.hypervolume).toBe(hvInclusionExclusion([...inside, ...outside], ref));
  });

  it('all points outside: 0, every point dropped', () => {
    expect(hypervolume([[0, 1], [1, 0], [-1, -1]], { ref: [0, 0], onOutside: 'ignore' })).toEqual({ hypervolume: 0, dropped: 3 });
  });

  it('an empty set has hypervolume 0 and is not an error', () => {
    expect(hypervolume([], { ref: [0, 0], onOutside: 'ignore' })).toEqual({ hypervolume: 0, dropped: 0 });
    expect(hypervolume({ data: new Float64Array(0), m: 3 }, { ref: [0, 0, 0], onOutside: 'ignore' })).toEqual({ hypervolume: 0, dropped: 0 });
    expect(hypervolumeContributions([], { ref: [0, 0], onOutside: 'ignore' })).toHaveLength(0);
  });
});

describe('closed forms', () => {
  it('one point: the product of its box sides', () => {
    const next = rng(51);
    for (let m = 1; m <= 8; m++) {
      const p = Array.from({ length: m }, () => 1 + next());
      const z = Array.from({ length: m }, () => next());
      let box = 1;
      for (let i = 0; i < m; i++) box *= p[i] - z[i];
      expectClose(hypervolume([p], { ref: z }).hypervolume, box, 1e-14, { p, z });
    }
  });

  it('n points on a 2-D staircase: (i, n+1−i) over 0 gives n(n+1)/2, exactly', () => {
    for (const n of [1, 2, 5, 100, 1000]) {
      const stairs = Array.from({ length: n }, (_, i) => [i + 1, n - i]);
      // Shuffled, with a dominated copy of every tenth step.
      const next = rng(n);
      const pts = [...stairs, ...stairs.filter((_, i) => i % 10 === 0).map(([x, y]) => [x - 0.5, y])].sort(() => next() - 0.5);
      expect(hypervolume(pts, { ref: [0, 0] }).hypervolume).toBe((n * (n + 1)) / 2);
    }
  });

  it('a 3-D staircase of equal height c: c·n(n+1)/2', () => {
    const n = 300;
    const pts = Array.from({ length: n }, (_, i) => [i + 1, n - i, 7]);
    expect(hypervolume(pts, { ref: [0, 0, 0] }).hypervolume).toBe((7 * n * (n + 1)) / 2);
  });

  it('m arms of length a on a unit cube: 1 + m·(a − 1), m = 1..9', () => {
    for (let m = 1; m <= 9; m++) {
      const a = 5;
      const arms = Array.from({ length: m }, (_, k) => Array.from({ length: m }, (_, i) => (i === k ? a : 1)));
      expect(hypervolume(arms, { ref: new Array(m).fill(0) }).hypervolume).toBe(1 + m * (a - 1));
    }
  });
});

describe('properties (fast-check)', () => {
  // Coordinates: a coarse grid (ties) or any double in [1/1024, 1]; refs on a grid below 0.25.
  const coord = fc.oneof(fc.integer({ min: 0, max: 8 }).map((k) => k / 8), fc.double({ min: 1 / 1024, max: 1, noNaN: true }));
  const front = fc.integer({ min: 1, max: 6 }).chain((m) =>
    fc.record({
      m: fc.constant(m),
      pts: fc.array(fc.array(coord, { minLength: m, maxLength: m }), { minLength: 1, maxLength: 20 }),
      ref: fc.array(fc.integer({ min: -4, max: 2 }).map((k) => k / 8), { minLength: m, maxLength: m }),
      seed: fc.integer(),
    }),
  );
  const hv = (pts: Rows, ref: number[]) => hypervolume(pts, { ref, onOutside: 'ignore' });
  const opts = { seed: 20251124, numRuns: 150 };

  it('permuting rows leaves HV unchanged (1e-12 relative) and dropped equal', () => {
    fc.assert(
      fc.property(front, ({ pts, ref, seed }) => {
        const next = rng(seed);
        const perm = [...pts];
        for (let i = perm.length - 1; i > 0; i--) {
          const j = Math.floor(next() * (i + 1));
          [perm[i], perm[j]] = [perm[j], perm[i]];
        }
        const a = hv(pts, ref);
        const b = hv(perm, ref);
        expectClose(b.hypervolume, a.hypervolume, 1e-12);
        expect(b.dropped).toBe(a.dropped);
      }),
      opts,
    );
  });

  it('duplicating a point leaves HV unchanged', () => {
    fc.assert(
      fc.property(front, ({ pts, ref, seed }) => {
        const k = Math.abs(seed) % pts.length;
        expectClose(hv([...pts, [...pts[k]]], ref).hypervolume, hv(pts, ref).hypervolume, 1e-12);
      }),
      opts,
    );
  });

  it('adding a weakly dominated point leaves HV unchanged', () => {
    fc.assert(
      fc.property(front, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 6, maxLength: 6 }), ({ pts, ref, seed }, cut) => {
        const p = pts[Math.abs(seed) % pts.length];
        const q = p.map((v, i) => (cut[i] < 0.3 ? v : v - cut[i])); // q ≤ p everywhere
        expectClose(hv([...pts, q], ref).hypervolume, hv(pts, ref).hypervolume, 1e-12);
      }),
      opts,
    );
  });

  it('adding any point never lowers HV', () => {
    fc.assert(
      fc.property(front, fc.array(coord, { minLength: 6, maxLength: 6 }), ({ pts, ref, m }, extra) => {
        const before = hv(pts, ref).hypervolume;
        const after = hv([...pts, extra.slice(0, m)], ref).hypervolume;
        expect(after).toBeGreaterThanOrEqual(before * (1 - 1e-12));
      }),
      opts,
    );
  });

  it('scaling one objective by a > 0 scales HV by a (1e-12 relative; exactly for powers of two)', () => {
    fc.assert(
      fc.property(front, fc.double({ min: 1e-3, max: 1e3, noNaN: true }), fc.integer({ min: -20, max: 20 }), ({ pts, ref, m, seed }, a, e) => {
        const axis = Math.abs(seed) % m;
        const scale = (s: number) => ({ pts: pts.map((p) => p.map((v, i) => (i === axis ? v * s : v))), ref: ref.map((v, i) => (i === axis ? v * s : v)) });
        const base = hv(pts, ref).hypervolume;
        const scaled = scale(a);
        expectClose(hv(scaled.pts, scaled.ref).hypervolume, a * base, 1e-12);
        const two = scale(2 ** e);
        expect(hv(two.pts, two.ref).hypervolume).toBe(2 ** e * base);
      }),
      opts,
    );
  });
});

describe('exclusive contributions', () => {
  /** Points weakly dominated by another point (duplicates included) or outside the ref own nothing. */
  const ownsNothing = (pts: Rows, ref: number[], k: number) =>
    pts[k].some((v, i) => !(v > ref[i])) || pts.some((q, j) => j !== k && (dominates(q, pts[k]) || q.every((v, i) => v === pts[k][i])));

  it('= HV(S) − HV(S \\ {p}) by brute force, m = 1..5, with exact zeros where p owns nothing', () => {
    const next = rng(61);
    for (let trial = 0; trial < 60; trial++) {
      const m = 1 + (trial % 5);
      const levels = trial % 3 === 0 ? 4 : 0;
      const pts = randomRows(1 + Math.floor(next() * 9), m, next, levels);
      if (trial % 4 === 0) pts.push([...pts[0]]);
      const ref = randomRef(m, next, levels ? 1 : 0);
      const got = hypervolumeContributions(pts, { ref, onOutside: 'ignore' });
      expect(got).toBeInstanceOf(Float64Array);
      expect(got).toHaveLength(pts.length);
      const want = hvContributionsBrute(pts, ref);
      const total = hvInclusionExclusion(pts, ref);
      for (let k = 0; k < pts.length; k++) {
        if (ownsNothing(pts, ref, k)) expect(got[k], `point ${k} of ${JSON.stringify({ pts, ref })}`).toBe(0);
        else if (levels) expect(got[k]).toBe(want[k]);
        else expect(Math.abs(got[k] - want[k]), `point ${k} of ${JSON.stringify({ pts, ref })}`).toBeLessThanOrEqual(1e-12 * total);
      }
    }
  });

  it('minimise is applied as for hypervolume', () => {
    const pts = [[1, 3], [2, 2], [3, 1], [2.5, 2.5]];
    const max = toMax(pts, [4, 4], true);
    expect(Array.from(hypervolumeContributions(pts, { ref: [4, 4], minimise: true }))).toEqual(hvContributionsBrute(max.points, max.ref));
  });
});

describe('large fronts against moocore (test/fixtures/moo/moocore.json)', () => {
  const fx = loadMoocoreFixtures();
  if (!fx) {
    it.skip('moocore fixtures absent', () => {});
    return;
  }
  for (const c of fx.hypervolume) {
    it(`hypervolume ${c.name} (m = ${c.m}, n = ${c.n}, minimise ${JSON.stringify(c.minimise)})`, () => {
      const got = hypervolume(c.points, { ref: c.ref, minimise: c.minimise, onOutside: 'ignore' });
      expectClose(got.hypervolume, c.hypervolume, 1e-10, c.name);
      expect(got.dropped).toBe(c.outside);
    });
  }
  for (const c of fx.contributions) {
    it(`contributions ${c.name} (m = ${c.m}, n = ${c.n})`, () => {
      const got = hypervolumeContributions(c.points, { ref: c.ref, minimise: c.minimise, onOutside: 'ignore' });
      expect(got).toHaveLength(c.n);
      for (let k = 0; k < c.n; k++) {
        expect(Math.abs(got[k] - c.contributions[k]), `point ${k}: got ${got[k]}, moocore ${c.contributions[k]}`).toBeLessThanOrEqual(1e-10 * c.hypervolume);
      }
      expectClose(hypervolume(c.points, { ref: c.ref, minimise: c.minimise }).hypervolume, c.hypervolume, 1e-10);
    });
  }
});

describe('bad input is refused by name', () => {
  const good = () => [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]];

  for (const bad of [NaN, Infinity, -Infinity]) {
    it(`${bad} in a point names its row and column (0-based)`, () => {
      const rows = good();
      rows[3][1] = bad;
      expect(() => hypervolume(rows, { ref: [0, 0] })).toThrow(/row 3, column 1/);
      const data = flat(good());
      data[2 * 2 + 0] = bad;
      expect(() => hypervolume({ data, m: 2 }, { ref: [0, 0] })).toThrow(/row 2, column 0/);
      expect(() => hypervolumeContributions(rows, { ref: [0, 0] })).toThrow(/row 3, column 1/);
    });
  }

  it('a NaN in the ref is refused', () => {
    expect(() => hypervolume(good(), { ref: [0, NaN] })).toThrow();
  });

  it('ragged rows, or a matrix whose length is not a multiple of m', () => {
    expect(() => hypervolume([[1, 2], [3], [4, 5]], { ref: [0, 0] })).toThrow(/row 1|ragged/i);
    expect(() => hypervolume({ data: [1, 2, 3, 4, 5], m: 2 }, { ref: [0, 0] })).toThrow();
  });

  it('a ref of the wrong length', () => {
    expect(() => hypervolume(good(), { ref: [0, 0, 0] })).toThrow(/ref/i);
    expect(() => hypervolume(good(), { ref: [0] })).toThrow(/ref/i);
    expect(() => hypervolume({ data: new Float64Array(0), m: 2 }, { ref: [0] })).toThrow(/ref/i);
  });

  it('m = 0', () => {
    expect(() => hypervolume([[], []], { ref: [] })).toThrow();
    expect(() => hypervolume({ data: [], m: 0 }, { ref: [] })).toThrow();
  });

  it('more than 10 objectives is allowed, correct, and warns MOALIGN_HV_COST', async () => {
    const m = 11;
    const arms = Array.from({ length: m }, (_, k) => Array.from({ length: m }, (_, i) => (i === k ? 3 : 1)));
    let value = NaN;
    const ws = await warningsDuring(() => (value = hypervolume(arms, { ref: new Array(m).fill(0) }).hypervolume));
    expect(value).toBe(1 + m * 2);
    expect(codes(ws)).toContain('MOALIGN_HV_COST');
    expect(codes(await warningsDuring(() => hypervolume([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], { ref: new Array(10).fill(0) })))).not.toContain('MOALIGN_HV_COST');
  });

  it("onOutside: 'error' throws, 'warn' (the default) warns MOALIGN_HV_OUTSIDE, 'ignore' is silent", async () => {
    const pts = [[1, 2], [2, 1], [0, 3]];
    expect(() => hypervolume(pts, { ref: [0, 0], onOutside: 'error' })).toThrow();
    expect(hypervolume(pts.slice(0, 2), { ref: [0, 0], onOutside: 'error' }).hypervolume).toBe(3);
    expect(codes(await warningsDuring(() => hypervolume(pts, { ref: [0, 0], onOutside: 'warn' })))).toContain('MOALIGN_HV_OUTSIDE');
    expect(codes(await warningsDuring(() => hypervolume(pts, { ref: [0, 0] })))).toContain('MOALIGN_HV_OUTSIDE');
    expect(codes(await warningsDuring(() => hypervolume([[-1, -1]], { ref: [0, 0] })))).toContain('MOALIGN_HV_OUTSIDE');
    expect(codes(await warningsDuring(() => hypervolume(pts, { ref: [0, 0], onOutside: 'ignore' })))).not.toContain('MOALIGN_HV_OUTSIDE');
    expect(codes(await warningsDuring(() => hypervolume(pts.slice(0, 2), { ref: [0, 0] })))).not.toContain('MOALIGN_HV_OUTSIDE');
  });
});
