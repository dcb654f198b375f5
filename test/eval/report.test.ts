// The comparison in code (compareRecords) and its HTML report, on records made in memory from the
// hand-made fixtures; and the chart features the report uses (point labels, markers on a line,
// labels).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evalRecord, type EvalRecord } from '../../ts/eval/index.js';
import { frontMetrics } from '../../ts/moo/index.js';
import { compareRecords, comparisonTable } from '../../ts/report/compare.js';
import { comparisonReportHtml, preferenceLabel } from '../../ts/report/html.js';
import { chart } from '../../ts/report/svg.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'eval');
const fixture = (run: string): EvalRecord => evalRecord.parse(JSON.parse(readFileSync(join(FIX, run, 'eval', 'record.json'), 'utf8')));
const noExtras = { generations: [], curves: [], tasks: [], samplesPerPreference: 3 };

/** A record on three objectives with the given points. */
function threeObjectives(method: string, points: [number[], number[]][]): EvalRecord {
  const base = fixture('run-a');
  const perPreference = points.map(([preference]) => ({ ...base.perPreference[0], preference }));
  return { ...base, method, objectives: ['x', 'y', 'z'], points: points.map(([preference, mean]) => ({ preference, mean })), perPreference };
}

describe('compareRecords', () => {
  it('pools the bounds over every run (three objectives) and measures each run there', () => {
    const third = 1 / 3;
    const a = threeObjectives('a', [[[1, 0, 0], [3, 0, 1]], [[third, third, third], [2, 2, 2]], [[0, 0, 1], [0, 1, 4]]]);
    const b = threeObjectives('b', [[[1, 0, 0], [4, 1, 0]], [[0, 1, 0], [1, 3, 1]]]);
    const c = compareRecords([{ dir: '/runs/a', record: a }, { dir: '/runs/b', record: b }]);
    // by hand: x in [0, 4], y in [0, 3], z in [0, 4]; lo = min − 0.1·range
    expect(c.bounds.lo.map((v) => Number(v.toFixed(12)))).toEqual([-0.4, -0.3, -0.4]);
    expect(c.bounds.hi).toEqual([4, 3, 4]);
    const bounds = { lo: [-0.4, -0.3, -0.4], hi: [4, 3, 4], hvMargin: 0.1 };
    for (const [i, r] of [a, b].entries()) {
      const want = frontMetrics(r.points.map((p) => p.mean), r.points.map((p) => p.preference), { bounds, objectives: ['x', 'y', 'z'] });
      expect(c.runs[i].metrics.hypervolume).toBeCloseTo(want.hypervolume, 12);
      expect(c.runs[i].metrics.innerProduct).toBeCloseTo(want.innerProduct, 12);
    }
    // the report draws the three pairwise panels, every point labelled with its preference
    const html = comparisonReportHtml(c, noExtras);
    for (const title of ['x vs y', 'x vs z', 'y vs z']) expect(html).toContain(`>${title}<`);
    expect(html.match(/>0\.33,0\.33,0\.33</g)).toHaveLength(3);
    expect(preferenceLabel([third, third, third])).toBe('0.33,0.33,0.33');
  });

  it('refuses the same objectives in another order, naming both runs', () => {
    const a = fixture('run-a');
    const b = { ...fixture('run-b'), objectives: ['fidelity', 'positivity'] };
    expect(() => compareRecords([{ dir: '/r/a', record: a }, { dir: '/r/b', record: b }])).toThrow(/same objectives in a different order.*\n {2}\/r\/a: positivity, fidelity\n {2}\/r\/b: fidelity, positivity/);
  });

  it('names runs of one method by their folders, and warns when the prompts or decoding differ', () => {
    const a = fixture('run-a');
    const b = { ...fixture('run-b'), method: 'alpha', settings: { ...a.settings, temperature: 0.7, prompts: { sha256: 'ff'.repeat(32), limit: 2 } } };
    const c = compareRecords([{ dir: '/r/seed0', record: a }, { dir: '/r/seed1', record: b }]);
    expect(c.runs.map((r) => r.name)).toEqual(['alpha (seed0)', 'alpha (seed1)']);
    expect(c.warnings).toHaveLength(2);
    expect(c.warnings[0]).toMatch(/differ in their test prompts/);
    expect(c.warnings[1]).toMatch(/differ in decoding: alpha \(seed0\): temperature 1,.*alpha \(seed1\): temperature 0.7/);
    expect(comparisonTable(c)).toMatch(/^alpha \(seed1\)/m);
    // the warnings and names reach the report, escaped
    const html = comparisonReportHtml({ ...c, runs: c.runs.map((r) => ({ ...r, name: `${r.name} <b>` })) }, noExtras);
    expect(html).toContain('alpha (seed0) &lt;b&gt;');
    expect(html).not.toContain('<b>');
    expect(html).toContain('Warning: the runs differ in decoding');
  });
});

describe('chart features for fronts', () => {
  const svg = chart({
    xLabel: 'x',
    yLabel: 'y',
    series: [{ name: 'front', color: '#123456', line: true, markers: true, points: [[0, 1], [1, 0.5], [10, 0]], labels: ['a<b', '', 'right'] }],
  });

  it('draws a line through the points, the points themselves, and their labels (escaped, empty ones skipped)', () => {
    expect(svg.match(/<polyline /g)).toHaveLength(1);
    expect(svg.match(/<circle /g)).toHaveLength(3);
    expect(svg).toContain('>a&lt;b</text>');
    expect(svg.match(/font-size="9"/g)).toHaveLength(1);
    expect(svg.match(/<text [^>]*>(a&lt;b|right)<\/text>/g)).toHaveLength(2);
    // near the right edge a label goes left of its point
    expect(svg).toMatch(/text-anchor="end">right</);
  });

  it('puts the legend right of the plot area', () => {
    // plot area: x from 64 to 560 − 170 = 390; the legend starts 12 to its right
    const plain = chart({ xLabel: 'x', yLabel: 'y', series: [{ name: 's', color: '#123456', points: [[0, 0]] }] });
    expect(plain).toMatch(/<rect x="402" y="48" width="10" height="10" fill="#123456"\/>/);
    expect(plain).not.toMatch(/<polyline /);
  });
});
