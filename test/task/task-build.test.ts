// The built-in task end to end at reduced sizes: every artefact, the splits, the base model's
// loss against a fresh draw of the same model, the pool's scores recomputed with the scorer
// functions, and the conflict recomputed here from the pool.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPrompts, readScoredDataset } from '../../ts/data/dataset.js';
import type { ScoredDataset } from '../../ts/data/records.js';
import { afinnScore, tokenF1, wordCount } from '../../ts/data/scorers/index.js';
import { CausalLM } from '../../ts/engine/index.js';
import { paretoRanks } from '../../ts/moo/index.js';
import { readBrownCorpus } from '../../ts/task/brown.js';
import { buildTask, DEFAULT_TASK, TASK_FILES, type TaskManifest, type TaskSettings } from '../../ts/task/build.js';
import { splitDocuments } from '../../ts/task/splits.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-task-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cacheRoot = join(tmp, 'cache', 'base-models');

/** A task small enough for CI: a 2-layer width-64 model, 80 pretraining steps, 120 prompts. */
const small: Partial<TaskSettings> = {
  prompts: { train: 120, test: 20, seed: 0 },
  baseModel: {
    tokenizer: { kind: 'bpe', vocabSize: 2048 },
    model: { layers: 2, width: 64, heads: 2, context: 48 },
    training: { ...DEFAULT_TASK.baseModel.training, steps: 80, batchSize: 16, warmupSteps: 10 },
  },
  pool: { ...DEFAULT_TASK.pool, temperatures: [0.8], steering: { strengths: [4], temperature: 1.0 }, maxNewTokens: 20 },
};

const out = join(tmp, 'task');
let manifest: TaskManifest;
let pool: ScoredDataset;
beforeAll(async () => {
  manifest = await buildTask(out, small, { cacheRoot });
  pool = (await readScoredDataset(join(out, TASK_FILES.pool), { objectives: ['positivity', 'fidelity'] })).dataset;
}, 300_000);

/** Plain Pearson correlation, written out again here as the independent reference. */
function correlation(x: number[], y: number[]): number {
  const mean = (v: number[]) => v.reduce((s, a) => s + a, 0) / v.length;
  const mx = mean(x);
  const my = mean(y);
  const cov = x.reduce((s, a, i) => s + (a - mx) * (y[i] - my), 0);
  const sx = Math.sqrt(x.reduce((s, a) => s + (a - mx) ** 2, 0));
  const sy = Math.sqrt(y.reduce((s, a) => s + (a - my) ** 2, 0));
  return cov / (sx * sy);
}

