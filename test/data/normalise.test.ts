// Reward normalisation against numpy (test/fixtures/data/normalise.json, made by
// make_fixtures.py there) and against brute-force definitions written here.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { fitNormaliser, Normaliser, quantileSorted } from '../../ts/data/normalise.js';
import { ScoredDataset, type Sample } from '../../ts/data/records.js';

type Rows = number[][];
interface Case {
  name: string;
  objectives: string[];
  rewards: Rows;
  fresh: Rows;
  minmax: ({ lowerQuantile: number; upperQuantile: number } & ({ lo: number[]; hi: number[]; normalised: Rows; fresh: Rows } | { degenerate: string[] }))[];
  zscore: { mean: number[]; std: number[]; normalised: Rows; fresh: Rows };
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/data/normalise.json', import.meta.url), 'utf8')) as { cases: Case[] };
const flat = (rows: Rows) => Float64Array.from(rows.flat());

const dir = mkdtempSync(join(tmpdir(), 'moalign-normalise-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** |a − b| ≤ tol·max(1, |b|), elementwise. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let k = 0; k < expected.length; k++) {
    if (!(Math.abs(actual[k] - expected[k]) <= tol * Math.max(1, Math.abs(expected[k])))) {
      expect.fail(`element ${k}: ${actual[k]} vs expected ${expected[k]}`);
    }
  }
}

describe('min-max normalisation matches numpy', () => {
  for (const c of fixture.cases) {
    for (const mm of c.minmax) {
      const label = `${c.name}, quantiles ${mm.lowerQuantile}..${mm.upperQuantile}`;
      const spec = { kind: 'minmax' as const, lowerQuantile: mm.lowerQuantile, upperQuantile: mm.upperQuantile };
      if ('degenerate' in mm) {
        it(`${label}: refuses the degenerate objective "${mm.degenerate[0]}"`, () => {
          expect(() => fitNormaliser(c.objectives, flat(c.rewards), spec)).toThrow(`objective "${mm.degenerate[0]}" is constant over the pool`);
        });
        continue;
      }
      it(`${label}: bounds and normalised rewards, bit for bit`, () => {
        const n = fitNormaliser(c.objectives, flat(c.rewards), spec);
        const stats = n.stats;
        if (stats.kind !== 'minmax') throw new Error('expected minmax stats');
        expect(stats.lo).toEqual(mm.lo);
        expect(stats.hi).toEqual(mm.hi);
        expect(Array.from(n.apply(flat(c.rewards), c.objectives))).toEqual(mm.normalised.flat());
        expect(Array.from(n.apply(flat(c.fresh), c.objectives))).toEqual(mm.fresh.flat());
      });
    }
  }
});

describe('z-scores match numpy (population std, ddof 0)', () => {
  for (const c of fixture.cases) {
    it(c.name, () => {
      const n = fitNormaliser(c.objectives, flat(c.rewards), { kind: 'zscore' });
      const stats = n.stats;
      if (stats.kind !== 'zscore') throw new Error('expected zscore stats');
      // numpy sums pairwise, moalign in order: equal to rounding, not bit for bit.
      expectClose(stats.mean, c.zscore.mean, 1e-13);
      expectClose(stats.std, c.zscore.std, 1e-11);
      expectClose(n.apply(flat(c.rewards), c.objectives), c.zscore.normalised.flat(), 1e-9);
      expectClose(n.apply(flat(c.fresh), c.objectives), c.zscore.fresh.flat(), 1e-9);
      expectClose(n.invert(n.apply(flat(c.fresh), c.objectives), c.objectives), c.fresh.flat(), 1e-12);
    });
  }

  it('ddof 0 on a hand-worked pool', () => {
    // x = 1, 2, 3, 4: mean 2.5, population variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
    // y = 0, 0, 0, 8: mean 2, variance (4 + 4 + 4 + 36) / 4 = 12
    const n = fitNormaliser(['x', 'y'], Float64Array.of(1, 0, 2, 0, 3, 0, 4, 8), { kind: 'zscore' });
    expect(n.stats).toMatchObject({ kind: 'zscore', mean: [2.5, 2], std: [Math.sqrt(1.25), Math.sqrt(12)], samples: 4 });
    expect(Array.from(n.apply(Float64Array.of(2.5, 2 + Math.sqrt(12)), ['x', 'y']))).toEqual([0, 1]);
  });
});

describe('min-max against brute force', () => {
  /** Quantile by the textbook formula: sort, h = (n − 1)q, interpolate between floor and ceil. */
  function bruteQuantile(values: number[], q: number): number {
    const s = [...values].sort((a, b) => a - b);
    const h = (s.length - 1) * q;
    const [i, k] = [Math.floor(h), Math.ceil(h)];
    return s[i] + (h - i) * (s[k] - s[i]);
  }
  const value = fc.double({ min: -1e6, max: 1e6, noNaN: true });

  it('quantileSorted agrees with the textbook formula (to rounding) and equals min/max at 0 and 1', () => {
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 60 }), fc.double({ min: 0, max: 1, noNaN: true }), (values, q) => {
        const sorted = Float64Array.from(values).sort();
        const got = quantileSorted(sorted, q);
        const want = bruteQuantile(values, q);
        expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
        // `+ 0` turns -0 into 0: the ends are the min and max as numbers (-0 and 0 are the same value)
        expect(quantileSorted(sorted, 0) + 0).toBe(Math.min(...values) + 0);
        expect(quantileSorted(sorted, 1) + 0).toBe(Math.max(...values) + 0);
      }),
    );
  });

  it('plain min-max uses the pool min and max; r̂ = (r − min) / (max − min)', () => {
    const n = fitNormaliser(['a', 'b'], Float64Array.of(3, -1, 5, 4, 1, 9), { kind: 'minmax' });
    expect(n.stats).toMatchObject({ lo: [1, -1], hi: [5, 9], lowerQuantile: 0, upperQuantile: 1 });
    expect(Array.from(n.apply(Float64Array.of(3, -1, 5, 4, 1, 9, 0, 14), ['a', 'b']))).toEqual([0.5, 0, 1, 0.5, 0, 1, 0, 1]);
  });

  it('property: on the pool it fits, min-max lands in [0, 1] and keeps each objective\'s order', () => {
    const rows = fc.array(fc.tuple(value, value, value), { minLength: 2, maxLength: 40 });
    const quantiles = fc.oneof(fc.constant([0, 1]), fc.tuple(fc.double({ min: 0, max: 0.4, noNaN: true }), fc.double({ min: 0.6, max: 1, noNaN: true })));
    fc.assert(
      fc.property(rows, quantiles, (data, [lowerQuantile, upperQuantile]) => {
        const objectives = ['a', 'b', 'c'];
        const rewards = Float64Array.from(data.flat());
        let n: Normaliser;
        try {
          n = fitNormaliser(objectives, rewards, { kind: 'minmax', lowerQuantile, upperQuantile });
        } catch (err) {
          expect(String(err)).toMatch(/is constant over the pool/);
          return;
        }
        const out = n.apply(rewards, objectives);
        for (const v of out) expect(v >= 0 && v <= 1).toBe(true);
        for (let j = 0; j < 3; j++) {
          for (let i = 0; i < data.length; i++) {
            for (let k = 0; k < data.length; k++) {
              if (data[i][j] < data[k][j]) expect(out[i * 3 + j]).toBeLessThanOrEqual(out[k * 3 + j]);
            }
          }
        }
      }),
    );
  });
});

