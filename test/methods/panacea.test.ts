// Panacea end to end. (1) On a tiny task with two conflicting objectives (answer in "a"s or in
// "b"s), one model trained once orders its answers by the preference, under linear scalarisation
// and under Tchebycheff: trained by SFT, the share of a's in its answers rises with λ₁; trained by
// DPO, its implicit reward for the a-answer over the b-answer does. (2) The run
// folder on the reduced built-in task: λ logged every step on the simplex, the adapter saved
// with its objectives, policies.json naming one model for every preference, the evaluation done,
// a re-run skipping everything; `moalign panacea generate` answers under a preference.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readScoredDataset } from '../../ts/data/dataset.js';
import { CausalLM } from '../../ts/engine/causal-lm.js';
import type { PreferenceItem } from '../../ts/engine/trainer.js';
import { Panacea, PANACEA_ADAPTER, PANACEA_TRAINING, PanaceaRun, preferencePairs, resolvePanaceaConfig } from '../../ts/methods/panacea/index.js';
import { TASK_FILES } from '../../ts/task/build.js';
import { fixtureModelDir } from '../helpers/engine-fixtures.js';
import { buildSmallTask, TINY_EVALUATION } from '../helpers/small-task.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-panacea-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

// Objective 1 counts "a", objective 2 counts "b": a response of a's wins on 1 and loses on 2.
const share = (text: string, c: string) => {
  const letters = [...text].filter((x) => x === 'a' || x === 'b');
  return letters.length === 0 ? 0.5 : letters.filter((x) => x === c).length / letters.length;
};
const PROMPTS = Array.from({ length: 16 }, (_, i) => `Q${i}: say it ${i % 3 === 0 ? 'now' : 'please'}. A:`);

const AS = ' aaaa aaa aa';
const BS = ' bbbb bbb bb';

/** DPO: a pair per prompt, a's against b's, labels (+1, −1), sides alternating so position carries no signal. */
function conflictingPairs(): PreferenceItem[] {
  return PROMPTS.map((prompt, i) => (i % 2 === 0 ? { prompt, chosen: AS, rejected: BS, labels: [1, -1] } : { prompt, chosen: BS, rejected: AS, labels: [-1, 1] }));
}

/** SFT: every prompt answered in a's (in D_1) and in b's (in D_2). */
function conflictingExamples(): PreferenceItem[] {
  return PROMPTS.flatMap((prompt) => [
    { prompt, chosen: AS, labels: [1, 0] },
    { prompt, chosen: BS, labels: [0, 1] },
  ]);
}

const GRID = [0, 0.25, 0.5, 0.75, 1];

