// RiC's prompt text and target scores against hand-computed values (design paretohqd.md §9.2,
// §9.4, §9.5): rounding to 0.1, the score block, the three target mappings with the design's
// worked examples, the bounds, and the online stage's goals and filter.
import { describe, expect, it } from 'vitest';
import {
  conditionedPrompt,
  dataBounds,
  drawGoals,
  formatScore,
  gaussianBounds,
  keptRows,
  RIC_PROMPT_FORMAT,
  roundScore,
  scoreBlock,
  targetScores,
} from '../../ts/methods/ric/index.js';
import type { Rng } from '../../ts/util/rng.js';

const B42 = [-4.2, 4.2] as const;
/** Target scores as the prompt writes them. */
const written = (w: number[], mapping: 'l2' | 'linf' | 'linear', bounds: Parameters<typeof targetScores>[2] = B42) => targetScores(w, mapping, bounds).map(formatScore);

describe('rounding to 0.1', () => {
  it.each([
    [1.7397, '1.7'],
    [-0.891, '-0.9'],
    [3, '3.0'],
    [0, '0.0'],
    [-0, '0.0'],
    [-0.04, '0.0'],
    [0.04999, '0.0'],
    [-0.0499, '0.0'],
    // halves go away from zero as the number is written, although 0.15, 1.45 and -2.25*10 are not exact in binary
    [0.05, '0.1'],
    [-0.05, '-0.1'],
    [0.15, '0.2'],
    [1.45, '1.5'],
    [2.25, '2.3'],
    [-2.25, '-2.3'],
    [-0.95, '-1.0'],
    [12.34, '12.3'],
    [-4.2, '-4.2'],
  ])('%s → %s', (x, want) => {
    expect(formatScore(x)).toBe(want);
  });

  it('never gives -0 and refuses non-finite scores', () => {
    expect(Object.is(roundScore(-0.01), 0)).toBe(true);
    expect(Object.is(roundScore(-0), 0)).toBe(true);
    expect(roundScore(-0.06)).toBe(-0.1);
    expect(() => roundScore(Number.NaN)).toThrow(/finite/);
    expect(() => roundScore(Infinity)).toThrow(/finite/);
  });
});

describe('the score block', () => {
  it("writes RiC's markers with rounded scores, then the response marker", () => {
    expect(RIC_PROMPT_FORMAT).toEqual({ scoreMarker: '<rm{i}_score>', responseMarker: '\n' });
    expect(scoreBlock([1.7397, -0.891])).toBe(' <rm1_score> 1.7 <rm2_score> -0.9\n');
    expect(scoreBlock([0.7, -1.3, -0.02])).toBe(' <rm1_score> 0.7 <rm2_score> -1.3 <rm3_score> 0.0\n');
    expect(conditionedPrompt('The jury said', [0.25, -0.05])).toBe('The jury said <rm1_score> 0.3 <rm2_score> -0.1\n');
  });

  it('follows a custom format, every {i} replaced', () => {
    const format = { scoreMarker: '<{i}>', responseMarker: ' ##' };
    expect(scoreBlock([1, 2], format)).toBe(' <1> 1.0 <2> 2.0 ##');
    expect(conditionedPrompt('x', [-4.2], { scoreMarker: '[r{i}/{i}]', responseMarker: '' })).toBe('x [r1/1] -4.2');
  });

  it('refuses an empty score list', () => {
    expect(() => scoreBlock([])).toThrow(/no scores/);
  });
});

