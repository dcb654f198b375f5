// `moalign demo --quick` as a person runs it, in a temporary folder: it prints the comparison
// table with a row of numbers for every method, writes report.html with every method's front and
// the table, and a second run finds everything done and finishes at once with the same table.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runtimeInfo } from '../../ts/engine/runtime.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-demo-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const out = join(tmp, 'demo');
const env = { ...process.env, MOALIGN_CACHE_DIR: join(tmp, 'cache') };
const demo = (timeout: number, args: string[] = [], dir = out) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'ts/cli/main.ts', 'demo', '--quick', '--out', dir, ...args], { encoding: 'utf8', env, timeout });
const cuda = runtimeInfo().cudaAvailable;

const METHODS = ['paretohqd', 'panacea', 'ric', 'rewarded-soups', 'sft'];

describe('moalign demo --quick', () => {
  let first: ReturnType<typeof demo>;

  it('runs every method and prints a table with numbers for each', () => {
    first = demo(600_000);
    expect(first.status, first.stderr.slice(-3000)).toBe(0);
    const rows = first.stdout.split('\n');
    for (const method of METHODS) {
      const row = rows.find((r) => r.startsWith(`${method} `));
      expect(row, `a row for ${method}`).toBeDefined();
      // HV, IP, sparsity, spacing, CR%: five numbers after the name
      const numbers = row!.trim().split(/\s+/).slice(1, 6).map(Number);
      expect(numbers.every(Number.isFinite), row).toBe(true);
      expect(numbers[0]).toBeGreaterThan(0);
    }
    expect(first.stderr).toMatch(/moalign demo: done in/);
  }, 600_000);

  it('writes report.html with the table and every front, and results.json', () => {
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/<table[^>]* id="metrics"/);
    expect(html).toMatch(/<svg[^>]* id="fronts"/);
    for (const method of METHODS) expect(html).toContain(`data-series="${method}"`);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.table.trimEnd()).toBe(first.stdout.trimEnd());
    for (const dir of ['task/task.json', 'runs/paretohqd/eval/record.json', 'runs/panacea/eval/record.json', 'runs/ric/eval/record.json', 'runs/soups/eval/record.json', 'runs/sft/eval/record.json'])
      expect(existsSync(join(out, dir)), dir).toBe(true);
  });

  it('a second run finds every step done and prints the same table', () => {
    // --gpu without CUDA says so and runs on the CPU (with CUDA it would only change new work: none is left)
    const again = demo(300_000, ['--gpu']);
    expect(again.status, again.stderr.slice(-3000)).toBe(0);
    expect(again.stdout).toBe(first.stdout);
    expect(again.stderr).not.toMatch(/step \d+\/\d+ \| loss/);
    if (!cuda) expect(again.stderr).toMatch(/--gpu: this libtorch has no CUDA device; running on the CPU/);
  }, 300_000);

  it('on the CPU, spends no GPU time: the table shows none for any method', () => {
    for (const method of METHODS) expect(first.stdout.split('\n').find((r) => r.startsWith(`${method} `))).toMatch(/\s-$/);
  });
});

describe('moalign demo --quick --gpu', () => {
  if (!cuda) {
    it.skip('needs CUDA: this libtorch/machine has none (the CPU fallback of --gpu is checked above)', () => {});
    console.log('moalign demo --gpu: skipped, this libtorch/machine has no CUDA');
    return;
  }
  it('trains and evaluates every method on the GPU: each row of the table has GPU time', () => {
    const run = demo(600_000, ['--gpu'], join(tmp, 'demo-gpu'));
    expect(run.status, run.stderr.slice(-3000)).toBe(0);
    expect(run.stdout).toMatch(/GPU time/);
    for (const method of METHODS) expect(run.stdout.split('\n').find((r) => r.startsWith(`${method} `))).toMatch(/\d+s$/);
  }, 600_000);
});
