// The plain SFT baseline end to end on the built-in task at reduced size: one model trained on the
// whole pool, listed under every preference with no prompt suffix, so the evaluation gives one
// point repeated; a re-run skips what is finished.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPoliciesFile } from '../../ts/eval/index.js';
import { SftBaseline, type SftBaselineConfigInput } from '../../ts/methods/sft/index.js';
import { TASK_FILES } from '../../ts/task/build.js';
import { buildSmallTask, TINY_EVALUATION, TINY_TRAINING } from '../helpers/small-task.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-sft-baseline-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const task = join(tmp, 'task');

beforeAll(async () => {
  await buildSmallTask(tmp);
}, 300_000);

const config: SftBaselineConfigInput = {
  task,
  preferences: 'grid:3',
  training: TINY_TRAINING,
  evaluation: TINY_EVALUATION,
};

describe('the SFT baseline on the built-in task (reduced)', () => {
  const dir = join(tmp, 'run');
  const events: string[] = [];
  beforeAll(async () => {
    await new SftBaseline(config, dir).runAll({ onProgress: (e) => e.kind === 'step' && events.push(e.step) });
  }, 300_000);

  it('writes the model, its curve, the policies and the evaluation', () => {
    for (const f of ['run.json', 'steps.json', 'model/adapter_model.safetensors', 'model/losses.json', 'policies.json', 'train-curves.json', 'eval/record.json', 'eval/generations.jsonl'])
      expect(existsSync(join(dir, f)), f).toBe(true);
    expect(events).toEqual(['train', 'evaluate']);
    const curves = JSON.parse(readFileSync(join(dir, 'train-curves.json'), 'utf8'));
    expect(curves).toHaveLength(1);
    expect(curves[0].name).toBe('sft');
    expect(curves[0].losses).toHaveLength(6);
    expect(curves[0].losses.every(Number.isFinite)).toBe(true);
  });

  it('lists the same model, with plain prompts, under every preference of the grid', () => {
    const { spec } = readPoliciesFile(dir);
    expect(spec.method).toBe('sft');
    expect(spec.objectives).toEqual(['positivity', 'fidelity']);
    expect(spec.policies.map((p) => p.preference)).toEqual([
      [0, 1],
      [0.5, 0.5],
      [1, 0],
    ]);
    for (const p of spec.policies) {
      expect(p).toEqual({ preference: p.preference, model: join(task, TASK_FILES.baseModel), adapter: join(dir, 'model') });
    }
    expect(spec.trainSeconds).toBeGreaterThan(0);
  });

  it('evaluates every preference; one model with the same seeds gives one point repeated', () => {
    const record = JSON.parse(readFileSync(join(dir, 'eval/record.json'), 'utf8'));
    expect(record.method).toBe('sft');
    const points = record.points as { preference: number[]; mean: number[] }[];
    expect(points.map((p) => p.preference)).toEqual([
      [0, 1],
      [0.5, 0.5],
      [1, 0],
    ]);
    for (const p of points) expect(p.mean).toEqual(points[0].mean);
  });

  it('a re-run skips every finished step and keeps the record', async () => {
    const before = readFileSync(join(dir, 'eval/record.json'), 'utf8');
    const again: string[] = [];
    await new SftBaseline(config, dir).runAll({ onProgress: (e) => e.kind !== 'evaluate' && again.push(e.kind) });
    expect(again).toEqual([]);
    expect(readFileSync(join(dir, 'eval/record.json'), 'utf8')).toBe(before);
  });

  it('rejects a config that does not validate, listing every problem, before any work', () => {
    const bad = join(tmp, 'bad');
    let message = '';
    try {
      new SftBaseline({ task, training: { steps: 0, lr: -1 }, evaluation: { topP: 2 } } as never, bad);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/the SFT baseline config is not valid/);
    for (const field of ['training.steps', 'training.lr', 'evaluation.topP']) expect(message).toContain(field);
    expect(existsSync(bad)).toBe(false);
  });
});