describe.each([
  ['sft', 'ls'],
  ['sft', 'tche'],
  ['dpo', 'ls'],
  ['dpo', 'tche'],
] as const)('Panacea (%s, %s) on two conflicting objectives', (objective, aggregation) => {
  let panacea: Panacea;
  const folder = join(tmp, `${objective}-${aggregation}`);
  beforeAll(async () => {
    const model = await CausalLM.load(await fixtureModelDir('gpt2', folder));
    panacea = await Panacea.train({
      model,
      data: objective === 'sft' ? conflictingExamples() : conflictingPairs(),
      objectives: ['a', 'b'],
      aggregation,
      adapter: { k: 4, alpha: 32 },
      training: { steps: 150, batchSize: 8, lr: 1e-2, seed: 3 },
    });
  }, 120_000);
  afterAll(() => panacea.dispose());

  it('logs one λ per step, each on the simplex, vertices included', () => {
    const { lambdas, losses } = panacea.report!;
    expect(lambdas).toHaveLength(150);
    expect(losses).toHaveLength(150);
    for (const l of lambdas) {
      expect(l.every((x) => x >= 0)).toBe(true);
      expect(Math.abs(l[0] + l[1] - 1)).toBeLessThan(1e-9);
    }
    expect(lambdas.some((l) => l[0] === 1 || l[1] === 1)).toBe(true);
  });

  if (objective === 'sft') {
    it('orders the front: the mean reward of objective 1 (the share of a\'s in the answers) rises with λ₁', async () => {
      const reward1: number[] = [];
      for (const l1 of GRID) {
        const out = await panacea.generate(PROMPTS, { preference: [l1, 1 - l1], maxNewTokens: 8 });
        reward1.push(out.reduce((s, g) => s + share(g.text, 'a'), 0) / out.length);
      }
      for (let i = 1; i < GRID.length; i++) expect(reward1[i], `λ₁ = ${GRID[i]}: ${reward1}`).toBeGreaterThanOrEqual(reward1[i - 1] - 0.05);
      expect(reward1[4] - reward1[0], `${reward1}`).toBeGreaterThan(0.5);
    });
  } else {
    it('orders the front: the implicit reward of objective 1 (log π(a\'s) − log π(b\'s), β-scaled) rises with λ₁', () => {
      const margin: number[] = [];
      for (const l1 of GRID) {
        panacea.setPreference([l1, 1 - l1]);
        const a = panacea.model.logProbs(PROMPTS.map((prompt) => ({ prompt, response: AS })));
        const b = panacea.model.logProbs(PROMPTS.map((prompt) => ({ prompt, response: BS })));
        margin.push(a.reduce((s, x, i) => s + x.sum - b[i].sum, 0) / PROMPTS.length);
      }
      for (let i = 1; i < GRID.length; i++) expect(margin[i], `λ₁ = ${GRID[i]}: ${margin}`).toBeGreaterThan(margin[i - 1]);
      expect(margin[0]).toBeLessThan(0);
      expect(margin[4]).toBeGreaterThan(0);
    });
  }

  it('a saved adapter loads on the same base and answers identically; per-prompt λ equals one λ at a time', async () => {
    const file = join(folder, 'adapter.safetensors');
    panacea.save(file);
    using again = await Panacea.load(join(folder, 'gpt2'), file);
    expect(again.objectives).toEqual(['a', 'b']);
    const lambda = [0.3, 0.7];
    const mine = await panacea.generate(PROMPTS, { preference: lambda, maxNewTokens: 8 });
    const theirs = await again.generate(PROMPTS, { preference: lambda, maxNewTokens: 8 });
    expect(theirs.map((g) => g.tokenIds)).toEqual(mine.map((g) => g.tokenIds));
    const mixed = PROMPTS.map((_, i) => (i % 2 === 0 ? [1, 0] : [0, 1]));
    const together = await panacea.generate(PROMPTS, { preference: mixed, maxNewTokens: 8 });
    const corner0 = await panacea.generate(PROMPTS, { preference: [1, 0], maxNewTokens: 8 });
    const corner1 = await panacea.generate(PROMPTS, { preference: [0, 1], maxNewTokens: 8 });
    expect(together.map((g) => g.tokenIds)).toEqual(PROMPTS.map((_, i) => (i % 2 === 0 ? corner0 : corner1)[i].tokenIds));
  });
});

describe('Panacea options', () => {
  it('refuses Tchebycheff with one λ per sample, and lists every problem of the fields at once', () => {
    expect(() => resolvePanaceaConfig({ task: 't', aggregation: 'tche', lambdaPer: 'sample' })).toThrow(/lambdaPer: "sample".*valid only with aggregation "ls"/);
    expect(() => resolvePanaceaConfig({ task: 't', vertexProb: 2, dpoBeta: 0, adapter: { k: 0 } })).toThrow(/vertexProb[\s\S]*dpoBeta[\s\S]*adapter\.k/);
  });

  it('labels pairs per objective by the sign of the reward difference, ties within the margin at 0', async () => {
    const { ScoredDataset } = await import('../../ts/data/records.js');
    const s = (id: string, group: string, response: string) => ({ id, prompt: `p${group}`, response, group, origin: 'dataset' as const });
    const pool = new ScoredDataset(['x', 'y'], [s('1', 'g', 'r1'), s('2', 'g', 'r2'), s('3', 'g', 'r3'), s('4', 'h', 'r4'), s('5', 'h', 'r5')], Float64Array.from([1, 5, 2, 5, 1, 0, 0, 0, 0, 0]));
    const { items, stats } = preferencePairs(pool);
    // g: (1,2) → x −1, y 0; (1,3) → x 0, y +1; (2,3) → x +1, y +1; h: (4,5) ties on both → dropped
    expect(items.map((i) => [i.chosen, i.rejected, ...i.labels])).toEqual([
      ['r1', 'r2', -1, 0],
      ['r1', 'r3', 0, 1],
      ['r2', 'r3', 1, 1],
    ]);
    expect(stats).toMatchObject({ pairs: 3, prompts: 1, allTies: 1 });
    // a margin of 1.5 standard deviations: x's std over the pool [1, 2, 1, 0, 0] is 0.748, so every x difference (at most 1) ties;
    // y's is 2.449 (1.5 std = 3.67 < 5): (1,2) now ties on both and is dropped
    expect(preferencePairs(pool, { tieMargin: 1.5 }).items.map((i) => [i.chosen, i.rejected, ...i.labels])).toEqual([
      ['r1', 'r3', 0, 1],
      ['r2', 'r3', 0, 1],
    ]);
  });
});

