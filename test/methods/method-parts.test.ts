// The pieces every method's run shares: the inputs of a config's `data` (with the scorers of
// objectives that are not built in, which policies.json names for the evaluation), policies.json
// itself, and the configs' check that `data` gives the training prompts a method answers.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { policiesFile } from '../../ts/eval/index.js';
import { elapsedSeconds, writePolicies } from '../../ts/methods/finish.js';
import { resolveInputs, trainPromptsOf } from '../../ts/methods/inputs.js';
import { resolveParetoHqdConfig } from '../../ts/methods/paretohqd/index.js';
import { resolveRicConfig } from '../../ts/methods/ric/index.js';
import { RunFolder } from '../../ts/methods/run-folder.js';
import { resolveSftBaselineConfig } from '../../ts/methods/sft/index.js';
import { resolveSoupsConfig } from '../../ts/methods/soups/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-method-parts-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const data = { pool: 'pool.jsonl', testPrompts: 'test.jsonl', baseModel: 'base', objectives: ['positivity', 'helpful=rm:rms/helpful', 'short=fn:short.mjs'] };

describe('the inputs of a config', () => {
  it('resolve every path of `data`, and name the scorers of objectives that are not built in', () => {
    const inputs = resolveInputs({ data: { ...data, trainPrompts: 'train.jsonl' } });
    expect(inputs.objectives).toEqual(['positivity', 'helpful', 'short']);
    expect(inputs.scorerSpecs).toEqual(data.objectives);
    expect(inputs.scorers).toEqual({ helpful: `rm:${resolve('rms/helpful')}`, short: `fn:${resolve('short.mjs')}` });
    expect(inputs.pool).toBe(resolve('pool.jsonl'));
    expect(trainPromptsOf(inputs)).toBe(resolve('train.jsonl'));
  });

  it('have no scorers with built-in objectives only, and no training prompts when `data` gives none', () => {
    const inputs = resolveInputs({ data: { ...data, objectives: ['positivity', 'fidelity'] } });
    expect(inputs.scorers).toBeUndefined();
    expect(inputs.trainPrompts).toBeUndefined();
    expect(() => trainPromptsOf(inputs)).toThrow(/"data" gives no "trainPrompts"/);
  });
});

describe('policies.json', () => {
  it('holds the inputs\' objectives and scorers, the training time, then the method\'s own fields', async () => {
    const run = RunFolder.open(join(tmp, 'run'), 'test', { any: 1 });
    await run.step('train', [], () => {});
    const inputs = resolveInputs({ data });
    const written = await writePolicies(run, inputs, { method: 'test', policies: [{ preference: [1, 0, 0], model: 'm' }], extra: 'own' });
    const file = JSON.parse(readFileSync(run.path('policies.json'), 'utf8'));
    expect(file).toEqual(written);
    expect(Object.keys(file)).toEqual(['method', 'objectives', 'policies', 'preferenceInput', 'trainSeconds', 'trainCpuSeconds', 'trainGpuSeconds', 'scorers', 'extra']);
    expect(file.objectives).toEqual(['positivity', 'helpful', 'short']);
    expect(file.scorers).toEqual(inputs.scorers);
    expect(file.trainSeconds).toBe(run.timings.train);
    expect(file.trainCpuSeconds).toBe(run.cpuTimings.train);
    expect(file.trainGpuSeconds).toBe(run.gpuTimings.train);
    expect(policiesFile.safeParse(file).success).toBe(true);
  });
});

describe('run steps', () => {
  it('may overlap: each is recorded in steps.json, with the CPU and GPU seconds its work reports from a child process', async () => {
    const run = RunFolder.open(join(tmp, 'overlap'), 'test', { any: 2 });
    const later = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await Promise.all([run.step('a', [], async () => void (await later(30))), run.step('b', [], async () => (await later(10), { childCpuSeconds: 5, childGpuSeconds: 2.5 }))]);
    const steps = JSON.parse(readFileSync(run.path('steps.json'), 'utf8'));
    expect(Object.keys(steps).sort()).toEqual(['a', 'b']);
    expect(steps.b.cpuSeconds).toBeGreaterThanOrEqual(5);
    expect(steps.a.cpuSeconds).toBeLessThan(5);
    // no native work ran on a GPU in this process: a step's GPU time is what its child reported
    expect(steps.a.gpuSeconds).toBe(0);
    expect(steps.b.gpuSeconds).toBe(2.5);
    expect(run.done('a') && run.done('b')).toBe(true);
  });

  it('cover the wall clock once where they overlap (elapsedSeconds), and sum exactly where they do not', () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString();
    // [0, 10] and [4, 12] overlap: 12 s; then [20, 20.3] alone: its own seconds
    expect(elapsedSeconds([{ seconds: 10, finishedAt: at(10) }, { seconds: 8, finishedAt: at(12) }, { seconds: 0.3, finishedAt: at(20.3) }])).toBeCloseTo(12.3, 9);
    expect(elapsedSeconds([{ seconds: 0.1, finishedAt: at(1) }, { seconds: 0.2, finishedAt: at(2) }])).toBe(0.1 + 0.2);
    expect(elapsedSeconds([])).toBe(0);
  });
});

describe('training prompts under `data`', () => {
  it('are required by ParetoHqD and by RiC with online iterations, and by no other method', () => {
    expect(() => resolveParetoHqdConfig({ data })).toThrow(/the ParetoHqD config is not valid:\n {2}data\.trainPrompts: missing: ParetoHqD's stage 2/);
    expect(() => resolveRicConfig({ data, online: { iterations: 1 } })).toThrow(/data\.trainPrompts: missing: RiC's online stage/);
    for (const resolveConfig of [resolveRicConfig, resolveSftBaselineConfig, resolveSoupsConfig]) expect(resolveConfig({ data }).data).toEqual(data);
    expect(resolveParetoHqdConfig({ data: { ...data, trainPrompts: 't' } }).data?.trainPrompts).toBe('t');
  });
});
