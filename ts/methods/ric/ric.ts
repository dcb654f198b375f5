// RiC, Rewards-in-Context (Yang et al., ICML 2024; spec ../shared/design/paretohqd.md §9): one
// model for every preference, trained by SFT on prompts that carry each sample's own scores.
//
//   normalisation  z-score statistics of the pool (population σ), saved as normalisation.json
//   offline        every pool sample's prompt gets the block of its rounded z-scores; SFT on all
//   online         (optional, §9.5) the model answers goal-conditioned prompts; the answers are
//                  scored, relabelled with the scores they got, filtered, and the adapter continues
//   policies       one entry per ω: the same model, with ω's target scores as the prompt suffix
//   evaluate       method-agnostic (ts/eval): the suffix is applied by the policy, the scorers see
//                  the plain prompt
//
// Every step writes its artefact atomically into the run folder and is skipped on a re-run.
import { readPrompts, readScoredDataset, readTextSamples, writeScoredDataset, writeTextSamples } from '../../data/dataset.js';
import { fitNormaliser, Normaliser } from '../../data/normalise.js';
import type { Sample, ScoredDataset } from '../../data/records.js';
import { CausalLM, type TextPair } from '../../engine/causal-lm.js';
import type { PoliciesFile } from '../../eval/index.js';
import { writeTextAtomic } from '../../util/atomic-file.js';
import { Rng } from '../../util/rng.js';
import { answerPrompts } from '../answer.js';
import { resolvePreferences } from '../common-config.js';
import { type MethodHooks, stepReporter } from '../events.js';
import { evaluateStep, writePolicies } from '../finish.js';
import { type MethodInputs, resolveInputs, scoreWithInputs, trainPromptsOf } from '../inputs.js';
import { RunFolder } from '../run-folder.js';
import { textPairs, trainedMarker, trainedPolicy, trainPolicy, writeTrainCurves } from '../train-policy.js';
import { type RicConfig, type RicConfigInput, resolveRicConfig } from './config.js';
import { drawGoals, keptRows } from './online.js';
import { conditionedPrompt, dataBounds, GAUSSIAN_DRAWS, gaussianBounds, roundScore, scoreBlock, targetScores } from './prompt.js';

/** The files of a RiC run, relative to its folder (the online stage's are under onlineDir(k)). */
export const RIC_FILES = {
  /** The z-score statistics (Normaliser JSON). */
  normalisation: 'normalisation.json',
  /** The offline training data: the pool with conditioned prompts (text samples). */
  offlineData: 'data/offline.jsonl',
  /** The offline model (adapter, or the full model without LoRA). */
  offlineModel: 'model',
  /** Each preference's target scores and prompt suffix. */
  targets: 'targets.json',
} as const;

/** The folder of online iteration k (1-based): answers.jsonl, scored.jsonl, kept.jsonl, train.jsonl, model/. */
export const onlineDir = (k: number) => `online/iter-${k}`;

/** `targets.json`: how each preference was turned into the scores its prompts carry. */
export interface RicTargets {
  mapping: RicConfig['targetMapping'];
  /** Per objective, in the objectives' order. */
  bounds: { low: number[]; high: number[] };
  objectives: string[];
  targets: { preference: number[]; scores: number[]; promptSuffix: string }[];
}

export class RiC {
  readonly config: RicConfig;
  readonly run: RunFolder;

  /** Validates `config` (every problem at once) and opens the run folder `dir`. */
  constructor(config: RicConfigInput, dir: string, options: { overwrite?: boolean } = {}) {
    this.config = resolveRicConfig(config);
    this.run = RunFolder.open(dir, 'ric', this.config, options);
  }

