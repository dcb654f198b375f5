// Rewarded Soups end to end on the built-in task at reduced size: each expert trains on the top
// 10% of the pool by its objective, the soup at a corner of the simplex is that objective's expert,
// a soup in between is the weighted average of the experts' full weights, the evaluation has every
// preference, and a re-run skips finished steps. `moalign soups` runs the same from the command line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readScoredDataset, writeScoredDataset } from '../../ts/data/dataset.js';
import { ScoredDataset } from '../../ts/data/records.js';
import { CausalLM } from '../../ts/engine/causal-lm.js';
import { type ExpertRecord, hasResponsePairs, pairsByObjective, RewardedSoups, type SoupsConfigInput } from '../../ts/methods/soups/index.js';
import { TASK_FILES } from '../../ts/task/build.js';
import { int64 } from '../helpers/engine-fixtures.js';
import { buildSmallTask, TINY_EVALUATION, TINY_TRAINING } from '../helpers/small-task.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-soups-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const task = join(tmp, 'task');
const OBJECTIVES = ['positivity', 'fidelity'];

beforeAll(async () => {
  await buildSmallTask(tmp);
}, 300_000);

const config: SoupsConfigInput = {
  task,
  preferences: 'grid:3',
  training: TINY_TRAINING,
  evaluation: TINY_EVALUATION,
};

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const flat = (lm: CausalLM, name: string) => lm.native.parameter(name).toArray() as Float32Array;
const IDS = [
  [5, 17, 42, 99, 3, 7, 11, 200],
  [1, 2, 3, 4, 5, 6, 7, 8],
];
const logitsOf = (lm: CausalLM) => lm.native.logits(int64(IDS)).toArray() as Float32Array;
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('Rewarded Soups on the built-in task (reduced)', () => {
  const dir = join(tmp, 'run');
  const base = () => join(task, TASK_FILES.baseModel);
  let events: string[] = [];
  beforeAll(async () => {
    await new RewardedSoups(config, dir).runAll({ onProgress: (e) => e.kind === 'step' && events.push(e.step) });
  }, 300_000);

  it('writes one expert per objective, one model folder per preference, the policies, curves and evaluation', () => {
    expect(events).toEqual(['expert-positivity', 'expert-fidelity', 'soup-0', 'soup-1', 'soup-2', 'evaluate']);
    for (const o of OBJECTIVES) for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'expert.json']) expect(existsSync(join(dir, 'experts', o, f)), `${o}/${f}`).toBe(true);
    for (let i = 0; i < 3; i++) for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) expect(existsSync(join(dir, `soups/pref-${i}`, f)), f).toBe(true);
    const policies = readJson(join(dir, 'policies.json'));
    expect(policies.method).toBe('rewarded-soups');
    expect(policies.expertTrainer).toBe('sftTop');
    expect(policies.interpolation).toBe('merged');
    expect(policies.policies).toEqual([
      { preference: [0, 1], model: 'soups/pref-0' },
      { preference: [0.5, 0.5], model: 'soups/pref-1' },
      { preference: [1, 0], model: 'soups/pref-2' },
    ]);
    const curves = readJson(join(dir, 'train-curves.json'));
    expect(curves.map((c: { name: string }) => c.name)).toEqual(['expert positivity', 'expert fidelity']);
    for (const c of curves) expect(c.losses).toHaveLength(6);
    const record = readJson(join(dir, 'eval/record.json'));
    expect(record.method).toBe('rewarded-soups');
    expect(record.points.map((p: { preference: number[] }) => p.preference)).toEqual([
      [0, 1],
      [0.5, 0.5],
      [1, 0],
    ]);
    expect(Number.isFinite(record.hypervolume)).toBe(true);
  });

  it('trains each expert on the top 10% of the pool by its objective', async () => {
    const { dataset: pool } = await readScoredDataset(join(task, TASK_FILES.pool), { objectives: OBJECTIVES });
    const n = Math.ceil(0.1 * pool.size);
    for (const [j, o] of OBJECTIVES.entries()) {
      const expert = readJson(join(dir, 'experts', o, 'expert.json')) as Extract<ExpertRecord, { trainer: 'sftTop' }>;
      expect(expert.trainer).toBe('sftTop');
      const rewards = pool.samples.map((_, i) => pool.rewardsOf(i)[j]);
      const sorted = rewards.map((r, i) => ({ r, i })).sort((a, b) => (a.r !== b.r ? b.r - a.r : a.i - b.i));
      expect(expert.indices).toEqual(sorted.slice(0, n).map((x) => x.i));
      // whatever the tie-break: nothing left out beats anything taken
      const taken = new Set(expert.indices);
      const worstTaken = Math.min(...expert.indices.map((i) => rewards[i]));
      expect(rewards.every((r, i) => taken.has(i) || r <= worstTaken)).toBe(true);
      expect(expert.minReward).toBe(worstTaken);
    }
  });

  it('interpolation at the end points equals the single-objective experts', async () => {
    // grid:3 = (0, 1), (0.5, 0.5), (1, 0): pref-0 is the fidelity expert, pref-2 the positivity one
    for (const [i, o] of [
      [0, 'fidelity'],
      [2, 'positivity'],
    ] as const) {
      using soup = await CausalLM.load(join(dir, `soups/pref-${i}`));
      using expert = await CausalLM.load(base(), { adapter: join(dir, 'experts', o) });
      expect(maxDiff(logitsOf(soup), logitsOf(expert)), o).toBeLessThan(1e-5);
    }
    using plain = await CausalLM.load(base());
    using soup = await CausalLM.load(join(dir, 'soups/pref-0'));
    expect(maxDiff(logitsOf(soup), logitsOf(plain))).toBeGreaterThan(1e-4); // the expert did learn something
  });

  it('the soup in between is the weighted average of the experts\' full weights', async () => {
    const experts = await Promise.all(
      OBJECTIVES.map(async (o) => {
        const lm = await CausalLM.load(base(), { adapter: join(dir, 'experts', o) });
        lm.native.mergeAdapters(); // θ_i = W₀ + ΔW_i as a plain model
        return lm;
      }),
    );
    using soup = await CausalLM.load(join(dir, 'soups/pref-1'));
    for (const name of soup.native.parameterNames()) {
      const [a, b] = experts.map((e) => flat(e, name));
      const want = Array.from(a, (x, k) => 0.5 * x + 0.5 * b[k]);
      expect(maxDiff(flat(soup, name), want), name).toBeLessThan(1e-5);
    }
    for (const e of experts) e.dispose();
  });

  it('a re-run skips every finished step, and redoes a step whose files are gone', async () => {
    const again: string[] = [];
    const steps = readJson(join(dir, 'steps.json'));
    await new RewardedSoups(config, dir).runAll({ onProgress: (e) => e.kind === 'step' && again.push(e.step) });
    expect(again).toEqual([]);
    expect(readJson(join(dir, 'steps.json'))).toEqual(steps);
    const before = readFileSync(join(dir, 'soups/pref-1/model.safetensors'));
    rmSync(join(dir, 'soups/pref-1'), { recursive: true });
    await new RewardedSoups(config, dir).runAll({ onProgress: (e) => e.kind === 'step' && again.push(e.step) });
    expect(again).toEqual(['soup-1']);
    expect(readFileSync(join(dir, 'soups/pref-1/model.safetensors')).equals(before)).toBe(true);
  }, 120_000);

  it('"factors" averages A and B: the experts at the corners, not the weight average in between', async () => {
    const factors = join(tmp, 'factors');
    await new RewardedSoups({ ...config, interpolation: 'factors', evaluation: { enabled: false } }, factors).runAll();
    expect(readJson(join(factors, 'policies.json')).interpolation).toBe('factors');
    expect(existsSync(join(factors, 'eval/record.json'))).toBe(false);
    for (const [i, o] of [
      [0, 'fidelity'],
      [2, 'positivity'],
    ] as const) {
      using soup = await CausalLM.load(join(factors, `soups/pref-${i}`));
      using expert = await CausalLM.load(base(), { adapter: join(factors, 'experts', o) });
      expect(maxDiff(logitsOf(soup), logitsOf(expert)), o).toBeLessThan(1e-5);
    }
    // (B₁ + B₂)/2 · (A₁ + A₂)/2 ≠ (B₁A₁ + B₂A₂)/2
    using soup = await CausalLM.load(join(factors, 'soups/pref-1'));
    using merged = await CausalLM.load(base());
    for (const o of OBJECTIVES) merged.mergeAdapterFrom(join(factors, 'experts', o), 0.5);
    expect(maxDiff(logitsOf(soup), logitsOf(merged))).toBeGreaterThan(1e-6);
  }, 120_000);
  it('with full fine-tuning (lora: false) averages the experts\' full weights', async () => {
    const full = join(tmp, 'full');
    await new RewardedSoups({ ...config, training: { ...config.training, lora: false }, evaluation: { enabled: false } }, full).runAll();
    expect(readJson(join(full, 'policies.json')).interpolation).toBe('weights');
    const experts = await Promise.all(OBJECTIVES.map((o) => CausalLM.load(join(full, 'experts', o))));
    using soup = await CausalLM.load(join(full, 'soups/pref-1'));
    for (const name of soup.native.parameterNames()) {
      const [a, b] = experts.map((e) => flat(e, name));
      expect(maxDiff(flat(soup, name), Array.from(a, (x, k) => 0.5 * x + 0.5 * b[k])), name).toBeLessThan(1e-6);
    }
    using corner = await CausalLM.load(join(full, 'soups/pref-2'));
    expect(maxDiff(logitsOf(corner), logitsOf(experts[0]))).toBeLessThan(1e-5); // (1, 0): the positivity expert
    for (const e of experts) e.dispose();
  }, 120_000);
});

