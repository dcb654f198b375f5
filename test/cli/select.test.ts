// `moalign select`, spawned from source as `npx moalign` would run it: the files it writes, the
// record against a library call made here, the per-preference samples, the SVG, and refusals.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readScoredDataset, writeScoredDataset } from '../../ts/data/dataset.js';
import { ScoredDataset, type Sample } from '../../ts/data/records.js';
import { parseBounds } from '../../ts/cli/select.js';
import { parsePreferences, parseSelectionRecord, selectParetoHq } from '../../ts/moo/index.js';
import { rng } from '../helpers/reference.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-select-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const moalign = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'ts/cli/main.ts', 'select', ...args], { encoding: 'utf8', timeout: 60_000 });
const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

/** A scored pool with negatively correlated, noisy rewards (a trade-off), some of them tied. */
function pool(n: number, objectives: string[], seed: number): ScoredDataset {
  const next = rng(seed);
  const m = objectives.length;
  const rewards = new Float64Array(n * m);
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const t = next();
    for (let j = 0; j < m; j++) rewards[i * m + j] = Math.round(100 * ((j === 0 ? t : (1 - t) / (m - 1)) + 0.3 * next())) / 100;
    samples.push({ id: `s${i}`, prompt: `prompt ${i}`, response: `response ${i}`, origin: 'dataset' });
  }
  return new ScoredDataset(objectives, samples, rewards);
}

const two = pool(400, ['helpful', 'harmless'], 1);
const three = pool(300, ['helpful', 'harmless', 'humor'], 2);
const files = { two: join(tmp, 'two.jsonl'), three: join(tmp, 'three.jsonl') };
beforeAll(async () => {
  await writeScoredDataset(files.two, two);
  await writeScoredDataset(files.three, three);
});

