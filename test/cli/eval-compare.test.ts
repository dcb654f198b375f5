// `moalign eval` on a real (tiny) model and `moalign compare` on hand-made records, spawned from
// source as `npx moalign` would run them. The eval outputs are checked against the model and the
// scorers called here in the test process; the comparison against frontMetrics with bounds pooled
// by hand.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureModelDir } from '../helpers/engine-fixtures.js';
import { afinnScore, tokenF1, wordCount } from '../../ts/data/scorers/index.js';
import { CausalLM } from '../../ts/engine/index.js';
import { evalGenerationLine, evalRecord, type EvalRecord } from '../../ts/eval/index.js';
import { frontMetrics } from '../../ts/moo/index.js';

const moalign = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'ts/cli/main.ts', ...args], { encoding: 'utf8', timeout: 120_000 });
const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

const tmp = mkdtempSync(join(tmpdir(), 'moalign-eval-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const FIX = join(import.meta.dirname, '..', 'fixtures', 'eval');

describe('moalign eval', () => {
  const run = join(tmp, 'run');
  const promptsFile = join(tmp, 'prompts.jsonl');
  const prompts = [
    { id: 'a', prompt: 'Hello there ', reference: 'good friend' },
    { id: 'b', prompt: 'The day was ', reference: 'long and hot' },
    { id: 'c', prompt: 'We went ', reference: 'home early' },
    { id: 'd', prompt: 'Not used ', reference: 'cut by --limit' },
  ];
  const args = ['eval', '--run', run, '--prompts', promptsFile, '--limit', '3', '--max-new-tokens', '10', '--batch-size', '2'];
  const readRecord = () => evalRecord.parse(JSON.parse(readFileSync(join(run, 'eval', 'record.json'), 'utf8')));
  const readGenerations = () =>
    readFileSync(join(run, 'eval', 'generations.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => evalGenerationLine.parse(JSON.parse(l)));

  beforeAll(async () => {
    // two "preferences" served by the same model: with the same seeds they must answer alike
    await fixtureModelDir('gpt2', run);
    writeFileSync(
      join(run, 'policies.json'),
      JSON.stringify({
        method: 'twin',
        objectives: ['positivity', 'conciseness'],
        policies: [{ preference: [1, 0], model: 'gpt2' }, { preference: [0.25, 0.75], model: join(run, 'gpt2') }],
        trainSeconds: 7,
      }),
    );
    writeFileSync(promptsFile, prompts.map((p) => JSON.stringify(p)).join('\n') + '\n');
  });

  let first: EvalRecord;
  it('writes the record and the generations; responses, rewards, points and metrics recomputed here agree', async () => {
    const r = moalign(args);
    expect(r.status, r.stderr).toBe(0);
    noStack(r.stderr);
    expect(r.stderr).toMatch(/evaluated in/);
    first = readRecord();
    const gens = readGenerations();

    // the responses: the model sampled here with the documented defaults (temperature 1, top-p
    // 0.9) and seeds (batch b: seed 0 + b), trimmed; the same for both policies
    using lm = await CausalLM.load(join(run, 'gpt2'));
    const opts = { maxNewTokens: 10, temperature: 1, topP: 0.9 };
    const want = [...(await lm.generate([prompts[0].prompt, prompts[1].prompt], { ...opts, seed: 0 })), ...(await lm.generate([prompts[2].prompt], { ...opts, seed: 2 }))].map((g) => g.text.trim());
    expect(gens.map((g) => [g.policy, g.promptId, g.response])).toEqual([
      ...want.map((text, i) => [0, prompts[i].id, text]),
      ...want.map((text, i) => [1, prompts[i].id, text]),
    ]);
    for (const g of gens) expect(g.rewards).toEqual({ positivity: afinnScore(g.response), conciseness: -wordCount(g.response) });

    // one point per preference: the mean of its generations' rewards
    expect(first.objectives).toEqual(['positivity', 'conciseness']);
    expect(first.method).toBe('twin');
    const means = [0, 1].map((k) => {
      const mine = gens.filter((g) => g.policy === k);
      return ['positivity', 'conciseness'].map((o) => mine.reduce((s, g) => s + g.rewards[o], 0) / mine.length);
    });
    expect(first.points).toEqual([{ preference: [1, 0], mean: means[0] }, { preference: [0.25, 0.75], mean: means[1] }]);
    // the §7 fields: frontMetrics over the run's own points
    const m = frontMetrics(means, [[1, 0], [0.25, 0.75]], { objectives: ['positivity', 'conciseness'] });
    const { objectives, space, lo, hi, hvMargin, ref, hypervolume, hvDropped, innerProduct, sparsity, spacing, points } = first;
    expect({ objectives, space, lo, hi, hvMargin, ref, hypervolume, hvDropped, innerProduct, sparsity, spacing, points }).toEqual(m);

    // collapse, timing, provenance
    const collapsed = gens.filter((g) => g.collapsed !== null).length;
    expect(first.collapse.collapsed).toBe(collapsed);
    expect(first.collapse.percent).toBeCloseTo((100 * collapsed) / 6, 12);
    expect(first.perPreference.map((p) => p.collapse.responses)).toEqual([3, 3]);
    expect(first.seconds.train).toBe(7);
    expect(first.seconds.total).toBeGreaterThan(0);
    expect(first.prompts).toEqual({ file: promptsFile, count: 3 });
    expect(first.settings).toMatchObject({ maxNewTokens: 10, temperature: 1, topP: 0.9, seed: 0, batchSize: 2, clean: 'trim', hvMargin: 0.1, prompts: { limit: 3 }, scorers: ['builtin:positivity@1', 'builtin:conciseness@1'] });
  });

  it('skips a re-run with the same settings, redoes it with --force or other settings', () => {
    const again = moalign(args);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/skipped \(pass --force to evaluate again\)/);
    expect(readRecord()).toEqual(first);

    const forced = moalign([...args, '--force', '--json']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.stderr).not.toMatch(/skipped/);
    const redone = readRecord();
    expect(redone.createdAt).not.toBe(first.createdAt);
    expect(JSON.parse(forced.stdout)).toEqual(redone);
    // same settings, same seeds: the same numbers
    expect(redone.points).toEqual(first.points);

    const otherSeed = moalign([...args, '--seed', '1']);
    expect(otherSeed.status, otherSeed.stderr).toBe(0);
    expect(otherSeed.stderr).not.toMatch(/skipped/);
    expect(readRecord().settings.seed).toBe(1);
  });

  it("takes a task's test prompts, token budget and cleaning by default, and a run's own scorer for an objective that is not built-in", () => {
    // a task folder as `moalign task build` leaves it, reduced to what the evaluation reads
    const task = join(tmp, 'task');
    mkdirSync(task);
    writeFileSync(join(task, 'task.json'), JSON.stringify({ format: 1, settings: { pool: { maxNewTokens: 5 } } }));
    writeFileSync(join(task, 'prompts-test.jsonl'), prompts.slice(0, 2).map((p) => JSON.stringify(p)).join('\n') + '\n');
    const taskRun = join(tmp, 'task-run');
    cpSync(join(run, 'gpt2'), join(taskRun, 'gpt2'), { recursive: true });
    writeFileSync(join(taskRun, 'chars.mjs'), 'export default (s) => s.response.length;\n');
    writeFileSync(
      join(taskRun, 'policies.json'),
      JSON.stringify({ method: 'task-run', objectives: ['fidelity', 'chars'], task: '../task', scorers: { chars: 'fn:chars.mjs' }, policies: [{ preference: [0.5, 0.5], model: 'gpt2' }] }),
    );
    const r = moalign(['eval', '--run', taskRun]);
    expect(r.status, r.stderr).toBe(0);
    const record = evalRecord.parse(JSON.parse(readFileSync(join(taskRun, 'eval', 'record.json'), 'utf8')));
    expect(record.task).toBe(task);
    expect(record.prompts).toEqual({ file: join(task, 'prompts-test.jsonl'), count: 2 });
    expect(record.settings).toMatchObject({ maxNewTokens: 5, clean: 'first-line' });
    expect(record.settings.scorers[0]).toBe('builtin:fidelity@1');
    expect(record.settings.scorers[1]).toMatch(/^fn:chars:sha256-/);
    const gens = readFileSync(join(taskRun, 'eval', 'generations.jsonl'), 'utf8').trimEnd().split('\n').map((l) => evalGenerationLine.parse(JSON.parse(l)));
    for (const g of gens) {
      expect(g.response).not.toContain('\n');
      expect(g.rewards).toEqual({ fidelity: tokenF1(g.response, g.reference as string), chars: g.response.length });
    }
  });

  it('refuses, with a clear message and no stack trace: no policies.json, preferenceInput over different models, an unknown objective, no prompts', () => {
    const empty = moalign(['eval', '--run', tmp, '--prompts', promptsFile]);
    expect(empty.status).toBe(1);
    expect(empty.stderr).toMatch(/holds no policies.json/);
    noStack(empty.stderr);

    const panacea = join(tmp, 'panacea');
    cpSync(run, panacea, { recursive: true });
    const spec = JSON.parse(readFileSync(join(run, 'policies.json'), 'utf8')) as Record<string, unknown>;
    const write = (s: Record<string, unknown>) => writeFileSync(join(panacea, 'policies.json'), JSON.stringify(s));
    write({ ...spec, preferenceInput: true });
    const p = moalign(['eval', '--run', panacea, '--prompts', promptsFile]);
    expect(p.status).toBe(1);
    expect(p.stderr).toMatch(/policies\.\d.*"preferenceInput"/); // its policies name different models: not one model for every preference
    noStack(p.stderr);

    write({ ...spec, objectives: ['positivity', 'helpfulness'] });
    const unknown = moalign(['eval', '--run', panacea, '--prompts', promptsFile]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/objective "helpfulness" is not a built-in scorer.*--scorer helpfulness=rm:DIR/);
    noStack(unknown.stderr);

    write(spec);
    const noPrompts = moalign(['eval', '--run', panacea]);
    expect(noPrompts.status).toBe(1);
    expect(noPrompts.stderr).toMatch(/names no "task".*--prompts FILE/);
    noStack(noPrompts.stderr);
  });
});

describe('moalign compare', () => {
  const runA = join(FIX, 'run-a');
  const runB = join(FIX, 'run-b');
  const readFixture = (dir: string) => evalRecord.parse(JSON.parse(readFileSync(join(dir, 'eval', 'record.json'), 'utf8')));

  /** Bounds pooled over both fixtures' points, by hand (metrics.md §2.1): lo = min − δ(max − min), hi = max. */
  function pooled(delta: number) {
    // positivity: alpha 4, 3, 1 and beta 5, 2, 0.5; fidelity: alpha 0.2, 0.4, 0.6 and beta 0.1, 0.3, 0.5
    return { lo: [0.5 - delta * 4.5, 0.1 - delta * 0.5], hi: [5, 0.6], hvMargin: delta };
  }

  it('recomputes HV, IP, sparsity and spacing with the pooled bounds, prints the table and writes the report', () => {
    const out = join(tmp, 'report.html');
    const json = moalign(['compare', runA, runB, '--out', out, '--json']);
    expect(json.status, json.stderr).toBe(0);
    const got = JSON.parse(json.stdout) as {
      objectives: string[];
      bounds: { lo: number[]; hi: number[]; hvMargin: number; ref: number[] };
      runs: { method: string; hypervolume: number; innerProduct: number; sparsity: number; spacing: number; collapsePercent: number; trainSeconds: number | null }[];
    };
    const bounds = pooled(0.1);
    expect(got.objectives).toEqual(['positivity', 'fidelity']);
    got.bounds.lo.forEach((v, j) => expect(v).toBeCloseTo(bounds.lo[j], 12));
    expect(got.bounds.hi).toEqual(bounds.hi);
    expect(got.bounds.ref).toEqual([0, 0]);

    const want = [runA, runB].map((dir) => {
      const r = readFixture(dir);
      return frontMetrics(r.points.map((p) => p.mean), r.points.map((p) => p.preference), { bounds });
    });
    expect(got.runs.map((r) => r.method)).toEqual(['alpha', 'beta']);
    got.runs.forEach((r, i) => {
      expect(r.hypervolume).toBeCloseTo(want[i].hypervolume, 12);
      expect(r.innerProduct).toBeCloseTo(want[i].innerProduct, 12);
      expect(r.sparsity).toBeCloseTo(want[i].sparsity.value, 12);
      expect(r.spacing).toBeCloseTo(want[i].spacing.value, 12);
      // the records' own values (0.999) are not used
      expect(r.hypervolume).not.toBeCloseTo(0.999, 3);
    });
    expect(got.runs.map((r) => r.collapsePercent)).toEqual([25, (100 * 4) / 12]);
    expect(got.runs.map((r) => r.trainSeconds)).toEqual([120, null]);

    // the plain table: one row per method with the same numbers, to 4 decimals
    const table = moalign(['compare', runA, runB, '--out', out]);
    expect(table.status, table.stderr).toBe(0);
    const rows = table.stdout.split('\n');
    expect(rows[0]).toMatch(/method\s+HV ↑\s+IP ↑\s+sparsity ↓\s+spacing ↓\s+CR% ↓\s+train time\s+eval time/);
    ['alpha', 'beta'].forEach((name, i) => {
      const row = rows.find((l) => l.startsWith(name)) as string;
      expect(row.split(/\s+/).slice(1, 6)).toEqual([want[i].hypervolume, want[i].innerProduct, want[i].sparsity.value, want[i].spacing.value].map((v) => v.toFixed(4)).concat(got.runs[i].collapsePercent.toFixed(1)));
    });
    // the fixture records predate CPU and GPU time: '-'
    expect(rows.find((l) => l.startsWith('alpha'))).toMatch(/2m00s\s+45s\s+-\s+-$/);
    expect(table.stdout).toMatch(/lo \[0\.05, 0\.05\], hi \[5, 0\.6\], δ 0\.1/);

    // the report: self-contained, with the fronts, the table, names, preference labels, the task
    // pool, the training curves and the sample responses
    const html = readFileSync(out, 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toMatch(/<svg[^>]*>/);
    expect(html).toMatch(/<table>/);
    expect(html).not.toMatch(/\b(src|href)=/);
    expect(html).not.toMatch(/<\?xml/);
    for (const s of ['alpha', 'beta', '>1,0<', '>0.5,0.5<', '>0,1<', want[0].hypervolume.toFixed(4), 'POOL-DISTRIBUTION-MARKER', 'stage 2 (1,0)', 'a bright and happy morning &lt;p1@0&gt;', 'wonderful wonderful wonderful &lt;p2@2&gt;', 'reference: cold and grey']) {
      expect(html).toContain(s);
    }
  });

  it('adds up training and evaluation CPU and GPU seconds in the table', () => {
    // run-a as a run on a GPU would record it (its record otherwise unchanged)
    const gpuRun = join(tmp, 'run-a-gpu');
    cpSync(runA, gpuRun, { recursive: true });
    const record = readFixture(runA);
    record.seconds = { ...record.seconds, cpu: 30, trainCpu: 90, gpu: 3, trainGpu: 60 };
    writeFileSync(join(gpuRun, 'eval', 'record.json'), JSON.stringify(record));
    const r = moalign(['compare', gpuRun, runB, '--out', join(tmp, 'gpu.html')]);
    expect(r.status, r.stderr).toBe(0);
    const header = r.stdout.split('\n')[0];
    expect(header).toMatch(/CPU time\s+GPU time$/);
    // train 2m00s, eval 45s, CPU 30 + 90 s, GPU 3 + 60 s
    expect(r.stdout.split('\n').find((l) => l.startsWith('alpha'))).toMatch(/2m00s\s+45s\s+2m00s\s+1m03s$/);
  });

  it('--hv-margin sets δ of the pooled bounds', () => {
    const r = moalign(['compare', runA, runB, '--out', join(tmp, 'r0.html'), '--json', '--hv-margin', '0.5']);
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as { bounds: { lo: number[]; hvMargin: number }; runs: { hypervolume: number }[] };
    const bounds = pooled(0.5);
    got.bounds.lo.forEach((v, j) => expect(v).toBeCloseTo(bounds.lo[j], 12));
    const a = readFixture(runA);
    expect(got.runs[0].hypervolume).toBeCloseTo(frontMetrics(a.points.map((p) => p.mean), a.points.map((p) => p.preference), { bounds }).hypervolume, 12);
  });

  it('refuses runs with different objectives (exit 1, no stack trace), and a run never evaluated', () => {
    const out = join(tmp, 'never.html');
    const r = moalign(['compare', runA, join(FIX, 'run-c'), '--out', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/different objectives; they cannot be compared/);
    expect(r.stderr).toMatch(/run-a: positivity, fidelity/);
    expect(r.stderr).toMatch(/run-c: positivity, conciseness/);
    noStack(r.stderr);
    expect(existsSync(out)).toBe(false);

    const none = moalign(['compare', runA, tmp, '--out', out]);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/has no eval\/record.json; evaluate it first/);
    noStack(none.stderr);
  });
});
