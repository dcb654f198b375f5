// ParetoHqD (Gu et al., AAAI 2026; spec ../shared/design/paretohqd.md §2–7): one model per
// preference ω, trained in two stages of SFT on Pareto high-quality data.
//
//   stage 1   select the k1 samples of the pool nearest ω's ray among its first Pareto layers;
//             SFT the base model on them (one adapter per ω, plus the m + 1 representatives)
//   augment   the representatives (each e_i and the centre) answer the same N training prompts;
//             the answers are cleaned and scored
//   stage 2   select k2 per ω from the generated pool (bounds: its own, or stage 1's);
//             continue ω's stage-1 adapter on them
//   evaluate  every ω's final model answers the test prompts (method-agnostic, ts/eval)
//
// Every step writes its artefact atomically into the run folder and is skipped on a re-run.
import { readPrompts, readScoredDataset, readTextSamples, writeScoredDataset } from '../../data/dataset.js';
import { type Sample, ScoredDataset } from '../../data/records.js';
import type { TextPair } from '../../engine/causal-lm.js';
import type { PoliciesFile } from '../../eval/index.js';
import { formatPreference, selectParetoHq, type SelectionBounds, type SelectionRecord } from '../../moo/index.js';
import { writeTextAtomic } from '../../util/atomic-file.js';
import { readJsonFile } from '../../util/json-file.js';
import { Rng } from '../../util/rng.js';
import { resolvePreferences } from '../common-config.js';
import { type MethodEventOf, type MethodHooks, stepReporter } from '../events.js';
import { evaluateStep, writePolicies } from '../finish.js';
import { type MethodInputs, resolveInputs, scoreWithInputs, trainPromptsOf } from '../inputs.js';
import { RunFolder } from '../run-folder.js';
import { CombinedProgress, CombinedWork, runJobs } from '../jobs.js';
import { textPairs, trainedMarker, trainedPolicy, writeTrainCurves } from '../train-policy.js';
import { type ParetoHqdConfig, type ParetoHqdConfigInput, resolveParetoHqdConfig, runConfig } from './config.js';

/**
 * What the run reports while it works (a MethodEvent): each training run and each
 * representative's answers are named "ω (…)" and carry the preference; training runs carry their
 * stage, and `index` counts within it (or among the representatives). With jobs > 1 a stage's
 * runs, and the representatives' answers, report as one event (its `jobs` set, `preference` the
 * job that reported last), and each such batch starts with one 'step' event: stage<1|2>-train,
 * augment-generate.
 */
export type ParetoHqdEvent =
  | MethodEventOf<'step' | 'score' | 'evaluate'>
  | (MethodEventOf<'train'> & { stage: 1 | 2; preference: number[] })
  | (MethodEventOf<'generate'> & { preference: number[] });

export type RunHooks = MethodHooks<ParetoHqdEvent>;

export { isDegenerate } from '../answer.js';

/** The m + 1 representatives of §6: each objective's corner and the centre. */
export function representatives(m: number): number[][] {
  const corners = Array.from({ length: m }, (_, i) => Array.from({ length: m }, (_, j) => (i === j ? 1 : 0)));
  return [...corners, Array.from({ length: m }, () => 1 / m)];
}

const samePreference = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) <= 1e-9);

export class ParetoHqD {
  readonly config: ParetoHqdConfig;
  readonly run: RunFolder;

  /** Validates `config` (every problem at once) and opens the run folder `dir`. */
  constructor(config: ParetoHqdConfigInput, dir: string, options: { overwrite?: boolean } = {}) {
    this.config = resolveParetoHqdConfig(config);
    this.run = RunFolder.open(dir, 'paretohqd', runConfig(this.config), options);
  }