describe('degenerate objectives and bad input', () => {
  const rewards = Float64Array.of(1, 7, 2, 7, 3, 7);

  it('a constant objective is named, for min-max and z-scores', () => {
    expect(() => fitNormaliser(['helpful', 'harmless'], rewards, { kind: 'minmax' })).toThrow(
      'objective "harmless" is constant over the pool (min 7, max 7): it carries no trade-off',
    );
    expect(() => fitNormaliser(['helpful', 'harmless'], rewards, { kind: 'zscore' })).toThrow(/objective "harmless" is constant over the pool/);
  });

  it('a spread within 1e-12·max(1, |hi|) counts as constant', () => {
    const tiny = Float64Array.of(1e6, 0, 1e6 + 1e-7, 1);
    expect(() => fitNormaliser(['x', 'y'], tiny, { kind: 'minmax' })).toThrow(/objective "x" is constant/);
  });

  it('NaN and infinite rewards are refused, naming row and objective, when fitting and applying', () => {
    const bad = Float64Array.of(1, 2, 3, Number.NaN);
    expect(() => fitNormaliser(['a', 'b'], bad, { kind: 'minmax' })).toThrow('reward of row 1 (0-based), objective "b", is NaN');
    const n = fitNormaliser(['a', 'b'], Float64Array.of(1, 2, 3, 4), { kind: 'zscore' });
    expect(() => n.apply(Float64Array.of(0, 0, Number.POSITIVE_INFINITY, 0), ['a', 'b'])).toThrow('reward of row 1 (0-based), objective "a", is Infinity');
  });

  it('bad specs are refused', () => {
    const ok = Float64Array.of(1, 2, 3, 4);
    expect(() => fitNormaliser(['a', 'b'], ok, { kind: 'minmax', lowerQuantile: 0.9, upperQuantile: 0.1 })).toThrow(/lowerQuantile \(0.9\) must be below upperQuantile/);
    expect(() => fitNormaliser(['a', 'b'], ok, { kind: 'minmax', upperQuantile: 1.5 })).toThrow(/upperQuantile/);
    expect(() => fitNormaliser(['a', 'b'], new Float64Array(0), { kind: 'zscore' })).toThrow(/no rewards/);
    expect(() => fitNormaliser(['a', 'b'], Float64Array.of(1, 2, 3), { kind: 'zscore' })).toThrow(/not a whole number of rows/);
  });

  it('objectives in another order, missing or extra are refused', () => {
    const n = fitNormaliser(['a', 'b'], Float64Array.of(1, 2, 3, 4), { kind: 'minmax' });
    expect(() => n.apply(Float64Array.of(1, 2), ['b', 'a'])).toThrow('objectives ["b", "a"] differ from the normaliser\'s ["a", "b"]: same names in a different order');
    expect(() => n.apply(Float64Array.of(1, 2), ['a', 'c'])).toThrow('missing ["b"]; unexpected ["c"]');
    expect(() => n.apply(Float64Array.of(1, 2, 3), ['a', 'b', 'c'])).toThrow('unexpected ["c"]');
  });

  it('min-max cannot be inverted', () => {
    const n = fitNormaliser(['a', 'b'], Float64Array.of(1, 2, 3, 4), { kind: 'minmax' });
    expect(() => n.invert(Float64Array.of(0.5, 0.5), ['a', 'b'])).toThrow(/cannot be inverted/);
  });
});

