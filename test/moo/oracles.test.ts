// The brute-force oracles of test/helpers/moo-reference.ts, checked against closed forms and
// against each other, before any test trusts them.
import { describe, expect, it } from 'vitest';
import {
  boundsOf, countOutside, fsum, hvContributionsBrute, hvGrid, hvInclusionExclusion, hvSlicing, innerProduct, nondominated, normalise,
  paretoRanksChain, paretoRanksPeel, randomRows, sparsity, spacing, toMax, truncateRanks,
} from '../helpers/moo-reference.js';
import { rng } from '../helpers/reference.js';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-300);

describe('fsum', () => {
  it('sums exactly where naive summation loses digits', () => {
    expect(fsum([1e16, 1, -1e16])).toBe(1);
    expect(fsum(new Array(10).fill(0.1))).toBe(1);
    expect(fsum([])).toBe(0);
    expect(fsum([2 ** -1074, 1, -1])).toBe(2 ** -1074);
  });
});

describe('hypervolume oracles: closed forms', () => {
  const both = (pts: number[][], z: number[]) => {
    const ie = hvInclusionExclusion(pts, z);
    expect(hvSlicing(pts, z)).toBe(ie); // the third oracle agrees on every closed form below
    return [ie, hvGrid(pts, z)];
  };

  it('one point: the box Π (p_i − z_i)', () => {
    expect(both([[3, 5, 2]], [1, 1, 1])).toEqual([8, 8]);
    expect(both([[0.5, 0.25, 2, 4]], [0, 0, 0, 0])).toEqual([1, 1]);
    expect(hvInclusionExclusion([[2, 3, 4, 5, 6, 7]], [1, 1, 1, 1, 1, 1])).toBe(720);
    expect(both([[7]], [-2])).toEqual([9, 9]);
  });

  it('a 2-D staircase by hand', () => {
    // (1,4) (2,3) (3,2) (4,1) over z = 0: columns of width 1 and heights 4, 3, 2, 1.
    const stairs = [[1, 4], [2, 3], [3, 2], [4, 1]];
    expect(both(stairs, [0, 0])).toEqual([10, 10]);
    // z = (1, 1): (1,4) and (4,1) become flat; over x∈[1,2] height 2, over [2,3] height 1 → 3.
    expect(both(stairs, [1, 1])).toEqual([3, 3]);
    // Dominated points, duplicates and points below the ref change nothing.
    expect(both([...stairs, [1, 1], [2, 3], [0.5, 3.5], [-1, 10], [10, 0]], [0, 0])).toEqual([10, 10]);
  });

  it('two overlapping boxes in 3-D: |A| + |B| − |A ∩ B|', () => {
    expect(both([[2, 1, 1], [1, 2, 1]], [0, 0, 0])).toEqual([3, 3]);
    expect(both([[2, 3, 4], [4, 3, 2]], [0, 0, 0])).toEqual([24 + 24 - 2 * 3 * 2, 24 + 24 - 2 * 3 * 2]);
  });

  it('points on or below the ref add exactly 0', () => {
    expect(both([[0, 5], [5, 0], [-1, 3]], [0, 0])).toEqual([0, 0]);
    expect(both([], [0, 0, 0])).toEqual([0, 0]);
    expect(countOutside([[0, 5], [5, 1], [-1, 3], [1, 1]], [0, 0])).toBe(2);
  });

  it('minimisation by negation: toMax negates the chosen objectives of points and ref', () => {
    const { points, ref } = toMax([[1, 2], [3, 4]], [5, 0], [true, false]);
    expect(points).toEqual([[-1, 2], [-3, 4]]);
    expect(ref).toEqual([-5, 0]);
    expect(hvInclusionExclusion(points, ref)).toBe(4 * 2 + 2 * 2); // (−1−(−5))·2 ∪ (−3−(−5))·4
  });
});

