// paretoRanks() and paretoFront() against brute-force peeling (test/helpers/moo-reference.ts),
// dominance properties, the early-stop rules, and moocore's ranks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { paretoFront, paretoRanks } from '../../ts/moo/index.js';
import { loadMoocoreFixtures } from '../helpers/moo-fixtures.js';
import { dominates, flat, paretoRanksChain, paretoRanksPeel, randomRows, toMax, truncateRanks, type Rows } from '../helpers/moo-reference.js';
import { rng } from '../helpers/reference.js';

const ranksOf = (pts: Rows, opts?: Parameters<typeof paretoRanks>[1]) => Array.from(paretoRanks(pts, opts));

describe('paretoRanks = brute-force peeling', () => {
  for (let m = 2; m <= 6; m++) {
    const sizes = m <= 3 ? [1, 2, 7, 60, 300, 2000] : [1, 2, 7, 60, 500];
    it(`m = ${m}: continuous coordinates, n up to ${sizes.at(-1)}`, () => {
      const next = rng(100 + m);
      for (const n of sizes) {
        const pts = randomRows(n, m, next);
        const want = n <= 300 ? paretoRanksPeel(pts) : paretoRanksChain(pts);
        const got = paretoRanks(pts);
        expect(got).toBeInstanceOf(Int32Array);
        expect(Array.from(got), `n = ${n}`).toEqual(want);
      }
    });

    it(`m = ${m}: integer coordinates with heavy ties and exact duplicates`, () => {
      const next = rng(200 + m);
      for (const [n, levels] of [[5, 2], [40, 3], [200, 4], [m <= 3 ? 2000 : 500, 6]]) {
        const pts = randomRows(n, m, next, levels);
        for (let k = 0; k < n / 10; k++) pts.push([...pts[Math.floor(next() * n)]]);
        const want = pts.length <= 300 ? paretoRanksPeel(pts) : paretoRanksChain(pts);
        expect(ranksOf(pts), `n = ${n}, levels = ${levels}`).toEqual(want);
      }
    });
  }

  it('correlated objectives: many fronts', () => {
    const next = rng(300);
    for (const m of [2, 3, 4]) {
      const pts = Array.from({ length: 400 }, () => {
        const t = next();
        return Array.from({ length: m }, () => t + 0.1 * next());
      });
      expect(ranksOf(pts)).toEqual(paretoRanksChain(pts));
    }
  });

  it('m = 1: the rank is the position among the distinct values, descending', () => {
    const pts = [[3], [1], [3], [2], [5]];
    expect(ranksOf(pts)).toEqual([2, 4, 2, 3, 1]);
  });

  it('every input layout gives the same ranks; an empty set gives none', () => {
    const pts = randomRows(50, 3, rng(301), 4);
    const want = paretoRanksPeel(pts);
    expect(Array.from(paretoRanks({ data: flat(pts), m: 3 }))).toEqual(want);
    expect(Array.from(paretoRanks({ data: Float32Array.from(pts.flat()), m: 3 }))).toEqual(want);
    expect(Array.from(paretoRanks({ data: pts.flat(), m: 3 }))).toEqual(want);
    expect(paretoRanks([])).toHaveLength(0);
    expect(paretoRanks({ data: new Float64Array(0), m: 2 })).toHaveLength(0);
  });
});

describe('dominance properties of the ranks (fast-check)', () => {
  const coord = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.double({ min: -1, max: 1, noNaN: true }));
  const sets = fc.integer({ min: 2, max: 6 }).chain((m) =>
    fc.array(fc.array(coord, { minLength: m, maxLength: m }), { minLength: 1, maxLength: 40 }),
  );

  it('rank 1 is mutually non-dominated; a rank-k point is dominated by some rank k−1 point and by none of rank ≥ k', () => {
    fc.assert(
      fc.property(sets, (pts) => {
        const r = ranksOf(pts);
        for (let i = 0; i < pts.length; i++) {
          expect(r[i]).toBeGreaterThanOrEqual(1);
          for (let j = 0; j < pts.length; j++) if (r[j] >= r[i]) expect(dominates(pts[j], pts[i])).toBe(false);
          if (r[i] > 1) expect(pts.some((q, j) => r[j] === r[i] - 1 && dominates(q, pts[i]))).toBe(true);
        }
        // Identical points share a rank.
        for (let i = 0; i < pts.length; i++) for (let j = 0; j < i; j++) if (pts[i].every((v, d) => v === pts[j][d])) expect(r[i]).toBe(r[j]);
      }),
      { seed: 424242, numRuns: 200 },
    );
  });

  it('ranks do not depend on row order', () => {
    fc.assert(
      fc.property(sets, fc.integer(), (pts, seed) => {
        const next = rng(seed);
        const order = pts.map((_, i) => i).sort(() => next() - 0.5);
        const r = ranksOf(pts);
        const rp = ranksOf(order.map((i) => pts[i]));
        expect(order.map((i) => r[i])).toEqual(rp);
      }),
      { seed: 4242, numRuns: 150 },
    );
  });
});