describe('Rewarded Soups configuration', () => {
  it('rejects a config that does not validate, listing every problem, before any work', () => {
    const bad = join(tmp, 'bad');
    let message = '';
    try {
      new RewardedSoups({ task, topFraction: 0, expertTrainer: 'dpo', interpolation: 'factors', training: { lr: -1, lora: false } } as never, bad);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/topFraction/);
    expect(message).toMatch(/training\.lr/);
    expect(message).toMatch(/expertTrainer: "dpo" experts are LoRA adapters/);
    expect(message).toMatch(/interpolation: "factors" averages LoRA factors/);
    expect(() => new RewardedSoups({} as never, bad)).toThrow(/exactly one of "task".*or "data"/);
    expect(existsSync(bad)).toBe(false);
  });

  it('defaults to DPO experts on a pool of response pairs: each pair ordered by the expert\'s objective, ties dropped', async () => {
    const sample = (id: string, group: string, response: string) => ({ id, prompt: `prompt ${group}`, response, group, origin: 'dataset' as const });
    // (positivity, fidelity): a/chosen (1, 0), a/rejected (0, 1), b/chosen (2, 2), b/rejected (0, 2), c: a tie on both
    const pairs = new ScoredDataset(
      OBJECTIVES,
      [sample('a/chosen', 'a', ' yes'), sample('a/rejected', 'a', ' no'), sample('b/chosen', 'b', ' fine'), sample('b/rejected', 'b', ' bad'), sample('c/1', 'c', ' one'), sample('c/2', 'c', ' two')],
      Float64Array.from([1, 0, 0, 1, 2, 2, 0, 2, 5, 5, 5, 5]),
    );
    expect(hasResponsePairs(pairs)).toBe(true);
    expect(pairsByObjective(pairs, 0)).toEqual({
      pairs: [
        { prompt: 'prompt a', chosen: ' yes', rejected: ' no' },
        { prompt: 'prompt b', chosen: ' fine', rejected: ' bad' },
      ],
      ties: 1,
    });
    expect(pairsByObjective(pairs, 1)).toEqual({ pairs: [{ prompt: 'prompt a', chosen: ' no', rejected: ' yes' }], ties: 2 });
    const pool = join(tmp, 'pairs.jsonl');
    await writeScoredDataset(pool, pairs);
    const data = { pool, testPrompts: join(task, TASK_FILES.testPrompts), baseModel: join(task, TASK_FILES.baseModel), objectives: OBJECTIVES };
    const out = join(tmp, 'pairs-run');
    const policies = await new RewardedSoups({ data, preferences: 'grid:3', training: TINY_TRAINING, evaluation: { enabled: false } }, out).runAll();
    expect(policies.expertTrainer).toBe('dpo');
    for (const [j, o] of OBJECTIVES.entries()) {
      const record = readJson(join(out, 'experts', o, 'expert.json')) as ExpertRecord;
      expect(record).toEqual({ objective: o, trainer: 'dpo', beta: 0.1, pairs: [2, 1][j], ties: [1, 2][j] });
      // the LoRA starts at B = 0, so the policy equals the reference and the first DPO loss is -log σ(0) = log 2
      const losses = readJson(join(out, 'experts', o, 'losses.json')) as number[];
      expect(losses).toHaveLength(TINY_TRAINING.steps);
      expect(Math.abs(losses[0] - Math.log(2))).toBeLessThan(1e-6);
    }
    const { dataset: builtIn } = await readScoredDataset(join(task, TASK_FILES.pool), { objectives: OBJECTIVES });
    expect(hasResponsePairs(builtIn)).toBe(false);
    await expect(new RewardedSoups({ task, expertTrainer: 'dpo' }, join(tmp, 'dpo-no-pairs')).runAll()).rejects.toThrow(/expertTrainer "dpo" needs a pool of response pairs/);
  }, 120_000);
});

describe('moalign soups', () => {
  const moalign = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'ts/cli/main.ts', ...args], { encoding: 'utf8', timeout: 120_000 });

  it('runs from a config file, continues a finished run without redoing a step, and reports config problems without a stack', () => {
    const file = join(tmp, 'soups.json');
    const out = join(tmp, 'cli-run');
    writeFileSync(file, JSON.stringify({ ...config, evaluation: { enabled: false } }));
    const first = moalign(['soups', '--config', file, '--out', out]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/expert 1\/2: training on the top \d+ of \d+ samples by positivity/);
    expect(first.stderr).toMatch(/experts trained by sftTop, merged interpolation/);
    expect(readJson(join(out, 'policies.json')).policies).toHaveLength(3);
    const again = moalign(['soups', '--config', file, '--out', out]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/training on|interpolating/);

    const none = moalign(['soups', '--out', join(tmp, 'cli-none')]);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/give --task DIR/);
    writeFileSync(file, JSON.stringify({ expertTrainer: 'dpo' }));
    const bad = moalign(['soups', '--config', file, '--task', task, '--out', join(tmp, 'cli-bad')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/expertTrainer "dpo" needs a pool of response pairs/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  }, 240_000);
});