describe('hypervolume oracles agree on random sets', () => {
  it('inclusion–exclusion = grid cells, m = 1..4, continuous (1e-12) and integer (exact)', () => {
    const next = rng(20240601);
    for (let trial = 0; trial < 120; trial++) {
      const m = 1 + (trial % 4);
      const n = 1 + Math.floor(next() * 10);
      const levels = trial % 3 === 0 ? 5 : 0;
      const pts = randomRows(n, m, next, levels);
      const z = Array.from({ length: m }, () => (levels ? Math.floor(next() * 2) : next() * 0.3));
      const a = hvInclusionExclusion(pts, z);
      const b = hvGrid(pts, z);
      if (levels) expect(a).toBe(b);
      else expect(rel(a, b), JSON.stringify({ pts, z })).toBeLessThan(1e-12);
    }
  });

  it('slicing = inclusion–exclusion, m = 1..7, continuous (1e-12) and integer (exact)', () => {
    const next = rng(20240602);
    for (let trial = 0; trial < 140; trial++) {
      const m = 1 + (trial % 7);
      const levels = trial % 3 === 0 ? 4 : 0;
      const pts = randomRows(1 + Math.floor(next() * 10), m, next, levels);
      const z = Array.from({ length: m }, () => (levels ? Math.floor(next() * 2) : next() * 0.3));
      const a = hvInclusionExclusion(pts, z);
      const b = hvSlicing(pts, z);
      if (levels) expect(b).toBe(a);
      else expect(rel(a, b), JSON.stringify({ pts, z })).toBeLessThan(1e-12);
    }
    expect(hvSlicing([[2, 3, 4, 5, 6, 7]], [1, 1, 1, 1, 1, 1])).toBe(720);
  });

  it('the sum of exclusive contributions never exceeds HV, and equals it for disjoint boxes', () => {
    const next = rng(99);
    for (let trial = 0; trial < 30; trial++) {
      const pts = randomRows(6, 3, next);
      const c = hvContributionsBrute(pts, [0, 0, 0]);
      expect(fsum(c)).toBeLessThanOrEqual(hvInclusionExclusion(pts, [0, 0, 0]) * (1 + 1e-12));
      for (const v of c) expect(v).toBeGreaterThanOrEqual(-1e-15);
    }
    // 2-D staircase (1,2), (2,1): HV 3, each point alone owns a unit square; a duplicate owns nothing.
    expect(hvContributionsBrute([[1, 2], [2, 1]], [0, 0])).toEqual([1, 1]);
    expect(hvContributionsBrute([[1, 2], [2, 1], [2, 1], [1, 1]], [0, 0])).toEqual([1, 0, 0, 0]);
  });
});

describe('Pareto rank oracles', () => {
  it('a hand example with a duplicate', () => {
    const pts = [[1, 1], [2, 2], [2, 2], [3, 1], [0, 0], [3, 0]];
    expect(paretoRanksPeel(pts)).toEqual([2, 1, 1, 1, 3, 2]);
    expect(paretoRanksChain(pts)).toEqual([2, 1, 1, 1, 3, 2]);
    expect(nondominated(pts)).toEqual([[2, 2], [2, 2], [3, 1]]);
  });

  it('a chain in 3-D has one point per front', () => {
    const pts = [[1, 1, 1], [3, 3, 3], [2, 2, 2], [2, 2, 3]];
    expect(paretoRanksPeel(pts)).toEqual([4, 1, 3, 2]);
  });

  it('peeling and longest-chain agree on random sets with ties and duplicates', () => {
    const next = rng(7);
    for (let trial = 0; trial < 60; trial++) {
      const m = 2 + (trial % 5);
      const pts = randomRows(10 + Math.floor(next() * 120), m, next, trial % 2 ? 3 : 0);
      if (trial % 3 === 0) pts.push(...pts.slice(0, 10).map((p) => [...p]));
      expect(paretoRanksChain(pts)).toEqual(paretoRanksPeel(pts));
    }
  });

  it('truncation: maxFronts, and stopAfterPoints completes the front it stops in', () => {
    const r = [1, 2, 1, 3, 2, 4, 2];
    expect(truncateRanks(r, { maxFronts: 2 })).toEqual([1, 2, 1, 0, 2, 0, 2]);
    expect(truncateRanks(r, { stopAfterPoints: 2 })).toEqual([1, 0, 1, 0, 0, 0, 0]);
    expect(truncateRanks(r, { stopAfterPoints: 3 })).toEqual([1, 2, 1, 0, 2, 0, 2]);
    expect(truncateRanks(r, { stopAfterPoints: 100 })).toEqual(r);
    expect(truncateRanks(r, { stopAfterPoints: 3, maxFronts: 1 })).toEqual([1, 0, 1, 0, 0, 0, 0]);
  });
});