  /** Runs (or finishes) every step; returns the policies file written for the evaluation. */
  async runAll(hooks: MethodHooks = {}): Promise<PoliciesFile> {
    const { config: c, run } = this;
    const inputs = resolveInputs(c);
    const say = stepReporter(hooks);
    const m = inputs.objectives.length;
    const grid = resolvePreferences(c.preferences, m);
    const { dataset: pool } = await readScoredDataset(inputs.pool, { objectives: inputs.objectives });
    const trainings = 1 + c.online.iterations;

    await run.step('normalisation', [RIC_FILES.normalisation], async () => {
      say('normalisation', `z-score statistics of ${pool.size} samples`);
      await fitNormaliser(pool, { kind: 'zscore' }).save(run.path(RIC_FILES.normalisation), { overwrite: true });
    });
    const normaliser = await Normaliser.load(run.path(RIC_FILES.normalisation));

    await run.step('offline-data', [RIC_FILES.offlineData], async () => {
      say('offline-data', `conditioning ${pool.size} prompts on their own scores`);
      await writeTextSamples(run.path(RIC_FILES.offlineData), this.conditioned(pool, normaliser), { overwrite: true });
    });
    await run.step('offline-train', [trainedMarker(RIC_FILES.offlineModel)], async () => {
      const data = await readPairs(run.path(RIC_FILES.offlineData));
      say('offline-train', `offline stage: SFT on ${data.length} conditioned samples`);
      await this.train(inputs, undefined, data, RIC_FILES.offlineModel, 'offline', 0, trainings, hooks);
    });

    let model: string = RIC_FILES.offlineModel;
    for (let k = 1; k <= c.online.iterations; k++) {
      await this.onlineIteration(k, model, inputs, pool, normaliser, trainings, hooks);
      model = `${onlineDir(k)}/model`;
    }

    const targets = this.targets(grid, inputs.objectives, normaliser.applyTo(pool));
    await writeTextAtomic(run.path(RIC_FILES.targets), `${JSON.stringify(targets, null, 2)}\n`);
    await writeTrainCurves(run, [
      { name: 'offline', out: RIC_FILES.offlineModel },
      ...Array.from({ length: c.online.iterations }, (_, i) => ({ name: `online ${i + 1}`, out: `${onlineDir(i + 1)}/model` })),
    ]);
    const policies = await writePolicies(run, inputs, {
      method: 'ric',
      policies: targets.targets.map((t) => ({ preference: t.preference, ...trainedPolicy(inputs.baseModel, model, c.training), promptSuffix: t.promptSuffix })),
    });
    await evaluateStep(run, inputs.testPrompts, c.evaluation, hooks);
    return policies;
  }

  /** Each sample with its prompt conditioned on its own z-scores. */
  private conditioned(data: ScoredDataset, normaliser: Normaliser): Sample[] {
    const z = normaliser.applyTo(data);
    const m = data.objectives.length;
    return data.samples.map((s, i) => ({ ...s, prompt: conditionedPrompt(s.prompt, Array.from(z.subarray(i * m, (i + 1) * m)), this.config.promptFormat) }));
  }

  /** The target scores of every preference (rounded as the prompt writes them) and their suffixes. */
  private targets(grid: number[][], objectives: string[], z: Float64Array): RicTargets {
    const c = this.config;
    const m = objectives.length;
    const b = c.targetBounds;
    const pair = Array.isArray(b) ? b : b === 'data' ? undefined : b === 'gaussian' ? gaussianBounds(GAUSSIAN_DRAWS, 0) : gaussianBounds(b.gaussian.draws, b.gaussian.seed);
    const bounds = pair === undefined ? dataBounds(z, m) : { low: Array<number>(m).fill(pair[0]), high: Array<number>(m).fill(pair[1]) };
    return {
      mapping: c.targetMapping,
      bounds,
      objectives,
      targets: grid.map((preference) => {
        const scores = targetScores(preference, c.targetMapping, bounds).map(roundScore);
        return { preference, scores, promptSuffix: scoreBlock(scores, c.promptFormat) };
      }),
    };
  }