describe('Panacea run folder on the built-in task (reduced)', () => {
  const dir = join(tmp, 'run');
  let task: string;
  const steps: string[] = [];
  const config = () => ({ task, preferences: 'grid:3', training: { steps: 12, batchSize: 4, lr: 5e-3 }, adapter: { k: 4, alpha: 32 }, evaluation: TINY_EVALUATION });
  beforeAll(async () => {
    task = await buildSmallTask(tmp);
    await new PanaceaRun(config(), dir).runAll({ onProgress: (e) => e.kind === 'step' && steps.push(e.step) });
  }, 400_000);

  it('trains one DPO model on pairs of the pool, logs λ per step, and evaluates it under every preference', async () => {
    expect(steps).toEqual(['train', 'evaluate']);
    const training = readJson(join(dir, PANACEA_TRAINING));
    expect(training).toMatchObject({ objective: 'dpo', aggregation: 'ls', objectives: ['positivity', 'fidelity'] });
    const { dataset: pool } = await readScoredDataset(join(task, TASK_FILES.pool), { objectives: ['positivity', 'fidelity'] });
    expect(training.data.pairs).toBe(preferencePairs(pool).stats.pairs);
    expect(training.lambdas).toHaveLength(12);
    expect(training.objectiveLosses).toHaveLength(12);
    const policies = readJson(join(dir, 'policies.json'));
    expect(policies).toMatchObject({ method: 'panacea', preferenceInput: true, objectives: ['positivity', 'fidelity'] });
    expect(policies.policies.map((p: { preference: number[] }) => p.preference)).toEqual([[0, 1], [0.5, 0.5], [1, 0]]);
    expect(new Set(policies.policies.map((p: { adapter: string }) => p.adapter))).toEqual(new Set([PANACEA_ADAPTER]));
    const record = readJson(join(dir, 'eval', 'record.json'));
    expect(record.points).toHaveLength(3);
    expect(existsSync(join(dir, 'train-curves.json'))).toBe(true);
  });

  it('a re-run skips every step', async () => {
    const again: string[] = [];
    await new PanaceaRun(config(), dir).runAll({ onProgress: (e) => e.kind === 'step' && again.push(e.step) });
    expect(again).toEqual([]);
  });

  it('moalign panacea generate answers under a preference, and refuses one off the simplex', () => {
    const prompts = join(tmp, 'prompts.jsonl');
    spawnSync('sh', ['-c', `printf '{"prompt":"The man"}\\n{"prompt":"She said"}\\n' > ${prompts}`]);
    const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'ts/cli/main.ts', 'panacea', 'generate', '--run', dir, '--prompts', prompts, '--max-new-tokens', '6', ...args], { encoding: 'utf8' });
    const ok = cli('--preference', '0.3,0.7');
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout.trim().split('\n').map((l) => JSON.parse(l).prompt)).toEqual(['The man', 'She said']);
    const bad = cli('--preference', '0.3,0.6');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/sum/);
    const normalised = cli('--preference', '3,7', '--normalise');
    expect(normalised.status, normalised.stderr).toBe(0);
    expect(normalised.stdout).toBe(ok.stdout);
    const wrongLength = cli('--preference', '0.2,0.3,0.5');
    expect(wrongLength.stderr).toMatch(/3 weights; the adapter was trained for 2 objectives \(positivity, fidelity\)/);
  });
});