describe('front metric oracles', () => {
  it('normalisation: worst point at δ/(1+δ), best at 1', () => {
    const b = boundsOf([[[1, 10], [3, 20]], [[2, 30]]], 0.1);
    expect(b.lo[0]).toBeCloseTo(0.8, 15);
    expect(b.hi).toEqual([3, 30]);
    expect(b.lo[1]).toBeCloseTo(8, 14);
    const n = normalise([[1, 10], [3, 30]], b);
    expect(n[0][0]).toBeCloseTo(0.1 / 1.1, 15);
    expect(n[0][1]).toBeCloseTo(0.1 / 1.1, 15);
    expect(n[1]).toEqual([1, 1]);
  });

  it('inner product is the mean of dot products', () => {
    expect(innerProduct([[1, 2], [3, 4]], [[1, 0], [0.5, 0.5]])).toBe((1 + 3.5) / 2);
  });

  it('sparsity by hand, both variants; dominated points are left out', () => {
    const front = [[0, 1], [0.5, 0.5], [1, 0]];
    expect(sparsity(front, 'pgmorl')).toEqual({ value: 0.5, nNondominated: 3 }); // (4 · 0.25) / 2
    expect(sparsity(front, 'pairwise')).toEqual({ value: 0.25, nNondominated: 3 }); // (0.5 + 0.5) / (2 · 2)
    expect(sparsity([...front, [0.1, 0.1]], 'pgmorl')).toEqual({ value: 0.5, nNondominated: 3 });
    expect(sparsity([[1, 1], [0, 0]], 'pgmorl')).toEqual({ value: 0, nNondominated: 1 });
    // m = 3: the variants differ in substance. Sorted columns: x 0,1,2; y 0,1,2; z 0,1,3.
    const f3 = [[0, 2, 1], [1, 0, 3], [2, 1, 0]];
    expect(sparsity(f3, 'pgmorl').value).toBe((1 + 1 + 1 + 1 + 1 + 4) / 2);
    // Sorted by x: (0,2,1) → (1,0,3) → (2,1,0): 1+4+4 = 9, then 1+1+9 = 11; / (3 · 2).
    expect(sparsity(f3, 'pairwise').value).toBe(20 / 6);
  });

  it('spacing by hand, both variants', () => {
    // Nearest distances 1, 1, 2; mean 4/3; squared deviations sum 6/9.
    expect(spacing([[0, 0], [1, 0], [3, 0]], 'libmoon')).toBeCloseTo(Math.sqrt(6 / 9 / 3), 15);
    expect(spacing([[0, 0], [1, 0], [3, 0]], 'schott')).toBeCloseTo(Math.sqrt(6 / 9 / 2), 15);
    // L2 nearest: √2, √2, √5.  L1 nearest: 2, 2, 3.
    const pts = [[0, 0], [1, 1], [3, 0]];
    const l2 = [Math.SQRT2, Math.SQRT2, Math.sqrt(5)];
    const m2 = (l2[0] + l2[1] + l2[2]) / 3;
    expect(spacing(pts, 'libmoon')).toBeCloseTo(Math.sqrt(l2.reduce((s, d) => s + (d - m2) ** 2, 0) / 3), 15);
    expect(spacing(pts, 'schott')).toBeCloseTo(Math.sqrt(((2 - 7 / 3) ** 2 * 2 + (3 - 7 / 3) ** 2) / 2), 15);
    expect(spacing([[1, 2]], 'libmoon')).toBe(0);
    expect(spacing([[1, 2], [1, 2], [1, 2]], 'schott')).toBe(0);
  });
});
