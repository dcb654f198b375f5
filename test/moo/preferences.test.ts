// Preference grids and validation (paretohqd.md §3, §8.1; panacea.md §10): values built from
// integers, exact sums, Das–Dennis counts, the text forms and the errors.
import { describe, expect, it } from 'vitest';
import {
  checkPreference,
  dasDennis,
  defaultPreferences,
  formatPreference,
  PARETOHQD_GRID,
  parsePreferences,
  RIC13_GRID,
  twoObjectiveGrid,
} from '../../ts/moo/index.js';

/** C(a, b) by Pascal's rule, in integers. */
function binomial(a: number, b: number): number {
  const row = [1];
  for (let i = 1; i <= a; i++) {
    row.push(1);
    for (let j = i - 1; j > 0; j--) row[j] += row[j - 1];
  }
  return row[b];
}

const sum = (w: readonly number[]) => w.reduce((a, b) => a + b, 0);

describe('grids', () => {
  it('grid:11 is (i/10, (10 − i)/10), i = 0..10, every sum exactly 1', () => {
    const grid = parsePreferences('grid:11', 2);
    expect(grid).toHaveLength(11);
    grid.forEach((w, i) => {
      expect(w[0]).toBe(i / 10);
      expect(w[1]).toBe((10 - i) / 10);
      expect(sum(w)).toBe(1);
    });
    expect(grid[3]).toEqual([0.3, 0.7]);
    expect(grid[8]).toEqual([0.8, 0.2]); // 1 − 0.8 would be 0.19999999999999996
  });

  it('grid:N sums to exactly 1 for every N up to 500, ends at (0, 1) and (1, 0)', () => {
    const off: string[] = [];
    for (let n = 2; n <= 500; n++) {
      const grid = twoObjectiveGrid(n);
      expect(grid).toHaveLength(n);
      expect(grid[0]).toEqual([0, 1]);
      expect(grid[n - 1]).toEqual([1, 0]);
      grid.forEach((w, i) => sum(w) !== 1 && off.push(`grid:${n} point ${i}`));
    }
    expect(off).toEqual([]);
  });

  it("paretohqd: the paper's 11 points, exact thirds, each sum exactly 1", () => {
    const grid = parsePreferences('paretohqd', 3);
    const tenths = [[0, 0, 10], [0, 10, 0], [1, 1, 8], [1, 8, 1], [2, 2, 6], [2, 6, 2], [4, 4, 2], [6, 2, 2], [8, 1, 1]];
    expect(grid).toEqual([...tenths.map((c) => c.map((x) => x / 10)), [1 / 3, 1 / 3, 1 / 3], [1, 0, 0]]);
    expect(grid[2]).toEqual([0.1, 0.1, 0.8]);
    for (const w of grid) expect(sum(w)).toBe(1);
    expect(grid).toEqual(PARETOHQD_GRID);
  });

  it("ric13: RiC's 13 points, each sum exactly 1, the paper's grid a subset", () => {
    const grid = parsePreferences('ric13', 3);
    expect(grid).toHaveLength(13);
    expect(grid).toEqual(RIC13_GRID);
    for (const w of grid) expect(sum(w)).toBe(1);
    for (const w of PARETOHQD_GRID) expect(grid).toContainEqual(w);
    expect(grid).toContainEqual([0.2, 0.4, 0.4]);
    expect(grid).toContainEqual([0.4, 0.2, 0.4]);
  });

  it('dasDennis:H has C(H + m − 1, m − 1) distinct points c/H with integers c summing to H', () => {
    for (let m = 2; m <= 5; m++) {
      for (let h = 1; h <= 8; h++) {
        const grid = parsePreferences(`dasDennis:${h}`, m);
        expect(grid, `m = ${m}, H = ${h}`).toHaveLength(binomial(h + m - 1, m - 1));
        expect(new Set(grid.map((w) => w.join(','))).size).toBe(grid.length);
        for (const w of grid) {
          expect(w).toHaveLength(m);
          const counts = w.map((v) => Math.round(v * h));
          counts.forEach((c, i) => expect(w[i]).toBe(c / h));
          expect(sum(counts)).toBe(h);
          expect(Math.abs(sum(w) - 1)).toBeLessThanOrEqual(1e-15);
          expect(checkPreference(w, m)).toHaveLength(m);
        }
      }
    }
    expect(dasDennis(2, 10)).toEqual(twoObjectiveGrid(11));
  });

  it('defaults: grid:11 for 2 objectives, paretohqd for 3, the largest Das–Dennis grid of at most 64 points beyond', () => {
    expect(defaultPreferences(2)).toEqual(twoObjectiveGrid(11));
    expect(defaultPreferences(3)).toEqual(PARETOHQD_GRID);
    expect(defaultPreferences(4)).toHaveLength(56); // H = 5
    expect(defaultPreferences(5)).toHaveLength(35); // H = 3
    expect(defaultPreferences(10)).toHaveLength(55); // H = 2
    expect(parsePreferences('default', 3)).toEqual(PARETOHQD_GRID);
  });
});