  /** Online iteration k (§9.5), continuing `from`: answer goal-conditioned prompts, score, relabel, filter, train. */
  private async onlineIteration(k: number, from: string, inputs: MethodInputs, pool: ScoredDataset, normaliser: Normaliser, trainings: number, hooks: MethodHooks) {
    const { config: c, run } = this;
    const o = c.online;
    const dir = onlineDir(k);
    const say = stepReporter(hooks);
    const seed = o.seed + 1000 * k;
    const files = { answers: `${dir}/answers.jsonl`, scored: `${dir}/scored.jsonl`, kept: `${dir}/kept.jsonl`, train: `${dir}/train.jsonl`, model: `${dir}/model` };

    await run.step(`online-${k}-generate`, [files.answers], async () => {
      const rng = new Rng(seed);
      const { prompts: all } = await readPrompts(trainPromptsOf(inputs));
      const prompts = rng.shuffle([...all]).slice(0, o.prompts);
      const goals = drawGoals(prompts.length, inputs.objectives.length, o.goalBounds, rng);
      say(`online-${k}-generate`, `online ${k}: answering ${prompts.length} goal-conditioned prompts`);
      const p = trainedPolicy(inputs.baseModel, run.path(from), c.training);
      using lm = await CausalLM.load(p.model, p.adapter === undefined ? {} : { adapter: p.adapter });
      const answers = await answerPrompts(
        lm,
        prompts.map((q, i) => conditionedPrompt(q.prompt, goals[i], c.promptFormat)),
        { maxNewTokens: o.maxNewTokens, temperature: o.temperature, topP: o.topP, seed, signal: hooks.signal, onProgress: (progress) => hooks.onProgress?.({ kind: 'generate', name: `online ${k}`, ...progress }) },
      );
      // the plain prompt is stored: the prompt is relabelled with the scores the answer gets
      const samples = answers.flatMap(({ response }, i): Sample[] =>
        response === undefined ? [] : [{ id: `${prompts[i].id}/ric-online-${k}`, prompt: prompts[i].prompt, response, reference: prompts[i].reference, group: prompts[i].id, origin: 'generated' }],
      );
      if (samples.length === 0) throw new Error(`online ${k}: every answer was empty or degenerate`);
      await writeTextSamples(run.path(files.answers), samples, { overwrite: true });
    });

    await run.step(`online-${k}-score`, [files.scored], async () => {
      const { samples } = await readTextSamples(run.path(files.answers));
      say(`online-${k}-score`, `online ${k}: scoring ${samples.length} answers`);
      await writeScoredDataset(run.path(files.scored), await scoreWithInputs(inputs, samples, hooks), { overwrite: true });
    });

    await run.step(`online-${k}-data`, [files.kept, files.train], async () => {
      const m = inputs.objectives.length;
      const { dataset: scored } = await readScoredDataset(run.path(files.scored), { objectives: inputs.objectives });
      const kept = scored.subset(indicesOf(keptRows(normaliser.applyTo(scored), m, o.quantile)));
      await writeScoredDataset(run.path(files.kept), kept, { overwrite: true });
      // the original samples by the same rule (quantiles over the pool), then a random share
      const original = indicesOf(keptRows(normaliser.applyTo(pool), m, o.quantile));
      const chosen = new Rng(seed + 1).shuffle(original).slice(0, o.originalSamples);
      const online: Sample[] = [];
      for (let j = 1; j <= k; j++) {
        const { dataset } = await readScoredDataset(run.path(`${onlineDir(j)}/kept.jsonl`), { objectives: inputs.objectives });
        online.push(...this.conditioned(dataset, normaliser));
      }
      const data = [...this.conditioned(pool.subset(chosen), normaliser), ...online];
      say(`online-${k}-data`, `online ${k}: kept ${kept.size} of ${scored.size} answers; training on ${chosen.length} original and ${online.length} online samples`);
      await writeTextSamples(run.path(files.train), data, { overwrite: true });
    });

    await run.step(`online-${k}-train`, [trainedMarker(files.model)], async () => {
      const data = await readPairs(run.path(files.train));
      say(`online-${k}-train`, `online ${k}: continuing the model on ${data.length} samples`);
      await this.train(inputs, run.path(from), data, files.model, `online ${k}`, k, trainings, hooks, { steps: o.steps, lr: o.lr, schedule: 'constant', warmupSteps: 0 });
    });
  }

  private async train(
    inputs: MethodInputs,
    from: string | undefined,
    data: TextPair[],
    out: string,
    name: string,
    index: number,
    of: number,
    hooks: MethodHooks,
    overrides: Partial<RicConfig['training']> = {},
  ): Promise<void> {
    await trainPolicy(this.run, {
      base: inputs.baseModel,
      from,
      data,
      out,
      training: { ...this.config.training, ...overrides },
      signal: hooks.signal,
      onProgress: (progress) => hooks.onProgress?.({ kind: 'train', name, index, of, progress }),
    });
  }
}

/** The (prompt, response) pairs of a text-samples file. */
async function readPairs(file: string): Promise<TextPair[]> {
  const { samples } = await readTextSamples(file, { dedupe: false });
  return textPairs(samples);
}

function indicesOf(mask: readonly boolean[]): number[] {
  return mask.flatMap((keep, i) => (keep ? [i] : []));
}