describe('moalign select', () => {
  it('writes the record, one JSONL per preference and the SVG; the record equals the library call', async () => {
    const out = join(tmp, 'sel-2');
    const run = moalign(['--data', files.two, '--k', '8', '--out', out, '--pareto-pool-min', '60']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('read 400 samples');
    const names = readdirSync(out).sort();
    expect(names).toEqual([...Array.from({ length: 11 }, (_, i) => `pref-${i}.jsonl`), 'selection.json', 'selection.svg'].sort());

    const record = parseSelectionRecord(JSON.parse(readFileSync(join(out, 'selection.json'), 'utf8')));
    // The file's dataset as the CLI read it (ids included), selected by the library here.
    const { dataset } = await readScoredDataset(files.two);
    const want = await selectParetoHq(dataset, parsePreferences('grid:11', 2), { k: 8, paretoPoolMin: 60, onWarning: () => {} });
    expect({ ...record, selections: record.selections.map(({ file: _file, ...s }) => s) }).toEqual(want);

    for (const [p, s] of record.selections.entries()) {
      expect(s.file).toBe(`pref-${p}.jsonl`);
      const { dataset: selected } = await readScoredDataset(join(out, s.file!));
      expect(selected.samples.map((x) => x.id)).toEqual(s.ids);
      expect(Array.from(selected.rewards)).toEqual(s.indices.flatMap((i) => dataset.rewardsOf(i)));
      expect(selected.samples[0].prompt).toBe(dataset.samples[s.indices[0]].prompt);
    }
    const svg = readFileSync(join(out, 'selection.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('ω = (0.3, 0.7)');
    expect(svg).toContain('helpful (normalised)');
    expect(svg.match(/<polyline /g)).toHaveLength(11); // one ray per preference
  });

  it('three objectives: the paretohqd grid by default, quantile bounds, angular distance, three panels', async () => {
    const out = join(tmp, 'sel-3');
    const run = moalign(['--data', files.three, '--k', '5', '--out', out, '--bounds', 'q0.01,0.99', '--distance', 'angular', '--pareto-layers', '3']);
    expect(run.status, run.stderr).toBe(0);
    const record = parseSelectionRecord(JSON.parse(readFileSync(join(out, 'selection.json'), 'utf8')));
    expect(record.selections.map((s) => s.preference)).toEqual(parsePreferences('paretohqd', 3));
    expect(record.options).toEqual({ k: 5, bounds: { lowerQuantile: 0.01, upperQuantile: 0.99 }, distance: 'angular', paretoPoolMin: null, paretoLayers: 3 });
    expect(record.layers).toBe(3);
    const { dataset } = await readScoredDataset(files.three);
    const want = await selectParetoHq(dataset, parsePreferences('paretohqd', 3), {
      k: 5,
      bounds: { lowerQuantile: 0.01, upperQuantile: 0.99 },
      distance: 'angular',
      paretoLayers: 3,
    });
    expect(record.selections.map((s) => s.indices)).toEqual(want.selections.map((s) => s.indices));
    const svg = readFileSync(join(out, 'selection.svg'), 'utf8');
    for (const label of ['helpful (normalised)', 'harmless (normalised)', 'humor (normalised)']) expect(svg).toContain(label);
    expect(svg.match(/<polyline /g)).toHaveLength(3 * 11); // one ray per preference and panel
  });

  it('a pool too small for k: every sample taken, and a warning', () => {
    const out = join(tmp, 'sel-small');
    const run = moalign(['--data', files.two, '--k', '500', '--out', out, '--preferences', '0.5,0.5']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('warning: only 400 candidates for k = 500');
    const record = parseSelectionRecord(JSON.parse(readFileSync(join(out, 'selection.json'), 'utf8')));
    expect(record.selections[0].indices).toHaveLength(400);
    expect(record.warnings).toHaveLength(2);
  });

  it('refuses a non-empty --out unless --overwrite, which replaces the earlier selection', () => {
    const out = join(tmp, 'sel-again');
    expect(moalign(['--data', files.two, '--k', '3', '--out', out, '--preferences', 'grid:5']).status).toBe(0);
    const again = moalign(['--data', files.two, '--k', '3', '--out', out]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(`--out ${out} is not empty; pass --overwrite`);
    noStack(again.stderr);
    const replaced = moalign(['--data', files.two, '--k', '3', '--out', out, '--preferences', 'grid:3', '--overwrite']);
    expect(replaced.status, replaced.stderr).toBe(0);
    // grid:5's pref-3 and pref-4 are gone with the rest of the earlier selection
    expect(readdirSync(out).sort()).toEqual(['pref-0.jsonl', 'pref-1.jsonl', 'pref-2.jsonl', 'selection.json', 'selection.svg']);

    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    expect(moalign(['--data', files.two, '--out', file]).stderr).toContain('is a file; it must be a folder');
    const empty = join(tmp, 'empty-dir');
    mkdirSync(empty);
    expect(moalign(['--data', files.two, '--k', '2', '--out', empty, '--preferences', 'grid:2']).status).toBe(0);
  });

  it('fixed bounds LO1,LO2:HI1,HI2 (negative ones too) select as the library does with them', async () => {
    const out = join(tmp, 'sel-fixed');
    const run = moalign(['--data', files.two, '--k', '4', '--out', out, '--preferences', 'grid:3', '--bounds', '-0.5,0:1.5,1']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('bounds fixed lo -0.5, 0, hi 1.5, 1');
    const record = parseSelectionRecord(JSON.parse(readFileSync(join(out, 'selection.json'), 'utf8')));
    const { dataset } = await readScoredDataset(files.two);
    const bounds = { lo: [-0.5, 0], hi: [1.5, 1] };
    const want = await selectParetoHq(dataset, parsePreferences('grid:3', 2), { k: 4, bounds, onWarning: () => {} });
    expect(record.options.bounds).toEqual(bounds);
    expect(record.selections.map(({ file: _file, ...s }) => s)).toEqual(want.selections);
  });

  it('--bounds parses minmax, quantiles and fixed bounds, and refuses the rest', () => {
    expect(parseBounds(' minmax ')).toBe('minmax');
    expect(parseBounds('q0.001,0.999')).toEqual({ lowerQuantile: 0.001, upperQuantile: 0.999 });
    expect(parseBounds('-2,0.5:3,1e3')).toEqual({ lo: [-2, 0.5], hi: [3, 1000] });
    expect(() => parseBounds('0,0:1')).toThrow('fixed bounds hold 2 lo and 1 hi values');
    for (const bad of ['0,x:1,1', '0,:1,1', '0:1:2', '0,NaN:1,1']) expect(() => parseBounds(bad), bad).toThrow('fixed bounds must be finite numbers');
  });

  it('bad preferences and options are errors that name the problem, and nothing is written', () => {
    const out = join(tmp, 'sel-bad');
    const sum = moalign(['--data', files.two, '--out', out, '--preferences', '0.5,0.6']);
    expect(sum.status).toBe(1);
    expect(sum.stderr).toContain('moalign: preference 0 (0.5, 0.6) sums to 1.1, not 1');
    noStack(sum.stderr);
    expect(moalign(['--data', files.two, '--out', out, '--preferences', 'paretohqd']).stderr).toContain('paretohqd is a 3-objective grid but there are 2 objectives');
    const bounds = moalign(['--data', files.two, '--out', out, '--bounds', 'q0.9,0.1']);
    expect(bounds.status).not.toBe(0);
    expect(bounds.stderr).toContain('expected "minmax", "qLO,HI"');
    const fixed = moalign(['--data', files.two, '--out', out, '--bounds', '0,0,0:1,1,1']);
    expect(fixed.stderr).toContain('fixed bounds hold 3 lo and 3 hi values for 2 objectives (helpful, harmless)');
    noStack(fixed.stderr);
    expect(moalign(['--data', files.two, '--out', out, '--distance', 'cosine']).stderr).toContain('Allowed choices are perpendicular, angular');
    expect(existsSync(out)).toBe(false);
  });
});
