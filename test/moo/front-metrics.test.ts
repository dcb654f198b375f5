// frontMetrics() and normalisationBounds() against the plain oracles of metrics.md §2.1, §3–5, §7.
import { describe, expect, it } from 'vitest';
import { frontMetrics, normalisationBounds, type FrontMetricsRecord } from '../../ts/moo/index.js';
import {
  boundsOf, countOutside, hvInclusionExclusion, innerProduct, normalise, randomRows, sparsity, spacing, type Bounds, type Rows,
} from '../helpers/moo-reference.js';
import { rng } from '../helpers/reference.js';

/** |got − want| ≤ tol·max(1, |want|). */
function near(got: number, want: number, tol = 1e-12, what = '') {
  expect(Math.abs(got - want), `${what}: got ${got}, want ${want}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want)));
}

/** N preferences on the simplex (sum 1 up to rounding), each from normalised exponentials. */
function simplex(n: number, m: number, next: () => number): Rows {
  return Array.from({ length: n }, () => {
    const w = Array.from({ length: m }, () => -Math.log(1 - next()));
    const s = w.reduce((a, b) => a + b, 0);
    return w.map((v) => v / s);
  });
}

/** Every number of the record against the oracles, for points already in the space the record uses. */
function expectMetrics(rec: FrontMetricsRecord, space: Rows, prefs: Rows, ref: number[], what: string) {
  near(rec.hypervolume, hvInclusionExclusion(space, ref), 1e-12, `${what} hypervolume`);
  expect(rec.hvDropped).toBe(countOutside(space, ref));
  near(rec.innerProduct, innerProduct(space, prefs), 1e-12, `${what} innerProduct`);
  const sp = sparsity(space, rec.sparsity.variant);
  near(rec.sparsity.value, sp.value, 1e-12, `${what} sparsity ${rec.sparsity.variant}`);
  expect(rec.sparsity.nNondominated).toBe(sp.nNondominated);
  near(rec.spacing.value, spacing(space, rec.spacing.variant), 1e-12, `${what} spacing ${rec.spacing.variant}`);
}

function expectBounds(got: { lo: number[] | null; hi: number[] | null; hvMargin: number | null }, want: Bounds) {
  expect(got.hvMargin).toBe(want.hvMargin);
  expect(got.hi).toEqual(want.hi);
  expect(got.lo).toHaveLength(want.lo.length);
  want.lo.forEach((v, i) => near(got.lo![i], v, 1e-14, `lo[${i}]`));
}

describe('normalized space (the default) against the oracles', () => {
  for (const m of [2, 3, 4]) {
    it(`m = ${m}: every variant of sparsity and spacing`, () => {
      const next = rng(700 + m);
      for (let trial = 0; trial < 12; trial++) {
        const n = 2 + Math.floor(next() * 9); // 2..10, + 2 below: inclusion–exclusion for the HV
        const pts = randomRows(n, m, next).map((p) => p.map((v) => 3 * v - 1));
        if (trial % 3 === 0) pts.push([...pts[0]]); // a duplicate (spacing 0 for both copies)
        if (trial % 4 === 1) pts.push(pts[1].map((v) => v - 0.01)); // a dominated point (left out of sparsity)
        const prefs = simplex(pts.length, m, next);
        const b = boundsOf([pts]);
        const space = normalise(pts, b);
        const zero = new Array(m).fill(0);
        for (const sparsityVariant of ['pgmorl', 'pairwise'] as const) {
          for (const spacingVariant of ['libmoon', 'schott'] as const) {
            const rec = frontMetrics(pts, prefs, { sparsityVariant, spacingVariant });
            expect(rec.space).toBe('normalized');
            expect(rec.sparsity.variant).toBe(sparsityVariant);
            expect(rec.spacing.variant).toBe(spacingVariant);
            expectBounds(rec, b);
            expect(rec.ref).toEqual(zero);
            expect(rec.hvDropped).toBe(0); // the worst point on each axis still sits at δ/(1+δ) > 0
            expectMetrics(rec, space, prefs, zero, `m=${m} trial=${trial}`);
          }
        }
      }
    });
  }

  it('defaults: pgmorl sparsity, libmoon spacing, hvMargin 0.1', () => {
    const next = rng(710);
    const pts = randomRows(8, 3, next);
    const prefs = simplex(8, 3, next);
    const rec = frontMetrics(pts, prefs);
    expect(rec.sparsity.variant).toBe('pgmorl');
    expect(rec.spacing.variant).toBe('libmoon');
    expect(rec.hvMargin).toBe(0.1);
    expectMetrics(rec, normalise(pts, boundsOf([pts], 0.1)), prefs, [0, 0, 0], 'defaults');
  });

  it('hvMargin moves lo and so every normalised value', () => {
    const next = rng(711);
    const pts = randomRows(7, 2, next);
    const prefs = simplex(7, 2, next);
    const rec = frontMetrics(pts, prefs, { hvMargin: 0.25 });
    const b = boundsOf([pts], 0.25);
    expectBounds(rec, b);
    expectMetrics(rec, normalise(pts, b), prefs, [0, 0], 'hvMargin 0.25');
    // lo = −0.25, hi = 1: (0, 0) maps to (0.2, 0.2) = δ/(1+δ), and (1, 1) to (1, 1), whose box is the unit square.
    const corner = frontMetrics([[0, 0], [1, 1]], [[0.5, 0.5], [0.5, 0.5]], { hvMargin: 0.25 });
    near(corner.hypervolume, 1, 1e-15, 'corner hypervolume');
    expect(corner.hvDropped).toBe(0);
    near(corner.innerProduct, (0.2 + 1) / 2, 1e-15, 'corner innerProduct');
  });
});

describe('shared bounds over two fronts', () => {
  it('normalisationBounds pools every front; frontMetrics uses the bounds it is given', () => {
    const next = rng(720);
    const a = randomRows(9, 3, next);
    const b = randomRows(6, 3, next).map((p) => p.map((v) => v * 2 - 0.5));
    const shared = normalisationBounds([a, b]);
    const want = boundsOf([a, b], 0.1);
    expectBounds(shared, want);
    expectBounds(normalisationBounds([a, { data: Float64Array.from(b.flat()), m: 3 }], { hvMargin: 0.3 }), boundsOf([a, b], 0.3));
    for (const [front, name] of [[a, 'a'], [b, 'b']] as const) {
      const prefs = simplex(front.length, 3, next);
      const rec = frontMetrics(front, prefs, { bounds: shared, sparsityVariant: 'pairwise', spacingVariant: 'schott' });
      expectBounds(rec, want);
      expectMetrics(rec, normalise(front, want), prefs, [0, 0, 0], `front ${name}`);
    }
  });

  it('a front inside shared bounds gets a smaller HV than with its own bounds', () => {
    const a = [[0, 1], [1, 0]];
    const b = [[2, 2]]; // dominates all of a and stretches both axes
    const prefs = [[1, 0], [0, 1]];
    const own = frontMetrics(a, prefs);
    const shared = frontMetrics(a, prefs, { bounds: normalisationBounds([a, b]) });
    expect(shared.hypervolume).toBeLessThan(own.hypervolume);
    near(shared.hypervolume, hvInclusionExclusion(normalise(a, boundsOf([a, b])), [0, 0]), 1e-12, 'shared');
  });
});

describe('raw space', () => {
  it('uses the given ref and the raw points; records no bounds', () => {
    const next = rng(730);
    for (const m of [2, 3]) {
      for (let trial = 0; trial < 6; trial++) {
        const pts = randomRows(2 + Math.floor(next() * 9), m, next).map((p) => p.map((v) => 10 * v - 3));
        const prefs = simplex(pts.length, m, next);
        const ref = new Array(m).fill(-2);
        for (const sparsityVariant of ['pgmorl', 'pairwise'] as const) {
          for (const spacingVariant of ['libmoon', 'schott'] as const) {
            const rec = frontMetrics(pts, prefs, { space: 'raw', ref, sparsityVariant, spacingVariant, onOutside: 'ignore' });
            expect(rec.space).toBe('raw');
            expect(rec.lo).toBeNull();
            expect(rec.hi).toBeNull();
            expect(rec.hvMargin).toBeNull();
            expect(rec.ref).toEqual(ref);
            expectMetrics(rec, pts, prefs, ref, `raw m=${m} trial=${trial}`);
          }
        }
      }
    }
  });

  it('a single point: sparsity and spacing 0, HV its box', () => {
    const rec = frontMetrics([[3, 4]], [[0.25, 0.75]], { space: 'raw', ref: [1, 1] });
    expect(rec.hypervolume).toBe(6);
    expect(rec.innerProduct).toBe(0.75 + 3);
    expect(rec.sparsity).toEqual({ value: 0, variant: 'pgmorl', nNondominated: 1 });
    expect(rec.spacing).toEqual({ value: 0, variant: 'libmoon' });
  });
});

describe('the metric record (metrics.md §7)', () => {
  it('has exactly the documented fields, as plain JSON', () => {
    const pts = [[0.2, 0.9], [0.5, 0.5], [0.9, 0.1]];
    const prefs = [[0, 1], [0.5, 0.5], [1, 0]];
    const rec = frontMetrics(pts, prefs, { objectives: ['harmless', 'helpful'] });
    expect(Object.keys(rec).sort()).toEqual(
      ['objectives', 'space', 'lo', 'hi', 'hvMargin', 'ref', 'hypervolume', 'hvDropped', 'innerProduct', 'sparsity', 'spacing', 'points'].sort(),
    );
    expect(Object.keys(rec.sparsity).sort()).toEqual(['nNondominated', 'value', 'variant']);
    expect(Object.keys(rec.spacing).sort()).toEqual(['value', 'variant']);
    expect(rec.objectives).toEqual(['harmless', 'helpful']);
    expect(rec.points).toEqual(pts.map((mean, j) => ({ preference: prefs[j], mean })));
    for (const arr of [rec.lo, rec.hi, rec.ref, rec.objectives, rec.points]) expect(Array.isArray(arr)).toBe(true);
    expect(JSON.parse(JSON.stringify(rec))).toEqual(rec); // nothing lost in JSON: no typed arrays, undefined or NaN
    // Never multiplied by 100 (LibMOON's display factor): sparsity of this front is O(0.1).
    expect(rec.sparsity.value).toBeLessThan(1);
  });

  it('default objective names: one string per objective', () => {
    const rec = frontMetrics([[1, 2, 3], [3, 1, 2]], [[1, 0, 0], [0, 0, 1]]);
    expect(rec.objectives).toHaveLength(3);
    for (const o of rec.objectives) expect(typeof o).toBe('string');
  });
});

describe('bad input', () => {
  const pts = [[0.2, 0.9], [0.5, 0.5], [0.9, 0.1]];
  const prefs = [[0, 1], [0.5, 0.5], [1, 0]];

  it('a preference count that differs from the point count', () => {
    expect(() => frontMetrics(pts, prefs.slice(0, 2))).toThrow(/prefer/i);
    expect(() => frontMetrics(pts, [...prefs, [0.5, 0.5]])).toThrow(/prefer/i);
  });

  it('a preference off the simplex (negative, or not summing to 1), or of the wrong length', () => {
    expect(() => frontMetrics(pts, [[0, 1], [0.6, 0.6], [1, 0]])).toThrow(/simplex|sum/i);
    expect(() => frontMetrics(pts, [[0, 1], [1.5, -0.5], [1, 0]])).toThrow(/simplex|negative/i);
    expect(() => frontMetrics(pts, [[0, 1], [0.5, 0.5], [1, 0, 0]])).toThrow();
  });

  it('raw space without a ref', () => {
    expect(() => frontMetrics(pts, prefs, { space: 'raw' })).toThrow(/ref/i);
  });

  it('NaN in a point names its row and column', () => {
    expect(() => frontMetrics([[0.2, 0.9], [0.5, NaN], [0.9, 0.1]], prefs)).toThrow(/row 1, column 1/);
  });
});