  /** Runs (or finishes) every step; returns the policies file written for the evaluation. */
  async runAll(hooks: RunHooks = {}): Promise<PoliciesFile> {
    const inputs = resolveInputs(this.config);
    const say = stepReporter(hooks);
    const m = inputs.objectives.length;
    const grid = resolvePreferences(this.config.preferences, m);
    const reps = representatives(m);
    // every ω of the grid, then the representatives the grid lacks (trained for stage 2's data only)
    const trained = [...grid, ...reps.filter((r) => !grid.some((g) => samePreference(g, r)))];
    const { dataset: pool } = await readScoredDataset(inputs.pool, { objectives: inputs.objectives });

    // stage 1: selection and SFT
    const sel1 = 'stage1/selection.json';
    await this.run.step('stage1-selection', [sel1], async () => {
      say('stage1-selection', `selecting ${this.config.selection.k1} samples per preference from ${pool.size}`);
      const record = await this.select(pool, trained, this.config.selection.k1, hooks.signal);
      await writeTextAtomic(this.run.path(sel1), `${JSON.stringify(record)}\n`);
    });
    const stage1 = this.readSelection(sel1);
    await this.trainStage(
      1,
      trained.map((w, i) => ({ w, from: undefined, data: textPairs(pool.samples, stage1.selections[i].indices) })),
      inputs.baseModel,
      hooks,
    );

    // augmentation: the representatives answer the same training prompts
    const repIndices = reps.map((rep) => trained.findIndex((w) => samePreference(w, rep)));
    await this.augment(repIndices.map((i) => ({ w: trained[i], i })), inputs, hooks);
    const generatedFile = 'augment/pool.jsonl';
    await this.run.step('augment-score', [generatedFile], async () => {
      const samples: Sample[] = [];
      for (const i of repIndices) samples.push(...(await readTextSamples(this.run.path(answersFile(i)))).samples);
      say('augment-score', `scoring ${samples.length} generated responses`);
      await writeScoredDataset(this.run.path(generatedFile), await scoreWithInputs(inputs, samples, hooks), { overwrite: true });
    });

    // stage 2: selection on the generated pool, SFT continuing each ω's stage-1 adapter
    const sel2 = 'stage2/selection.json';
    const generated = (await readScoredDataset(this.run.path(generatedFile), { objectives: inputs.objectives })).dataset;
    const stage2Pool = this.config.augmentation.stage2IncludeOriginal ? concat(generated, pool) : generated;
    await this.run.step('stage2-selection', [sel2], async () => {
      const bounds = this.config.augmentation.stage2Bounds === 'stage1' ? " under stage 1's bounds" : '';
      say('stage2-selection', `selecting ${this.config.selection.k2} samples per preference from ${stage2Pool.size} generated${bounds}`);
      const record = await selectStage2(stage2Pool, grid, stage1, this.config, hooks.signal);
      await writeTextAtomic(this.run.path(sel2), `${JSON.stringify(record)}\n`);
    });
    const stage2 = this.readSelection(sel2);
    await this.trainStage(
      2,
      grid.map((w, i) => ({ w, from: this.run.path(`stage1/pref-${i}`), data: textPairs(stage2Pool.samples, stage2.selections[i].indices) })),
      inputs.baseModel,
      hooks,
    );

    // the policies the evaluation loads, and the evaluation itself
    const policies = await writePolicies(this.run, inputs, {
      method: 'paretohqd',
      policies: grid.map((preference, i) => ({ preference, ...trainedPolicy(inputs.baseModel, `stage2/pref-${i}`, this.config.training) })),
    });
    await writeTrainCurves(this.run, [
      ...trained.map((w, i) => ({ name: `stage 1 ω ${fmt(w)}`, out: `stage1/pref-${i}` })),
      ...grid.map((w, i) => ({ name: `stage 2 ω ${fmt(w)}`, out: `stage2/pref-${i}` })),
    ]);
    await evaluateStep(this.run, inputs.testPrompts, this.config.evaluation, hooks);
    return policies;
  }

  /** Stage 1's selection: selection.bounds computed on the pool. */
  private async select(pool: ScoredDataset, preferences: number[][], k: number, signal?: AbortSignal): Promise<SelectionRecord> {
    return selectWith(pool, preferences, k, this.config.selection, this.config.selection.bounds, signal);
  }

  private readSelection(file: string): SelectionRecord {
    return readJsonFile(this.run.path(file)) as SelectionRecord;
  }

  /**
   * One stage's SFT runs, the i-th into stage<stage>/pref-<i> from the base (stage 1) or from
   * `from` (stage 2): one after another in this process, or `jobs` at a time in child processes
   * (jobs.ts) reported as one combined 'train' event. Finished runs are skipped either way.
   */
  private async trainStage(stage: 1 | 2, runs: { w: number[]; from: string | undefined; data: TextPair[] }[], base: string, hooks: RunHooks): Promise<void> {
    const say = stepReporter(hooks);
    const batch = runs.map(({ w, from, data }, i) => {
      const out = `stage${stage}/pref-${i}`;
      return { w, step: `stage${stage}-train-${i}`, label: `stage ${stage} training of ω = ${fmt(w)} (${out})`, files: [trainedMarker(out)], job: { base, from, data, out, training: this.config.training } };
    });
    const { jobs } = this.config;
    await runJobs(this.run, 'train', batch, {
      jobs,
      signal: hooks.signal,
      inOrder: {
        onStart: (i) => say(batch[i].step, `stage ${stage}: training ω = ${fmt(runs[i].w)} on ${runs[i].data.length} samples`),
        onProgress: (i, progress) => hooks.onProgress?.({ kind: 'train', name: `ω ${fmt(runs[i].w)}`, stage, preference: runs[i].w, index: i, of: runs.length, progress }),
      },
      // one line for the stage: per-run lines would interrupt the combined bar
      inParallel: {
        combine: (pending) => new CombinedProgress(pending.map((b) => b.job.training.steps)),
        onStart: (n) => say(`stage${stage}-train`, `stage ${stage}: training ${n} preferences, ${jobs} at a time (each in its own process)`),
        onProgress: (progress, { job, finished, of }) => hooks.onProgress?.({ kind: 'train', name: `ω (${jobs} jobs)`, stage, preference: batch[job].w, index: finished, of, jobs, progress }),
      },
    });
  }

