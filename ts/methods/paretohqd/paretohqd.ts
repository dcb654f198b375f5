// ParetoHqD (Gu et al., AAAI 2026; spec ../shared/design/paretohqd.md §2–7): one model per
// preference ω, trained in two stages of SFT on Pareto high-quality data.
//
//   stage 1   select the k1 samples of the pool nearest ω's ray among its first Pareto layers;
//             SFT the base model on them (one adapter per ω, plus the m + 1 representatives)
//   augment   the representatives (each e_i and the centre) answer the same N training prompts;
//             the answers are cleaned and scored
//   stage 2   select k2 per ω from the generated pool; continue ω's stage-1 adapter on them
//   evaluate  every ω's final model answers the test prompts (method-agnostic, ts/eval)
//
// Every step writes its artefact atomically into the run folder and is skipped on a re-run.
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readPrompts, readScoredDataset, readTextSamples, writeScoredDataset, writeTextSamples } from '../../data/dataset.js';
import { type PromptRecord, type Sample, ScoredDataset } from '../../data/records.js';
import { builtinScorers, parseObjectiveSpecs, resolveScorers, scoreSamples, type Scorer } from '../../data/scorers/index.js';
import { CausalLM, type TextPair } from '../../engine/causal-lm.js';
import { Trainer, type TrainProgress } from '../../engine/trainer.js';
import { EVAL_FILES, evaluateRun, type EvalProgress, type PoliciesFile } from '../../eval/index.js';
import { checkPreferences, defaultPreferences, formatPreference, parsePreferences, selectParetoHq, type SelectionRecord } from '../../moo/index.js';
import { TRAIN_CURVES_FILE } from '../../report/compare.js';
import { readTaskManifest, TASK_FILES } from '../../task/build.js';
import { cleanResponse } from '../../task/pool.js';
import { writeTextAtomic } from '../../util/atomic-file.js';
import { Rng } from '../../util/rng.js';
import { RunFolder } from '../run-folder.js';
import { type ParetoHqdConfig, type ParetoHqdConfigInput, resolveParetoHqdConfig } from './config.js';

/** What the run reports while it works. */
export type ParetoHqdEvent =
  | { kind: 'step'; step: string; message: string }
  | { kind: 'train'; stage: 1 | 2; preference: number[]; index: number; of: number; progress: TrainProgress }
  | { kind: 'generate'; preference: number[]; done: number; total: number }
  | { kind: 'score'; done: number; total: number }
  | { kind: 'evaluate'; progress: EvalProgress };

export interface RunHooks {
  onProgress?: (event: ParetoHqdEvent) => void;
  signal?: AbortSignal;
}

/** The data a run works on, resolved from a task folder or the config's `data`. */
interface Inputs {
  objectives: string[];
  scorerSpecs: string[];
  pool: string;
  trainPrompts: string;
  testPrompts: string;
  baseModel: string;
  task?: string;
}

/** Each training run's loss per step, next to its adapter; train-curves.json gathers them. */
const LOSSES_FILE = 'losses.json';

