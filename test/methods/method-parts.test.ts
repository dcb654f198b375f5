// The pieces every method's run shares: the inputs of a config's `data` (with the scorers of
// objectives that are not built in, which policies.json names for the evaluation), policies.json
// itself, and the configs' check that `data` gives the training prompts a method answers.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { policiesFile } from '../../ts/eval/index.js';
import { writePolicies } from '../../ts/methods/finish.js';
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
    expect(Object.keys(file)).toEqual(['method', 'objectives', 'policies', 'preferenceInput', 'trainSeconds', 'trainCpuSeconds', 'scorers', 'extra']);
    expect(file.objectives).toEqual(['positivity', 'helpful', 'short']);
    expect(file.scorers).toEqual(inputs.scorers);
    expect(file.trainSeconds).toBe(run.timings.train);
    expect(file.trainCpuSeconds).toBe(run.cpuTimings.train);
    expect(policiesFile.safeParse(file).success).toBe(true);
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
