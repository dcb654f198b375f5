// RiC end to end on the built-in task at reduced size: the z-score statistics are the pool's mean
// and population σ, every training prompt carries its own rounded z-scores, each preference's
// policy is the one model with its targets as the prompt suffix (the evaluation keeps the plain
// prompt), the online stage keeps what the rule says, and a re-run skips what is finished.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPrompts, readScoredDataset, readTextSamples } from '../../ts/data/dataset.js';
import { CausalLM } from '../../ts/engine/causal-lm.js';
import { loadPolicies, readEvalGenerations, readPoliciesFile } from '../../ts/eval/index.js';
import { RiC, type RicConfigInput } from '../../ts/methods/ric/index.js';
import { TASK_FILES } from '../../ts/task/build.js';
import { buildSmallTask, TINY_EVALUATION, TINY_TRAINING } from '../helpers/small-task.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-ric-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const task = join(tmp, 'task');
const objectives = ['positivity', 'fidelity'];

beforeAll(async () => {
  await buildSmallTask(tmp);
}, 300_000);

const training = TINY_TRAINING;
const config: RicConfigInput = {
  task,
  preferences: 'grid:3',
  training,
  online: { iterations: 1, prompts: 30, maxNewTokens: 12, originalSamples: 25, steps: 3, lr: 1e-3, quantile: 0.7 },
  evaluation: TINY_EVALUATION,
};

/** Reference formatting, written independently of prompt.ts: nearest tenth, "-0.0" never. */
const tenth = (z: number) => {
  const r = Math.round(z * 10) / 10;
  return (r === 0 ? 0 : r).toFixed(1);
};
/** The built-in task's block: " <1> z1 <2> z2" and a newline. */
const block = (z: number[]) => `${z.map((v, i) => ` <${i + 1}> ${tenth(v)}`).join('')}\n`;

/** numpy's linear quantile. */
function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const v = (s.length - 1) * q;
  const i = Math.floor(v);
  return i + 1 < s.length ? s[i] + (s[i + 1] - s[i]) * (v - i) : s[i];
}