describe('explicit lists and validation', () => {
  it('reads rows separated by ";" and weights by ",", fractions included', () => {
    expect(parsePreferences('0.2,0.8;0.5,0.5', 2)).toEqual([
      [0.2, 0.8],
      [0.5, 0.5],
    ]);
    expect(parsePreferences(' 1/3, 1/3 ,1/3 ', 3)).toEqual([[1 / 3, 1 / 3, 1 / 3]]);
    expect(parsePreferences('0,1;', 2)).toEqual([[0, 1]]);
  });

  it('divides by the sum when it is off 1 by at most 1e-6, and leaves exact sums alone', () => {
    const [w] = parsePreferences('0.5,0.5000008', 2);
    expect(Math.abs(sum(w) - 1)).toBeLessThanOrEqual(2e-16);
    expect(w[0]).toBeCloseTo(0.5 / 1.0000008, 15);
    expect(checkPreference([0.3, 0.7], 2)).toEqual([0.3, 0.7]);
  });

  it('errors name the preference and the problem', () => {
    expect(() => parsePreferences('0.2,0.8;0.6,0.5', 2)).toThrow('preference 1 (0.6, 0.5) sums to 1.1, not 1');
    expect(() => parsePreferences('1.5,-0.5', 2)).toThrow('preference 0 (1.5, -0.5): weight 1 is -0.5; weights must be >= 0');
    expect(() => parsePreferences('0.5,0.5', 3)).toThrow('preference 0 (0.5, 0.5) has 2 weights but there are 3 objectives');
    expect(() => parsePreferences('0.5,abc', 2)).toThrow('preference 0: "abc" is not a number');
    expect(() => parsePreferences('grid:11', 3)).toThrow('grid:11 is a 2-objective grid but there are 3 objectives');
    expect(() => parsePreferences('paretohqd', 2)).toThrow('3-objective grid');
    expect(() => parsePreferences('grid:1', 2)).toThrow('N >= 2');
    expect(() => parsePreferences('grid:x', 2)).toThrow('N must be an integer');
    expect(() => parsePreferences('dasDennis:0', 4)).toThrow('H >= 1');
    expect(() => parsePreferences('uniform', 2)).toThrow('unknown grid "uniform"');
    expect(() => parsePreferences(' ; ', 2)).toThrow('the list is empty');
    expect(() => checkPreference([Number.NaN, 1], 2, 'ω')).toThrow('ω (NaN, 1): weight 0 is NaN');
  });

  it('formats preferences for messages and legends', () => {
    expect(formatPreference([0.1, 0.9])).toBe('(0.1, 0.9)');
    expect(formatPreference([1 / 3, 1 / 3, 1 / 3])).toBe('(0.333, 0.333, 0.333)');
    expect(formatPreference([0, 1])).toBe('(0, 1)');
  });
});
