// ParetoHqD end to end on the built-in task at reduced size: every stage writes its artefacts, the
// selections are those of selectParetoHq on the pools, the evaluation has every preference, and a
// run interrupted in the middle then re-run ends with the same metrics as an uninterrupted one.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readScoredDataset } from '../../ts/data/dataset.js';
import { ParetoHqD, type ParetoHqdConfigInput } from '../../ts/methods/paretohqd/index.js';
import { selectParetoHq } from '../../ts/moo/index.js';
import { TASK_FILES } from '../../ts/task/build.js';
import { buildSmallTask, TINY_EVALUATION, TINY_TRAINING } from '../helpers/small-task.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-paretohqd-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const task = join(tmp, 'task');

beforeAll(async () => {
  await buildSmallTask(tmp);
}, 300_000);

const config: ParetoHqdConfigInput = {
  task,
  preferences: 'grid:3',
  selection: { k1: 12, k2: 6, bounds: 'minmax', distance: 'perpendicular' },
  training: TINY_TRAINING,
  augmentation: { prompts: 40, temperature: 0.9, topP: 0.9, maxNewTokens: 12, seed: 0, stage2IncludeOriginal: false, stage2Bounds: 'recompute' },
  evaluation: TINY_EVALUATION,
};

describe('ParetoHqD on the built-in task (reduced)', () => {
  const dir = join(tmp, 'run');
  let events: string[] = [];
  beforeAll(async () => {
    events = [];
    await new ParetoHqD(config, dir).runAll({ onProgress: (e) => e.kind === 'step' && events.push(e.step) });
  }, 300_000);

  it('writes every stage: selections, one adapter per preference and representative, the generated pool, the evaluation', () => {
    // grid:3 = (0,1), (0.5,0.5), (1,0): the representatives are all on the grid
    for (const f of ['run.json', 'steps.json', 'stage1/selection.json', 'stage2/selection.json', 'augment/pool.jsonl', 'policies.json', 'eval/record.json', 'eval/generations.jsonl'])
      expect(existsSync(join(dir, f)), f).toBe(true);
    for (let i = 0; i < 3; i++) {
      expect(existsSync(join(dir, `stage1/pref-${i}/adapter_model.safetensors`))).toBe(true);
      expect(existsSync(join(dir, `stage2/pref-${i}/adapter_model.safetensors`))).toBe(true);
    }
    expect(events).toContain('stage2-train-2');
    const record = JSON.parse(readFileSync(join(dir, 'eval/record.json'), 'utf8'));
    expect(record.points.map((p: { preference: number[] }) => p.preference)).toEqual([
      [0, 1],
      [0.5, 0.5],
      [1, 0],
    ]);
    expect(record.objectives).toEqual(['positivity', 'fidelity']);
    expect(Number.isFinite(record.hypervolume)).toBe(true);
    // wall clock and CPU time of training and of the evaluation
    expect(record.seconds.train).toBeGreaterThan(0);
    expect(record.seconds.trainCpu).toBeGreaterThan(0);
    expect(record.seconds.cpu).toBeGreaterThan(0);
  });

  it('selects stage 1 from the task pool and stage 2 from the generated pool, as selectParetoHq does', async () => {
    const { dataset: pool } = await readScoredDataset(join(task, TASK_FILES.pool), { objectives: ['positivity', 'fidelity'] });
    const want1 = await selectParetoHq(pool, [[0, 1], [0.5, 0.5], [1, 0]], { k: 12 });
    const got1 = JSON.parse(readFileSync(join(dir, 'stage1/selection.json'), 'utf8'));
    expect(got1.selections.map((p: { indices: number[] }) => p.indices)).toEqual(want1.selections.map((p) => p.indices));
    const { dataset: generated } = await readScoredDataset(join(dir, 'augment/pool.jsonl'), { objectives: ['positivity', 'fidelity'] });
    expect(generated.samples.every((s) => s.origin === 'generated')).toBe(true);
    const want2 = await selectParetoHq(generated, [[0, 1], [0.5, 0.5], [1, 0]], { k: 6 });
    const got2 = JSON.parse(readFileSync(join(dir, 'stage2/selection.json'), 'utf8'));
    expect(got2.selections.map((p: { indices: number[] }) => p.indices)).toEqual(want2.selections.map((p) => p.indices));
    // stage2Bounds 'recompute': the generated pool's own bounds, stage 1's logged beside them
    expect([got2.lo, got2.hi]).toEqual([want2.lo, want2.hi]);
    expect(got2.stage1Bounds).toEqual({ lo: got1.lo, hi: got1.hi });
  });

  it('a run interrupted mid-way and re-run ends with the metrics of the uninterrupted run', async () => {
    const resumed = join(tmp, 'resumed');
    const abort = new AbortController();
    await expect(
      new ParetoHqD(config, resumed).runAll({
        signal: abort.signal,
        onProgress: (e) => {
          // stop inside stage 2's second training run, at its first step: the native loop runs on
          // while the progress event crosses to JS, so an abort later in a 6-step run can land too late
          if (e.kind === 'train' && e.stage === 2 && e.index === 1 && e.progress.step === 1) abort.abort();
        },
      }),
    ).rejects.toThrow();
    expect(existsSync(join(resumed, 'stage2/pref-1/adapter_config.json'))).toBe(false);
    const skipped: string[] = [];
    await new ParetoHqD(config, resumed).runAll({ onProgress: (e) => e.kind === 'step' && skipped.push(e.step) });
    expect(skipped).not.toContain('stage1-train-0');
    expect(skipped).toContain('stage2-train-1');
    const a = JSON.parse(readFileSync(join(dir, 'eval/record.json'), 'utf8'));
    const b = JSON.parse(readFileSync(join(resumed, 'eval/record.json'), 'utf8'));
    expect(b.points).toEqual(a.points);
    expect(b.hypervolume).toBe(a.hypervolume);
  }, 300_000);

  it('rejects a config that does not validate, listing every problem, before any work', () => {
    expect(() => new ParetoHqD({ selection: { k1: 0 }, training: { lr: -1 } } as never, join(tmp, 'bad'))).toThrow(/task.*data|k1|lr/s);
    try {
      new ParetoHqD({ task, selection: { k1: 0 }, training: { lr: -1 } } as never, join(tmp, 'bad'));
    } catch (err) {
      expect((err as Error).message).toMatch(/selection\.k1/);
      expect((err as Error).message).toMatch(/training\.lr/);
    }
    expect(existsSync(join(tmp, 'bad'))).toBe(false);
  });
});