describe('saved statistics', () => {
  const pool = fixture.cases.find((c) => c.name.startsWith('pool'))!;

  for (const spec of [{ kind: 'minmax', lowerQuantile: 0.05, upperQuantile: 0.95 }, { kind: 'zscore' }] as const) {
    it(`${spec.kind}: saved, loaded and applied to new data gives the fitted normaliser's numbers`, async () => {
      const fitted = fitNormaliser(pool.objectives, flat(pool.rewards), spec);
      const file = join(dir, `${spec.kind}.json`);
      await fitted.save(file);
      const loaded = await Normaliser.load(file);
      expect(loaded.stats).toEqual(fitted.stats);
      expect(Array.from(loaded.apply(flat(pool.fresh), pool.objectives))).toEqual(Array.from(fitted.apply(flat(pool.fresh), pool.objectives)));
      const viaJson = Normaliser.fromJSON(JSON.parse(JSON.stringify(fitted)));
      expect(Array.from(viaJson.apply(flat(pool.fresh), pool.objectives))).toEqual(Array.from(fitted.apply(flat(pool.fresh), pool.objectives)));
      await expect(fitted.save(file)).rejects.toThrow(`${file} already exists; pass overwrite: true`);
      await fitted.save(file, { overwrite: true });
    });
  }

  it('a ScoredDataset fits and applies like its matrix', () => {
    const samples: Sample[] = pool.rewards.map((_, i) => ({ id: `s${i}`, prompt: 'p', response: `r${i}`, origin: 'dataset' }));
    const dataset = new ScoredDataset(pool.objectives, samples, flat(pool.rewards));
    const a = fitNormaliser(dataset, { kind: 'zscore' });
    const b = fitNormaliser(pool.objectives, flat(pool.rewards), { kind: 'zscore' });
    expect(a.stats).toEqual(b.stats);
    expect(Array.from(a.applyTo(dataset))).toEqual(Array.from(b.apply(dataset.rewards, dataset.objectives)));
  });

  it('a corrupt or invalid statistics file is an error naming it', async () => {
    const corrupt = join(dir, 'corrupt.json');
    writeFileSync(corrupt, '{"kind": "zscore", ');
    await expect(Normaliser.load(corrupt)).rejects.toThrow(`${corrupt}: not valid JSON`);
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ kind: 'zscore', objectives: ['a', 'b'], samples: 3, mean: [0, 1], std: [1] }));
    await expect(Normaliser.load(wrong)).rejects.toThrow(`${wrong}: not valid normaliser statistics: field "std": holds 1 numbers for 2 objectives`);
    expect(() => Normaliser.fromJSON({ kind: 'zscore', objectives: ['a'], samples: 3, mean: [0], std: [0] })).toThrow('field "std.0": is degenerate for objective "a"');
    expect(() => Normaliser.fromJSON({ kind: 'minmax', objectives: ['a'], samples: 3, lowerQuantile: 0, upperQuantile: 1, lo: [0] })).toThrow('missing field "hi"');
  });
});