describe('RiC on the built-in task (reduced)', () => {
  const dir = join(tmp, 'run');
  const events: string[] = [];
  let mean: number[] = [];
  let std: number[] = [];
  beforeAll(async () => {
    await new RiC(config, dir).runAll({ onProgress: (e) => e.kind === 'step' && events.push(e.step) });
    // the statistics by hand: mean and population (ddof 0) standard deviation of each objective
    const { dataset: pool } = await readScoredDataset(join(task, TASK_FILES.pool), { objectives });
    const cols = objectives.map((_, j) => Array.from(pool.column(j)));
    mean = cols.map((c) => c.reduce((a, b) => a + b, 0) / c.length);
    std = cols.map((c, j) => Math.sqrt(c.reduce((a, b) => a + (b - mean[j]) ** 2, 0) / c.length));
  }, 300_000);
  const zOf = (rewards: Record<string, number>) => objectives.map((o, j) => (rewards[o] - mean[j]) / std[j]);

  it('writes every artefact: statistics, data, the model, each online step, targets, policies, curves, evaluation', () => {
    for (const f of [
      'run.json',
      'steps.json',
      'normalisation.json',
      'data/offline.jsonl',
      'model/adapter_model.safetensors',
      'model/losses.json',
      'online/iter-1/answers.jsonl',
      'online/iter-1/scored.jsonl',
      'online/iter-1/kept.jsonl',
      'online/iter-1/train.jsonl',
      'online/iter-1/model/adapter_model.safetensors',
      'targets.json',
      'policies.json',
      'train-curves.json',
      'eval/record.json',
      'eval/generations.jsonl',
    ])
      expect(existsSync(join(dir, f)), f).toBe(true);
    expect(events).toEqual(['normalisation', 'offline-data', 'offline-train', 'online-1-generate', 'online-1-score', 'online-1-data', 'online-1-train', 'evaluate']);
    const curves = JSON.parse(readFileSync(join(dir, 'train-curves.json'), 'utf8'));
    expect(curves.map((c: { name: string }) => c.name)).toEqual(['offline', 'online 1']);
    expect(curves.map((c: { losses: number[] }) => c.losses.length)).toEqual([6, 3]);
  });

  it('saves z-score statistics with the population standard deviation', () => {
    const stats = JSON.parse(readFileSync(join(dir, 'normalisation.json'), 'utf8'));
    expect(stats.kind).toBe('zscore');
    expect(stats.objectives).toEqual(objectives);
    stats.mean.forEach((v: number, j: number) => expect(v).toBeCloseTo(mean[j], 12));
    stats.std.forEach((v: number, j: number) => expect(v).toBeCloseTo(std[j], 12));
  });

  it("conditions every pool sample's prompt on its own rounded z-scores", async () => {
    const { dataset: pool } = await readScoredDataset(join(task, TASK_FILES.pool), { objectives });
    const { samples } = await readTextSamples(join(dir, 'data/offline.jsonl'), { dedupe: false });
    expect(samples.length).toBe(pool.size);
    const byId = new Map(samples.map((s) => [s.id, s]));
    pool.samples.forEach((s, i) => {
      const got = byId.get(s.id)!;
      expect(got.response).toBe(s.response);
      expect(got.prompt).toBe(s.prompt + block(zOf(pool.record(i).rewards)));
    });
  });

  it("lists one policy per preference: the final model, with the l2 targets (±4.2) as the prompt's suffix", () => {
    const { spec } = readPoliciesFile(dir);
    expect(spec.method).toBe('ric');
    expect(spec.policies.map((p) => p.preference)).toEqual([
      [0, 1],
      [0.5, 0.5],
      [1, 0],
    ]);
    expect(spec.policies.map((p) => p.promptSuffix)).toEqual([' <1> -4.2 <2> 4.2\n', ' <1> 1.7 <2> 1.7\n', ' <1> 4.2 <2> -4.2\n']);
    for (const p of spec.policies) {
      expect(p.model).toBe(join(task, TASK_FILES.baseModel));
      expect(p.adapter).toBe(join(dir, 'online/iter-1/model'));
    }
    const targets = JSON.parse(readFileSync(join(dir, 'targets.json'), 'utf8'));
    expect(targets.bounds).toEqual({ low: [-4.2, -4.2], high: [4.2, 4.2] });
    expect(targets.targets[1].scores).toEqual([1.7, 1.7]);
  });

  it('each policy generates from the prompt with its suffix', async () => {
    const { prompts } = await readPrompts(join(task, TASK_FILES.testPrompts));
    const texts = prompts.slice(0, 3).map((p) => p.prompt);
    const decoding = { maxNewTokens: 8, temperature: 1.0, topP: 0.9, seed: 5 };
    const policies = loadPolicies(dir);
    using lm = await CausalLM.load(join(task, TASK_FILES.baseModel), { adapter: join(dir, 'online/iter-1/model') });
    const outputs: string[][] = [];
    for (const [i, policy] of policies.entries()) {
      const suffix = readPoliciesFile(dir).spec.policies[i].promptSuffix!;
      const direct = await lm.generate(
        texts.map((t) => t + suffix),
        decoding,
      );
      outputs.push(await policy.generate(texts, decoding));
      expect(outputs[i]).toEqual(direct.map((g) => g.text));
      policy.dispose?.();
    }
    // the targets change what the model writes (so the comparison above tells the suffix was applied)
    expect(new Set(outputs.map((o) => JSON.stringify(o))).size).toBeGreaterThan(1);
  });

  it('evaluates every preference; generations keep the plain test prompt', async () => {
    const record = JSON.parse(readFileSync(join(dir, 'eval/record.json'), 'utf8'));
    expect(record.method).toBe('ric');
    expect(record.points.map((p: { preference: number[] }) => p.preference)).toEqual([
      [0, 1],
      [0.5, 0.5],
      [1, 0],
    ]);
    expect(Number.isFinite(record.hypervolume)).toBe(true);
    const { prompts } = await readPrompts(join(task, TASK_FILES.testPrompts));
    const plain = new Map(prompts.map((p) => [p.id, p.prompt]));
    const generations = await readEvalGenerations(dir);
    expect(generations.length).toBe(3 * 8);
    for (const g of generations) expect(g.prompt).toBe(plain.get(g.promptId));
  });

  it('online: answers plain prompts, keeps what reaches a 0.7 quantile, trains on kept original and online samples relabelled', async () => {
    const { dataset: scored } = await readScoredDataset(join(dir, 'online/iter-1/scored.jsonl'), { objectives });
    const { prompts: train } = await readPrompts(join(task, TASK_FILES.trainPrompts));
    const trainPrompts = new Set(train.map((p) => p.prompt));
    expect(scored.samples.every((s) => trainPrompts.has(s.prompt) && s.origin === 'generated')).toBe(true);
    const z = scored.samples.map((_, i) => zOf(scored.record(i).rewards));
    const q = objectives.map((_, j) => quantile(z.map((r) => r[j]), 0.7));
    const want = scored.samples.filter((_, i) => z[i].some((v, j) => v >= q[j] - 1e-12)).map((s) => s.id);
    const { dataset: kept } = await readScoredDataset(join(dir, 'online/iter-1/kept.jsonl'), { objectives });
    expect(kept.samples.map((s) => s.id)).toEqual(want);

    const { samples: data } = await readTextSamples(join(dir, 'online/iter-1/train.jsonl'), { dedupe: false });
    // the pool has generated samples too (the task's own); the online ones are named by iteration
    const isOnline = (id: string) => id.endsWith('/ric-online-1');
    const online = data.filter((s) => isOnline(s.id));
    const original = data.filter((s) => !isOnline(s.id));
    expect(online.map((s) => s.id)).toEqual(want);
    expect(original.length).toBe(25);
    kept.samples.forEach((s, i) => expect(online[i].prompt).toBe(s.prompt + block(zOf(kept.record(i).rewards))));
    const { dataset: pool } = await readScoredDataset(join(task, TASK_FILES.pool), { objectives });
    const poolById = new Map(pool.samples.map((s, i) => [s.id, i]));
    const zPool = pool.samples.map((_, i) => zOf(pool.record(i).rewards));
    const qPool = objectives.map((_, j) => quantile(zPool.map((r) => r[j]), 0.7));
    for (const s of original) {
      const i = poolById.get(s.id)!;
      expect(zPool[i].some((v, j) => v >= qPool[j] - 1e-12)).toBe(true);
      expect(s.prompt).toBe(pool.samples[i].prompt + block(zPool[i]));
    }
  });

  it('a re-run skips every finished step and keeps the record', async () => {
    const before = readFileSync(join(dir, 'eval/record.json'), 'utf8');
    const again: string[] = [];
    await new RiC(config, dir).runAll({ onProgress: (e) => e.kind !== 'evaluate' && again.push(e.kind) });
    expect(again).toEqual([]);
    expect(readFileSync(join(dir, 'eval/record.json'), 'utf8')).toBe(before);
  });

  it('"data" bounds: each objective\'s min and max of the training z-scores, here under the linear mapping', async () => {
    const other = join(tmp, 'data-bounds');
    const policies = await new RiC({ task, preferences: 'grid:3', targetMapping: 'linear', targetBounds: 'data', training, evaluation: { enabled: false } }, other).runAll();
    expect(existsSync(join(other, 'eval/record.json'))).toBe(false);
    const { dataset: pool } = await readScoredDataset(join(task, TASK_FILES.pool), { objectives });
    const z = pool.samples.map((_, i) => zOf(pool.record(i).rewards));
    const low = objectives.map((_, j) => Math.min(...z.map((r) => r[j])));
    const high = objectives.map((_, j) => Math.max(...z.map((r) => r[j])));
    const targets = JSON.parse(readFileSync(join(other, 'targets.json'), 'utf8'));
    targets.bounds.low.forEach((v: number, j: number) => expect(v).toBeCloseTo(low[j], 12));
    targets.bounds.high.forEach((v: number, j: number) => expect(v).toBeCloseTo(high[j], 12));
    // linear: ω = (0, 1) asks for (low₁, high₂), (0.5, 0.5) for the midpoints, (1, 0) for (high₁, low₂)
    const want = [
      [low[0], high[1]],
      [(low[0] + high[0]) / 2, (low[1] + high[1]) / 2],
      [high[0], low[1]],
    ];
    expect(policies.policies.map((p) => p.promptSuffix)).toEqual(want.map(block));
    expect(policies.policies.every((p) => p.adapter === 'model')).toBe(true);
  });

  it('rejects a config that does not validate, listing every problem, before any work', () => {
    const bad = join(tmp, 'bad');
    let message = '';
    try {
      new RiC({ task, targetMapping: 'l3', targetBounds: [1, -1], promptFormat: { scoreMarker: '<rm>' }, online: { iterations: -1 } } as never, bad);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/the RiC config is not valid/);
    for (const field of ['targetMapping', 'targetBounds', 'promptFormat.scoreMarker', 'online.iterations']) expect(message).toContain(field);
    expect(() => new RiC({ targetMapping: 'l2' } as never, bad)).toThrow(/exactly one of "task".*or "data"/);
    expect(existsSync(bad)).toBe(false);
  });
});
