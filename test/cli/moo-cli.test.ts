// `moalign hv` and `moalign pareto`, spawned from source as `npx moalign` would run them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hypervolume } from '../../ts/moo/index.js';
import { hvInclusionExclusion, paretoRanksPeel, randomRows, toMax, type Rows } from '../helpers/moo-reference.js';
import { rng } from '../helpers/reference.js';

const moalign = (args: string[], input?: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'ts/cli/main.ts', ...args], { encoding: 'utf8', input, timeout: 60_000 });

const dir = mkdtempSync(join(tmpdir(), 'moalign-moo-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
function file(text: string): string {
  const path = join(dir, `points-${files++}.txt`);
  writeFileSync(path, text);
  return path;
}

/** Points with 6 decimals, written as they are read back: the CLI parses exactly these doubles. */
const points = (n: number, m: number, seed: number): Rows => randomRows(n, m, rng(seed)).map((p) => p.map((v) => Number(v.toFixed(6))));
const csv = (pts: Rows, sep = ',') => pts.map((p) => p.join(sep)).join('\n') + '\n';

/** What stdout must be: each value in String(x) form on its own line, nothing else. */
const lines = (values: number[]) => values.map(String).join('\n') + '\n';

/** The library's value, checked against the oracle so the CLI is held to a right answer. */
function libraryHv(pts: Rows, ref: number[], minimise = false): number {
  const v = hypervolume(pts, { ref, minimise, onOutside: 'ignore' }).hypervolume;
  const max = toMax(pts, ref, minimise);
  expect(Math.abs(v - hvInclusionExclusion(max.points, max.ref))).toBeLessThanOrEqual(1e-12 * v);
  return v;
}

/**
 * Hypervolume values in a --json document, whatever its exact shape: the numbers under keys named
 * hypervolume / hypervolumes / hv anywhere (document order); failing that, a bare numeric array.
 */
function hvValuesIn(json: unknown): number[] {
  const keys = new Set(['hypervolume', 'hypervolumes', 'hv']);
  const numbers = (x: unknown): number[] => (typeof x === 'number' ? [x] : Array.isArray(x) ? x.flatMap(numbers) : []);
  const keyed = (x: unknown): number[] => {
    if (Array.isArray(x)) return x.flatMap(keyed);
    if (x === null || typeof x !== 'object') return [];
    return Object.entries(x).flatMap(([k, v]) => (keys.has(k) && (typeof v === 'number' || Array.isArray(v)) ? numbers(v) : keyed(v)));
  };
  const found = keyed(json);
  if (found.length > 0) return found;
  return Array.isArray(json) ? numbers(json) : [];
}

describe('moalign hv', () => {
  const pts = points(10, 3, 1);
  const ref = [0.05, 0, 0.1];

  it('reads a FILE and prints the hypervolume alone, in String(x) form', () => {
    const run = moalign(['hv', file(csv(pts)), '--ref', ref.join(',')]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(lines([libraryHv(pts, ref)]));
  });

  it('reads stdin when FILE is omitted; a negative ref given as --ref=...', () => {
    const neg = [-0.5, -0.25, -1];
    const run = moalign(['hv', `--ref=${neg.join(',')}`], csv(pts, '\t'));
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(lines([libraryHv(pts, neg)]));
  });

  it('accepts commas, tabs and spaces, mixed', () => {
    const two = points(4, 2, 2);
    const text = `${two[0][0]},${two[0][1]}\n${two[1][0]}\t${two[1][1]}\n${two[2][0]} ${two[2][1]}\n${two[3][0]}, ${two[3][1]}\n`;
    const run = moalign(['hv', '--ref', '0,0'], text);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(lines([libraryHv(two, [0, 0])]));
  });

  it('--minimise negates points and ref', () => {
    const run = moalign(['hv', file(csv(pts)), '--ref', '1,1.5,1', '--minimise']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(lines([libraryHv(pts, [1, 1.5, 1], true)]));
  });

  it('--batch: blank-line separated sets, one line per set', () => {
    const sets = [points(5, 2, 3), points(12, 2, 4), points(1, 2, 5)];
    const text = sets.map((s) => csv(s)).join('\n');
    const want = lines(sets.map((s) => libraryHv(s, [0, 0])));
    const fromFile = moalign(['hv', file(text), '--ref', '0,0', '--batch']);
    expect(fromFile.status, fromFile.stderr).toBe(0);
    expect(fromFile.stdout).toBe(want);
    const fromStdin = moalign(['hv', '--batch', '--ref', '0,0'], text);
    expect(fromStdin.status, fromStdin.stderr).toBe(0);
    expect(fromStdin.stdout).toBe(want);
  });

  it('--json carries the hypervolume values', () => {
    const sets = [points(6, 3, 6), points(3, 3, 7)];
    const run = moalign(['hv', file(sets.map((s) => csv(s)).join('\n')), '--ref', ref.join(','), '--batch', '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(hvValuesIn(JSON.parse(run.stdout))).toEqual(sets.map((s) => libraryHv(s, ref)));
    const single = moalign(['hv', '--ref', ref.join(','), '--json'], csv(pts));
    expect(single.status, single.stderr).toBe(0);
    expect(hvValuesIn(JSON.parse(single.stdout))).toEqual([libraryHv(pts, ref)]);
  });

  it('a non-number names its line (1-based) and exits 1', () => {
    const run = moalign(['hv', file('0.1,0.9\n0.5,0.5\n0.7,oops\n0.9,0.1\n'), '--ref', '0,0']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/line 3\b/);
    expect(run.stdout).toBe('');
    const batch = moalign(['hv', '--batch', '--ref', '0,0'], '0.1,0.9\n\n0.5,x\n');
    expect(batch.status).toBe(1);
    expect(batch.stderr).toMatch(/line 3\b/);
  });
});

describe('moalign pareto', () => {
  it('prints each point’s 1-based rank, one per line, as brute-force peeling', () => {
    const pts = randomRows(60, 3, rng(8), 4);
    const run = moalign(['pareto', file(csv(pts))]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(lines(paretoRanksPeel(pts)));
  });

  it('--minimise, on stdin', () => {
    const pts = points(40, 2, 9);
    const run = moalign(['pareto', '--minimise'], csv(pts, ' '));
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(lines(paretoRanksPeel(toMax(pts, [0, 0], true).points)));
  });
});