describe('target scores', () => {
  it("l2: the design's worked examples with bounds ±4.2", () => {
    expect(written([0.5, 0.5], 'l2')).toEqual(['1.7', '1.7']);
    expect(written([0.7, 0.3], 'l2')).toEqual(['3.5', '-0.9']);
  });

  it('l2: by hand, R_i = ω_i/‖ω‖·8.4 − 4.2', () => {
    expect(written([1, 0], 'l2')).toEqual(['4.2', '-4.2']);
    expect(written([0, 1], 'l2')).toEqual(['-4.2', '4.2']);
    // √0.82 = 0.905539…: 0.1/√0.82·8.4 − 4.2 = −3.2724…, 0.9/√0.82·8.4 − 4.2 = 4.1486…
    const [a, b] = targetScores([0.1, 0.9], 'l2', B42);
    expect(a).toBeCloseTo((0.1 / Math.sqrt(0.82)) * 8.4 - 4.2, 12);
    expect(b).toBeCloseTo((0.9 / Math.sqrt(0.82)) * 8.4 - 4.2, 12);
    expect(written([0.1, 0.9], 'l2')).toEqual(['-3.3', '4.1']);
    // thirds: 1/√3 · 8.4 − 4.2 = 0.6497…
    expect(written([1 / 3, 1 / 3, 1 / 3], 'l2')).toEqual(['0.6', '0.6', '0.6']);
  });

  it('linf: the largest weight gets high, the others min(m·ω_i, 1) of the range', () => {
    // 2·0.3 = 0.6 → 0.6·8.4 − 4.2 = 0.84
    expect(written([0.7, 0.3], 'linf')).toEqual(['4.2', '0.8']);
    expect(written([0.2, 0.8], 'linf')).toEqual(['-0.8', '4.2']);
    expect(written([1, 0], 'linf')).toEqual(['4.2', '-4.2']);
    // 3·0.1 = 0.3 → −1.68
    expect(written([0.1, 0.1, 0.8], 'linf')).toEqual(['-1.7', '-1.7', '4.2']);
  });

  it('linf: ties for the largest weight all end at high (m·ω ≥ 1 for a largest weight)', () => {
    expect(written([0.5, 0.5], 'linf')).toEqual(['4.2', '4.2']);
    expect(written([0.4, 0.4, 0.2], 'linf')).toEqual(['4.2', '4.2', '0.8']);
    expect(written([1 / 3, 1 / 3, 1 / 3], 'linf')).toEqual(['4.2', '4.2', '4.2']);
    expect(targetScores([0.5, 0.5, 0], 'linf', B42)).toEqual([4.2, 4.2, -4.2]);
  });

  it('linear: R_i = ω_i·8.4 − 4.2', () => {
    expect(written([0.5, 0.5], 'linear')).toEqual(['0.0', '0.0']);
    expect(written([0.7, 0.3], 'linear')).toEqual(['1.7', '-1.7']);
    expect(written([1, 0], 'linear')).toEqual(['4.2', '-4.2']);
  });

  it('per-objective bounds', () => {
    const bounds = { low: [-1, 0], high: [1, 10] };
    expect(targetScores([0.25, 0.75], 'linear', bounds)).toEqual([-0.5, 7.5]);
    expect(targetScores([0.25, 0.75], 'linf', bounds)).toEqual([-1 + 0.5 * 2, 10]);
    const n = Math.hypot(0.25, 0.75);
    expect(targetScores([0.25, 0.75], 'l2', bounds)).toEqual([(0.25 / n) * 2 - 1, (0.75 / n) * 10]);
  });

  it('refuses mismatched bounds, an unknown mapping and a zero or negative preference', () => {
    expect(() => targetScores([0.5, 0.5], 'l2', { low: [0], high: [1] })).toThrow(/bounds for 1 objectives/);
    expect(() => targetScores([0.5, 0.5], 'l3' as never, B42)).toThrow(/unknown target mapping "l3"/);
    expect(() => targetScores([0, 0], 'l2', B42)).toThrow(/not all 0/);
    expect(() => targetScores([-0.5, 1.5], 'l2', B42)).toThrow(/>= 0/);
  });
});

describe('bounds', () => {
  it('data: each objective’s min and max', () => {
    expect(dataBounds([0.5, -1, -2, 3, 1.5, 0], 2)).toEqual({ low: [-2, -1], high: [1.5, 3] });
  });

  it('gaussian: seeded, so reproducible; near ±4 for 50,000 draws', () => {
    const [low, high] = gaussianBounds(50_000, 0);
    expect(gaussianBounds(50_000, 0)).toEqual([low, high]);
    expect(gaussianBounds(50_000, 1)).not.toEqual([low, high]);
    // the extremes of 50,000 standard normals lie in about [3.9, 4.7] (design §9.4); wide margins
    expect(-low).toBeGreaterThan(3.3);
    expect(-low).toBeLessThan(5.5);
    expect(high).toBeGreaterThan(3.3);
    expect(high).toBeLessThan(5.5);
    expect(() => gaussianBounds(1, 0)).toThrow(/draws/);
  });
});

describe('the online stage', () => {
  /** An Rng that returns these uniforms in turn. */
  const fixed = (values: number[]) => ({ uniform: () => values.shift()! }) as unknown as Rng;

  it('goals: uniform draws rounded to 0.1, all but the smallest set to high', () => {
    // U[-4.3, 4.3]: 0.25 → -2.15 → -2.2; 0.9 → 3.44 → 3.4; 0.5 → 0; 0.1 → -3.44 → -3.4; 0.6 → 0.86 → 0.9; 0.6 → 0.9 (tie: the first)
    const goals = drawGoals(3, 2, [-4.3, 4.3], fixed([0.25, 0.9, 0.5, 0.1, 0.6, 0.6]));
    expect(goals).toEqual([
      [-2.2, 4.3],
      [4.3, -3.4],
      [0.9, 4.3],
    ]);
  });

  it('keeps a row when some objective reaches its quantile over the rows', () => {
    // column 0: 1..5, 0.7 quantile (linear) = 1 + 0.7·4 = 3.8; column 1: 10, 0, 0, 0, 0 → 0.7 quantile 0
    const scores = [1, 10, 2, 0, 3, 0, 4, 0, 5, 0];
    expect(keptRows(scores, 2, 0.7)).toEqual([true, true, true, true, true]);
    // column 1 with a spread: 5, 4, 3, 2, 1 → 3.8 as well
    const spread = [1, 5, 2, 4, 3, 3, 4, 2, 5, 1];
    expect(keptRows(spread, 2, 0.7)).toEqual([true, true, false, true, true]);
    expect(() => keptRows([1, 2, 3], 2, 0.7)).toThrow(/whole number of rows/);
  });
});