  /**
   * The augmentation's answers: each representative (ω = `w`, trained into stage1/pref-<i>) answers
   * the shared training prompts (RiC's online decoding, the same seeds for each) into
   * augment/generated-<i>.jsonl: one after another in this process, or `jobs` at a time in child
   * processes (jobs.ts) reported as one combined 'generate' event. Finished ones are skipped either way.
   */
  private async augment(reps: { w: number[]; i: number }[], inputs: MethodInputs, hooks: RunHooks): Promise<void> {
    const say = stepReporter(hooks);
    const a = this.config.augmentation;
    const { prompts: all } = await readPrompts(trainPromptsOf(inputs));
    const prompts = new Rng(a.seed).shuffle([...all]).slice(0, a.prompts);
    const decoding = { maxNewTokens: a.maxNewTokens, temperature: a.temperature, topP: a.topP, seed: a.seed };
    const batch = reps.map(({ w, i }) => {
      const out = answersFile(i);
      const policy = trainedPolicy(inputs.baseModel, this.run.path(`stage1/pref-${i}`), this.config.training);
      return { w, step: `augment-generate-${i}`, label: `generation of representative ω = ${fmt(w)} (${out})`, files: [out], job: { policy, preference: w, prompts, decoding, out } };
    });
    const { jobs } = this.config;
    await runJobs(this.run, 'augment', batch, {
      jobs,
      signal: hooks.signal,
      inOrder: {
        onStart: (k) => say(batch[k].step, `representative ω = ${fmt(batch[k].w)} answers ${prompts.length} prompts`),
        onProgress: (k, progress) => hooks.onProgress?.({ kind: 'generate', name: `ω ${fmt(batch[k].w)}`, preference: batch[k].w, index: k, of: batch.length, ...progress }),
      },
      inParallel: {
        combine: (pending) => new CombinedWork(pending.map((b) => b.job.prompts.length)),
        onStart: (n) => say('augment-generate', `${n} representatives answer ${prompts.length} prompts, ${jobs} at a time (each in its own process)`),
        onProgress: ({ done, total, etaSeconds }, { job, finished, of }) =>
          hooks.onProgress?.({ kind: 'generate', name: `ω (${jobs} jobs)`, preference: batch[job].w, index: finished, of, jobs, done, total, etaSeconds }),
      },
    });
  }
}

/** The answers of the representative trained into stage1/pref-<i>. */
const answersFile = (i: number) => `augment/generated-${i}.jsonl`;

/** One stage's selection with the configured options, under `bounds`. */
function selectWith(pool: ScoredDataset, preferences: number[][], k: number, s: ParetoHqdConfig['selection'], bounds: SelectionBounds, signal?: AbortSignal) {
  return selectParetoHq(pool, preferences, { k, bounds, distance: s.distance, paretoPoolMin: s.paretoPoolMin, paretoLayers: s.paretoLayers, signal });
}

/**
 * The bounds of stage 2's selection (augmentation.stage2Bounds, paretohqd.md §6): selection.bounds
 * recomputed on the stage-2 pool ('recompute'), or stage 1's lo/hi as fixed bounds ('stage1').
 */
export function stage2SelectionBounds(config: Pick<ParetoHqdConfig, 'selection' | 'augmentation'>, stage1: Pick<SelectionRecord, 'lo' | 'hi'>): SelectionBounds {
  return config.augmentation.stage2Bounds === 'stage1' ? { lo: [...stage1.lo], hi: [...stage1.hi] } : config.selection.bounds;
}

/**
 * Stage 2's selection: k2 per preference from `pool` under stage2SelectionBounds. Generated rewards
 * beyond stage 1's bounds are clamped into [0, 1]. The record logs both sets of bounds: lo/hi (used),
 * stage1Bounds and poolBounds (the stage-2 pool's own min and max).
 */
export async function selectStage2(
  pool: ScoredDataset,
  preferences: number[][],
  stage1: SelectionRecord,
  config: Pick<ParetoHqdConfig, 'selection' | 'augmentation'>,
  signal?: AbortSignal,
): Promise<SelectionRecord> {
  // the bounds are per objective: a pool in another order would pair them with the wrong rewards
  if (stage1.objectives.join('\n') !== pool.objectives.join('\n'))
    throw new Error(`stage 1 selected over objectives (${stage1.objectives.join(', ')}) but the stage-2 pool has (${pool.objectives.join(', ')})`);
  const record = await selectWith(pool, preferences, config.selection.k2, config.selection, stage2SelectionBounds(config, stage1), signal);
  const columns = pool.objectives.map((_, j) => pool.column(j));
  const poolBounds = { lo: columns.map((c) => c.reduce((a, b) => Math.min(a, b), Infinity)), hi: columns.map((c) => c.reduce((a, b) => Math.max(a, b), -Infinity)) };
  return { ...record, stage1Bounds: { lo: [...stage1.lo], hi: [...stage1.hi] }, poolBounds };
}

function concat(a: ScoredDataset, b: ScoredDataset): ScoredDataset {
  const rewards = new Float64Array(a.rewards.length + b.rewards.length);
  rewards.set(a.rewards);
  rewards.set(b.rewards, a.rewards.length);
  return new ScoredDataset(a.objectives, [...a.samples, ...b.samples], rewards);
}

const fmt = formatPreference;