describe('moalign task build (reduced sizes)', () => {
  it('writes every artefact', () => {
    for (const f of Object.values(TASK_FILES)) expect(existsSync(join(out, f)), f).toBe(true);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) expect(existsSync(join(out, TASK_FILES.baseModel, f)), f).toBe(true);
    expect(readFileSync(join(out, TASK_FILES.distribution), 'utf8')).toMatch(/^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(readFileSync(join(out, TASK_FILES.distribution), 'utf8')).toContain('layer 1 (Pareto front)');
    expect(manifest.objectives.map((o) => o.name)).toEqual(['positivity', 'fidelity']);
  });

  it('cuts prompts from documents held out of pretraining, train and test disjoint, prompt + reference = a corpus sentence', async () => {
    const docs = readBrownCorpus();
    const splits = splitDocuments(docs, manifest.settings.split);
    const pretrain = new Set(splits.pretrain.map((d) => d.id));
    const train = (await readPrompts(join(out, TASK_FILES.trainPrompts))).prompts;
    const test = (await readPrompts(join(out, TASK_FILES.testPrompts))).prompts;
    expect(train.length).toBe(120);
    expect(test.length).toBe(20);
    const docOf = (id: string) => id.split(':')[0];
    const trainDocs = new Set(train.map((p) => docOf(p.id)));
    const testDocs = new Set(test.map((p) => docOf(p.id)));
    for (const d of trainDocs) expect(testDocs.has(d) || pretrain.has(d)).toBe(false);
    for (const d of testDocs) expect(pretrain.has(d)).toBe(false);
    const byId = new Map(docs.map((d) => [d.id, d]));
    for (const p of [...train, ...test]) {
      const [doc, index] = p.id.split(':');
      expect(p.prompt + p.reference).toBe(byId.get(doc)!.sentences[Number(index)]);
    }
  });

  it('pretrains a base model whose held-out loss is clearly below that of the same model freshly drawn', async () => {
    const dir = join(out, TASK_FILES.baseModel);
    const test = (await readPrompts(join(out, TASK_FILES.testPrompts))).prompts;
    using trained = await CausalLM.load(dir);
    using fresh = await CausalLM.fromScratch(dir, { seed: manifest.settings.baseModel.training.seed });
    const context = manifest.settings.baseModel.model.context;
    const sentences = test
      .map((p) => ({ prompt: '', response: p.prompt + p.reference }))
      .filter((p) => trained.tokenizer.encode(p.response).length < context);
    expect(sentences.length).toBeGreaterThan(10);
    const nll = (lm: CausalLM) => {
      const scores = lm.logProbs(sentences);
      return -scores.reduce((s, x) => s + x.sum, 0) / scores.reduce((s, x) => s + x.tokens, 0);
    };
    expect(nll(trained)).toBeLessThan(nll(fresh) - 0.5);
    expect(manifest.baseModel.heldOutLoss.final).toBeLessThan(manifest.baseModel.heldOutLoss.initial - 0.5);
  });

  it("scores the pool with the scorers' own functions: references, temperature samples and steered samples", () => {
    expect(pool.size).toBe(manifest.pool.samples);
    const origins = new Set(pool.samples.map((s) => s.generatedBy?.steering ?? s.origin));
    expect(origins).toEqual(new Set(['dataset', 'generated', 'positive4']));
    pool.samples.forEach((s, i) => {
      const [positivity, fidelity] = pool.rewardsOf(i);
      expect(positivity).toBe(afinnScore(s.response));
      expect(fidelity).toBe(tokenF1(s.response, s.reference!));
      if (s.origin === 'dataset') expect(fidelity).toBe(1);
    });
  });

  it('has objectives in measurable conflict: negative correlation, and no response best on both', () => {
    const positivity = Array.from(pool.column('positivity'));
    const fidelity = Array.from(pool.column('fidelity'));
    const r = correlation(positivity, fidelity);
    expect(Math.abs(manifest.conflict.pearson[0][1] - r)).toBeLessThan(1e-12);
    expect(r).toBeLessThan(-0.1);
    // the most positive response is not among the most faithful, and the Pareto front has several points
    const best = positivity.indexOf(Math.max(...positivity));
    expect(fidelity[best]).toBeLessThan(1);
    const front = Array.from(paretoRanks({ data: pool.rewards, m: 2 })).filter((k) => k === 1).length;
    expect(front).toBe(manifest.conflict.layers.first);
    expect(front).toBeGreaterThanOrEqual(2);
  });

  it('skips finished steps on a re-run, and refuses a folder built with other settings', async () => {
    const before = statSync(join(out, TASK_FILES.pool)).mtimeMs;
    const again = await buildTask(out, small, { cacheRoot });
    expect(again.baseModel.cached).toBe(true);
    expect(statSync(join(out, TASK_FILES.pool)).mtimeMs).toBe(before);
    expect(again.conflict).toEqual(manifest.conflict);
    await expect(buildTask(out, { ...small, prompts: { train: 60, test: 20, seed: 0 } }, { cacheRoot })).rejects.toThrow(/other settings.*--overwrite/);
  });

  it('builds the three-objective variant from the cached base model, conciseness = minus the word count', async () => {
    const three = await buildTask(join(tmp, 'task3'), { ...small, objectives: 3 }, { cacheRoot });
    expect(three.baseModel.cached).toBe(true);
    expect(three.objectives.map((o) => o.name)).toEqual(['positivity', 'fidelity', 'conciseness']);
    const { dataset } = await readScoredDataset(join(tmp, 'task3', TASK_FILES.pool), { objectives: ['positivity', 'fidelity', 'conciseness'] });
    dataset.samples.forEach((s, i) => expect(dataset.rewardsOf(i)[2]).toBe(-wordCount(s.response)));
    expect(three.conflict.pearson).toHaveLength(3);
  });
});

describe('moalign task build (CLI)', () => {
  it('builds a task with a progress line per step and prints the conflict', () => {
    const dir = join(tmp, 'cli-task');
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'ts/cli/main.ts', 'task', 'build', '--out', dir, '--train-prompts', '30', '--test-prompts', '5', '--pretrain-steps', '4', '--temperatures', '1.0', '--json'],
      { encoding: 'utf8', timeout: 240_000, env: { ...process.env, MOALIGN_CACHE_DIR: join(tmp, 'cli-cache') } },
    );
    expect(run.status, run.stderr).toBe(0);
    const printed = JSON.parse(run.stdout) as TaskManifest;
    expect(printed).toEqual(JSON.parse(readFileSync(join(dir, TASK_FILES.manifest), 'utf8')));
    expect(printed.prompts).toEqual({ train: 30, test: 5 });
    expect(run.stderr).toMatch(/pretraining step 4\/4 \| loss/);
    expect(run.stderr).toMatch(/positivity–fidelity: Pearson -?\d/);
    const rerun = spawnSync(process.execPath, ['--import', 'tsx', 'ts/cli/main.ts', 'task', 'build', '--out', dir, '--train-prompts', '31'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, MOALIGN_CACHE_DIR: join(tmp, 'cli-cache') },
    });
    expect(rerun.status).toBe(1);
    expect(rerun.stderr).toMatch(/other settings/);
    expect(rerun.stderr).not.toMatch(/\n\s+at /);
  }, 300_000);
});