describe('early stop', () => {
  const next = rng(400);
  const cases: [string, Rows][] = [
    ['m = 2 continuous', randomRows(400, 2, next)],
    ['m = 3 integer', randomRows(400, 3, next, 5)],
    ['m = 5 continuous', randomRows(200, 5, next)],
  ];
  for (const [name, pts] of cases) {
    const full = paretoRanksChain(pts);
    it(`${name}: stopAfterPoints completes the front it stops in; the rest get 0`, () => {
      for (const stop of [1, 2, 10, 57, 150, pts.length - 1, pts.length, pts.length + 10]) {
        expect(ranksOf(pts, { stopAfterPoints: stop }), `stopAfterPoints ${stop}`).toEqual(truncateRanks(full, { stopAfterPoints: stop }));
      }
    });
    it(`${name}: maxFronts, alone and with stopAfterPoints`, () => {
      for (const maxFronts of [1, 2, 3, 10, 1000]) {
        expect(ranksOf(pts, { maxFronts }), `maxFronts ${maxFronts}`).toEqual(truncateRanks(full, { maxFronts }));
        expect(ranksOf(pts, { maxFronts, stopAfterPoints: 60 })).toEqual(truncateRanks(full, { maxFronts, stopAfterPoints: 60 }));
      }
    });
  }
});

describe('minimisation and paretoFront', () => {
  it('minimise: true and per-objective flags rank the negated points', () => {
    const next = rng(500);
    for (const m of [2, 3, 4]) {
      const pts = randomRows(150, m, next, m === 3 ? 4 : 0);
      expect(ranksOf(pts, { minimise: true })).toEqual(paretoRanksPeel(toMax(pts, new Array(m).fill(0), true).points));
      const flags = Array.from({ length: m }, (_, i) => i % 2 === 0);
      expect(ranksOf(pts, { minimise: flags })).toEqual(paretoRanksPeel(toMax(pts, new Array(m).fill(0), flags).points));
    }
  });

  it('paretoFront is the ascending indices of the rank-1 points', () => {
    const next = rng(501);
    for (const m of [2, 3, 5]) {
      const pts = randomRows(300, m, next, m === 2 ? 0 : 4);
      const ranks = paretoRanksPeel(pts);
      const want = ranks.flatMap((r, i) => (r === 1 ? [i] : []));
      const got = paretoFront(pts);
      expect(got).toBeInstanceOf(Int32Array);
      expect(Array.from(got)).toEqual(want);
      const minRanks = paretoRanksPeel(toMax(pts, new Array(m).fill(0), true).points);
      expect(Array.from(paretoFront(pts, { minimise: true }))).toEqual(minRanks.flatMap((r, i) => (r === 1 ? [i] : [])));
    }
  });
});

describe('against moocore.pareto_rank (test/fixtures/moo/moocore.json, stored 1-based)', () => {
  const fx = loadMoocoreFixtures();
  if (!fx) {
    it.skip('moocore fixtures absent', () => {});
    return;
  }
  for (const c of fx.paretoRanks) {
    it(`${c.name} (m = ${c.m}, n = ${c.n}, ${c.fronts} fronts, minimise ${JSON.stringify(c.minimise)})`, () => {
      const got = ranksOf(c.points, { minimise: c.minimise });
      expect(got).toEqual(c.ranks);
      expect(Math.max(...got)).toBe(c.fronts);
    });
  }
});

describe('bad input', () => {
  it('NaN names its row and column; ragged rows and m = 0 are refused', () => {
    expect(() => paretoRanks([[1, 2], [3, 4], [5, NaN]])).toThrow(/row 2, column 1/);
    expect(() => paretoRanks([[1, 2], [3]])).toThrow(/row 1|ragged/i);
    expect(() => paretoRanks([[], []])).toThrow();
  });
});