const DEFAULT_LORA_TARGETS = { gpt2: ['c_attn', 'c_proj', 'c_fc'], llama: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] };

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
    this.run = RunFolder.open(dir, 'paretohqd', this.config, options);
  }

  /** Runs (or finishes) every step; returns the policies file written for the evaluation. */
  async runAll(hooks: RunHooks = {}): Promise<PoliciesFile> {
    const inputs = this.inputs();
    const say = (step: string, message: string) => hooks.onProgress?.({ kind: 'step', step, message });
    const m = inputs.objectives.length;
    const p = this.config.preferences;
    const grid = p === undefined ? defaultPreferences(m) : typeof p === 'string' ? parsePreferences(p, m) : checkPreferences(p, m);
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
    for (const [i, w] of trained.entries()) {
      const out = `stage1/pref-${i}`;
      await this.run.step(`stage1-train-${i}`, [`${out}/${LOSSES_FILE}`], async () => {
        say(`stage1-train-${i}`, `stage 1: training ω = ${fmt(w)} on ${stage1.selections[i].indices.length} samples`);
        await this.train(inputs.baseModel, undefined, pairsOf(pool, stage1.selections[i].indices), out, 1, w, i, trained.length, hooks);
      });
    }

    // augmentation: the representatives answer the same training prompts
    const { prompts: allTrain } = await readPrompts(inputs.trainPrompts);
    const shared = new Rng(this.config.augmentation.seed).shuffle([...allTrain]).slice(0, this.config.augmentation.prompts);
    for (const rep of reps) {
      const i = trained.findIndex((w) => samePreference(w, rep));
      const file = `augment/generated-${i}.jsonl`;
      await this.run.step(`augment-generate-${i}`, [file], async () => {
        say(`augment-generate-${i}`, `representative ω = ${fmt(rep)} answers ${shared.length} prompts`);
        const samples = await this.generate(inputs.baseModel, this.run.path(`stage1/pref-${i}`), shared, rep, hooks);
        await writeTextSamples(this.run.path(file), samples, { overwrite: true });
      });
    }
    const generatedFile = 'augment/pool.jsonl';
    await this.run.step('augment-score', [generatedFile], async () => {
      const samples: Sample[] = [];
      for (const rep of reps) {
        const i = trained.findIndex((w) => samePreference(w, rep));
        samples.push(...(await readTextSamples(this.run.path(`augment/generated-${i}.jsonl`))).samples);
      }
      say('augment-score', `scoring ${samples.length} generated responses`);
      const scorers = await this.scorers(inputs);
      try {
        const scored = await scoreSamples(samples, scorers, { signal: hooks.signal, onProgress: (p) => hooks.onProgress?.({ kind: 'score', done: p.done, total: p.total }) });
        await writeScoredDataset(this.run.path(generatedFile), scored, { overwrite: true });
      } finally {
        for (const s of scorers) s.dispose?.();
      }
    });

    // stage 2: selection on the generated pool, SFT continuing each ω's stage-1 adapter
    const sel2 = 'stage2/selection.json';
    await this.run.step('stage2-selection', [sel2], async () => {
      let generated = (await readScoredDataset(this.run.path(generatedFile), { objectives: inputs.objectives })).dataset;
      if (this.config.augmentation.stage2IncludeOriginal) generated = concat(generated, pool);
      say('stage2-selection', `selecting ${this.config.selection.k2} samples per preference from ${generated.size} generated`);
      const record = await this.select(generated, grid, this.config.selection.k2, hooks.signal);
      await writeTextAtomic(this.run.path(sel2), `${JSON.stringify(record)}\n`);
    });
    const stage2 = this.readSelection(sel2);
    const generated = (await readScoredDataset(this.run.path(generatedFile), { objectives: inputs.objectives })).dataset;
    const stage2Pool = this.config.augmentation.stage2IncludeOriginal ? concat(generated, pool) : generated;
    for (const [i, w] of grid.entries()) {
      const out = `stage2/pref-${i}`;
      await this.run.step(`stage2-train-${i}`, [`${out}/${LOSSES_FILE}`], async () => {
        say(`stage2-train-${i}`, `stage 2: training ω = ${fmt(w)} on ${stage2.selections[i].indices.length} samples`);
        await this.train(inputs.baseModel, this.run.path(`stage1/pref-${i}`), pairsOf(stage2Pool, stage2.selections[i].indices), out, 2, w, i, grid.length, hooks);
      });
    }

    // the policies the evaluation loads, and the evaluation itself
    const policies: PoliciesFile = {
      method: 'paretohqd',
      objectives: inputs.objectives,
      ...(inputs.task !== undefined && { task: inputs.task }),
      policies: grid.map((preference, i) => ({ preference, model: inputs.baseModel, adapter: `stage2/pref-${i}` })),
      preferenceInput: false,
      trainSeconds: Object.entries(this.run.timings)
        .filter(([k]) => !k.startsWith('evaluate'))
        .reduce((s, [, v]) => s + v, 0),
    };
    await writeTextAtomic(this.run.path('policies.json'), `${JSON.stringify(policies, null, 2)}\n`);
    const curves = [
      ...trained.map((w, i) => ({ name: `stage 1 ω ${fmt(w)}`, file: `stage1/pref-${i}/${LOSSES_FILE}` })),
      ...grid.map((w, i) => ({ name: `stage 2 ω ${fmt(w)}`, file: `stage2/pref-${i}/${LOSSES_FILE}` })),
    ].map(({ name, file }) => ({ name, losses: JSON.parse(readFileSync(this.run.path(file), 'utf8')) as number[] }));
    await writeTextAtomic(this.run.path(TRAIN_CURVES_FILE), `${JSON.stringify(curves)}\n`);
    if (this.config.evaluation.enabled) {
      await this.run.step('evaluate', [EVAL_FILES.record], async () => {
        say('evaluate', 'evaluating every preference on the test prompts');
        const e = this.config.evaluation;
        await evaluateRun(this.run.dir, {
          prompts: inputs.testPrompts,
          limit: e.limit,
          maxNewTokens: e.maxNewTokens,
          temperature: e.temperature,
          topP: e.topP,
          seed: e.seed,
          signal: hooks.signal,
          onProgress: (p) => hooks.onProgress?.({ kind: 'evaluate', progress: p }),
        });
      });
    }
    return policies;
  }

  private inputs(): Inputs {
    if (this.config.task !== undefined) {
      const task = resolve(this.config.task);
      const manifest = readTaskManifest(task);
      const objectives = manifest.objectives.map((o) => o.name);
      return {
        task,
        objectives,
        scorerSpecs: objectives,
        pool: join(task, TASK_FILES.pool),
        trainPrompts: join(task, TASK_FILES.trainPrompts),
        testPrompts: join(task, TASK_FILES.testPrompts),
        baseModel: join(task, TASK_FILES.baseModel),
      };
    }
    const d = this.config.data!;
    const specs = parseObjectiveSpecs(d.objectives);
    return { objectives: specs.map((s) => s.name), scorerSpecs: d.objectives, pool: resolve(d.pool), trainPrompts: resolve(d.trainPrompts), testPrompts: resolve(d.testPrompts), baseModel: resolve(d.baseModel) };
  }

  private async scorers(inputs: Inputs): Promise<Scorer[]> {
    if (inputs.scorerSpecs.every((s) => s in builtinScorers)) return inputs.scorerSpecs.map((s) => builtinScorers[s]());
    return resolveScorers(parseObjectiveSpecs(inputs.scorerSpecs));
  }

  /** Bounds are computed on each stage's own pool (the design's stage2Bounds "recompute"). */
  private async select(pool: ScoredDataset, preferences: number[][], k: number, signal?: AbortSignal): Promise<SelectionRecord> {
    const s = this.config.selection;
    return selectParetoHq(pool, preferences, { k, bounds: s.bounds, distance: s.distance, paretoPoolMin: s.paretoPoolMin, paretoLayers: s.paretoLayers, signal });
  }

  private readSelection(file: string): SelectionRecord {
    return JSON.parse(readFileSync(this.run.path(file), 'utf8')) as SelectionRecord;
  }

  /** SFT from the base (stage 1) or from `adapter` (stage 2); writes the adapter (or full model) to `out`. */
  private async train(base: string, adapter: string | undefined, data: TextPair[], out: string, stage: 1 | 2, w: number[], index: number, of: number, hooks: RunHooks) {
    const t = this.config.training;
    using lm = await CausalLM.load(adapter !== undefined && t.lora === false ? adapter : base);
    if (t.lora !== false) {
      if (adapter !== undefined) lm.loadAdapter(adapter);
      else lm.addLora({ targets: t.lora.targets ?? DEFAULT_LORA_TARGETS[lm.info.config.layout], rank: t.lora.rank, alpha: t.lora.alpha, seed: t.seed });
    }
    const checkpointDir = this.run.path(`${out}.checkpoint`);
    const report = await new Trainer(lm, {
      steps: t.steps,
      batchSize: t.batchSize,
      lr: t.lr,
      schedule: t.schedule,
      warmupSteps: t.warmupSteps,
      weightDecay: t.weightDecay,
      maxGradNorm: t.maxGradNorm,
      seed: t.seed,
      checkpointDir,
      checkpointEvery: 50,
      overlong: 'truncate',
    }).fit(data, { signal: hooks.signal, onProgress: (progress) => hooks.onProgress?.({ kind: 'train', stage, preference: w, index, of, progress }) });
    if (t.lora !== false) lm.saveAdapter(this.run.path(out));
    else lm.save(this.run.path(out));
    await writeTextAtomic(this.run.path(out, LOSSES_FILE), `${JSON.stringify(Array.from(report.losses))}\n`);
    rmSync(checkpointDir, { recursive: true, force: true });
  }

  /** The model of ω answers `prompts` (RiC's online decoding); empty and degenerate answers dropped. */
  private async generate(base: string, adapter: string, prompts: PromptRecord[], w: number[], hooks: RunHooks): Promise<Sample[]> {
    const a = this.config.augmentation;
    using lm = this.config.training.lora === false ? await CausalLM.load(adapter) : await CausalLM.load(base, { adapter });
    const samples: Sample[] = [];
    const batch = 64;
    for (let b = 0; b < prompts.length; b += batch) {
      const part = prompts.slice(b, b + batch);
      const seed = a.seed + b;
      const out = await lm.generate(
        part.map((p) => p.prompt),
        { maxNewTokens: a.maxNewTokens, temperature: a.temperature, topP: a.topP, seed, signal: hooks.signal },
      );
      out.forEach((g, k) => {
        const response = cleanResponse(g.text);
        if (response === undefined || isDegenerate(response)) return;
        const p = part[k];
        samples.push({ id: `${p.id}/w${w.map((x) => x.toFixed(3)).join('-')}`, prompt: p.prompt, response, reference: p.reference, group: p.id, origin: 'generated', generatedBy: { model: adapter, preference: w, seed } });
      });
      hooks.onProgress?.({ kind: 'generate', preference: w, done: Math.min(b + batch, prompts.length), total: prompts.length });
    }
    return samples;
  }
}

/** RiC's filter of degenerate generations (§6.4): "....." or at least three ":)". */
export function isDegenerate(text: string): boolean {
  return text.includes('.....') || text.split(':)').length - 1 >= 3;
}

function pairsOf(pool: ScoredDataset, indices: readonly number[]): TextPair[] {
  return indices.map((i) => ({ prompt: pool.samples[i].prompt, response: pool.samples[i].response }));
}

function concat(a: ScoredDataset, b: ScoredDataset): ScoredDataset {
  const rewards = new Float64Array(a.rewards.length + b.rewards.length);
  rewards.set(a.rewards);
  rewards.set(b.rewards, a.rewards.length);
  return new ScoredDataset(a.objectives, [...a.samples, ...b.samples], rewards);
}

const fmt = formatPreference;
