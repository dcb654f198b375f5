// Panacea (Zhong et al., NeurIPS 2024; spec ../shared/design/panacea.md): ONE model for every
// trade-off. SVD-LoRA adapters carry the preference λ in m of their singular values,
//
//   W(λ) = W₀ + (α/k) · U · diag(σ_1..σ_k, s·λ_1..s·λ_m) · Vᵀ,
//
// trained once on preferences drawn from the simplex (a fresh λ every step), with the m
// per-objective losses (DPO or SFT) aggregated by linear scalarisation or Tchebycheff. At
// inference the user sets λ; nothing is retrained.
//
//   Panacea       the programmatic API: Panacea.train / Panacea.load, setPreference, generate, save
//   PanaceaRun    the method's run folder (moalign panacea train, the demo):
//     train       items from the pool (DPO pairs labelled per objective, or weighted SFT examples),
//                 one training run → panacea/adapter.safetensors + panacea/training.json
//     policies    one policy per evaluation preference: the base model, the adapter, λ = ω
//     evaluate    method-agnostic (ts/eval)
import { rmSync } from 'node:fs';
import { readScoredDataset } from '../../data/dataset.js';
import { CausalLM, defaultSvdLoraTargets, type GenerateOptions, type Generation, type ModelLoadOptions } from '../../engine/causal-lm.js';
import { type PreferenceItem, type PreferenceOptions, type PreferenceProgress, type PreferenceReport, Trainer } from '../../engine/trainer.js';
import type { PoliciesFile } from '../../eval/index.js';
import { writeTextAtomic } from '../../util/atomic-file.js';
import { parseConfig, resolvePreferences } from '../common-config.js';
import { type MethodHooks, stepReporter } from '../events.js';
import { evaluateStep, writePolicies } from '../finish.js';
import { resolveInputs } from '../inputs.js';
import { RunFolder } from '../run-folder.js';
import { LOSSES_FILE, writeTrainCurves } from '../train-policy.js';
import { type PanaceaConfig, type PanaceaConfigInput, panaceaTrainingConfig, type PanaceaTrainingConfig, resolvePanaceaConfig, type SvdLoraSettings } from './config.js';
import { hasSeveralResponses, preferencePairs, weightedExamples } from './data.js';

/** What Panacea.train needs; the defaults are the design doc's (§12). */
export interface PanaceaTrainOptions {
  /** The base model, loaded; Panacea attaches its SVD-LoRA adapters to it (it must have none). */
  model: CausalLM;
  /** DPO pairs (`rejected` set; labels o_i ∈ {−1, 0, 1}) or SFT examples (weights w_i ≥ 0), one label per objective. */
  data: PreferenceItem[];
  /** The objectives, in the order of every label vector and preference. */
  objectives: string[];
  /** Default: "dpo" when the items carry `rejected`, else "sft". */
  objective?: 'dpo' | 'sft';
  /** Default "ls". */
  aggregation?: 'ls' | 'tche';
  tcheIdeal?: number[];
  tcheSmoothing?: number;
  lambdaPer?: 'step' | 'microbatch' | 'sample';
  vertexProb?: number;
  dpoBeta?: number;
  /** w · Σ (‖UᵀU − I‖²_F + ‖VᵀV − I‖²_F) added once per step (AdaLoRA's orthogonality regulariser). Default 0: off. */
  orthRegWeight?: number;
  adapter?: Partial<SvdLoraSettings>;
  training?: Partial<PanaceaTrainingConfig>;
  /** A folder for checkpoints; a run with the same options continues from it. */
  checkpointDir?: string;
  checkpointEvery?: number;
  signal?: AbortSignal;
  onProgress?: (progress: PanaceaProgress) => void;
}

/** A training step's progress: the usual numbers, the step's λ and each objective's loss. */
export type PanaceaProgress = PreferenceProgress;

export class Panacea implements Disposable {
  private constructor(
    /** The base model with the adapters attached. */
    readonly model: CausalLM,
    /** The objectives, in the order of every preference. */
    readonly objectives: string[],
    /** The training's record (Panacea.train only). */
    readonly report?: PreferenceReport,
  ) {}

  /** Attaches fresh SVD-LoRA adapters (m = objectives.length) to `model` and trains them once for every preference. */
  static async train(o: PanaceaTrainOptions): Promise<Panacea> {
    const m = o.objectives.length;
    if (m < 2) throw new RangeError(`Panacea needs two or more objectives, got ${m}`);
    if (o.data.length === 0) throw new RangeError('Panacea: the training data is empty');
    o.data.forEach((item, i) => {
      if (item.labels.length !== m) throw new RangeError(`Panacea: item ${i} has ${item.labels.length} labels for ${m} objectives (${o.objectives.join(', ')})`);
    });
    // the defaults live in one place each: the config schema (training), addSvdLora (the
    // adapter) and the native trainer (the preference options, left undefined here)
    const t = parseConfig(panaceaTrainingConfig, o.training ?? {}, 'Panacea training');
    const { targets, ...adapter } = o.adapter ?? {};
    o.model.addSvdLora({ m, ...adapter, ...(targets !== undefined && { targetModules: targets }), seed: t.seed });
    const options: PreferenceOptions = {
      objective: o.objective ?? (o.data.every((d) => d.rejected !== undefined) ? 'dpo' : 'sft'),
      aggregation: o.aggregation,
      tcheIdeal: o.tcheIdeal,
      tcheSmoothing: o.tcheSmoothing,
      lambdaPer: o.lambdaPer,
      vertexProb: o.vertexProb,
      dpoBeta: o.dpoBeta,
      orthRegWeight: o.orthRegWeight,
    };
    const trainer = new Trainer(o.model, {
      steps: t.steps,
      batchSize: t.batchSize,
      lr: t.lr,
      schedule: t.schedule,
      warmupSteps: Math.round(t.warmupRatio * t.steps),
      weightDecay: t.weightDecay,
      maxGradNorm: t.maxGradNorm,
      seed: t.seed,
      overlong: 'truncate',
      ...(o.checkpointDir !== undefined && { checkpointDir: o.checkpointDir, checkpointEvery: o.checkpointEvery ?? 50 }),
    });
    const report = await trainer.fitPreference(o.data, options, { signal: o.signal, onProgress: o.onProgress });
    return new Panacea(o.model, [...o.objectives], report);
  }

  /** The base model in `baseDir` with the adapters saved in `adapterFile` (refused when they were trained on another base). */
  static async load(baseDir: string, adapterFile: string, options: Omit<ModelLoadOptions, 'adapter'> = {}): Promise<Panacea> {
    const model = await CausalLM.load(baseDir, options);
    try {
      const info = model.loadSvdLora(adapterFile);
      return new Panacea(model, info.objectives);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }

  /** Sets λ for every later forward pass and generation (on the simplex, one weight per objective). */
  setPreference(preference: number[], options: { normalise?: boolean } = {}): void {
    this.model.setPreference(preference, options);
  }

  /** Answers each prompt under `preference`: one λ for all (the adapters are merged for the call) or one per prompt. */
  generate(prompts: string[], options: GenerateOptions & { preference: number[] | number[][] }): Promise<Generation[]> {
    return this.model.generate(prompts, options);
  }

  /** Writes the adapters with their configuration, the objective names and the base model's fingerprint. */
  save(file: string): void {
    this.model.saveSvdLora(file, { objectives: this.objectives });
  }

  dispose(): void {
    this.model.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** The run's adapter, relative to the run folder. */
export const PANACEA_ADAPTER = 'panacea/adapter.safetensors';
/** Its training record (λ and the objective losses of every step, the items it trained on). */
export const PANACEA_TRAINING = 'panacea/training.json';
const CHECKPOINT_DIR = 'panacea/checkpoint';

export type PanaceaPoliciesFile = PoliciesFile & { objective: 'dpo' | 'sft'; aggregation: 'ls' | 'tche' };

export class PanaceaRun {
  readonly config: PanaceaConfig;
  readonly run: RunFolder;

  /** Validates `config` (every problem at once) and opens the run folder `dir`. */
  constructor(config: PanaceaConfigInput, dir: string, options: { overwrite?: boolean } = {}) {
    this.config = resolvePanaceaConfig(config);
    this.run = RunFolder.open(dir, 'panacea', this.config, options);
  }

  /** Runs (or finishes) every step; returns the policies file written for the evaluation. */
  async runAll(hooks: MethodHooks = {}): Promise<PanaceaPoliciesFile> {
    const { config: c, run } = this;
    const inputs = resolveInputs(c);
    const say = stepReporter(hooks);
    const m = inputs.objectives.length;
    const grid = resolvePreferences(c.preferences, m);
    if (c.tcheIdeal !== undefined && c.tcheIdeal.length !== m) throw new Error(`the Panacea config is not valid:\n  tcheIdeal: has ${c.tcheIdeal.length} values for ${m} objectives`);
    const { dataset: pool } = await readScoredDataset(inputs.pool, { objectives: inputs.objectives });
    const objective = c.objective ?? (hasSeveralResponses(pool) ? 'dpo' : 'sft');

    await run.step('train', [PANACEA_ADAPTER, PANACEA_TRAINING, `panacea/${LOSSES_FILE}`], async () => {
      let items: PreferenceItem[];
      let data: Record<string, unknown>;
      if (objective === 'dpo') {
        const pairs = preferencePairs(pool, c.pairs);
        if (pairs.items.length === 0) throw new Error(`${inputs.pool}: no prompt has two responses that differ on an objective, so there are no DPO pairs; set "objective": "sft"`);
        items = pairs.items;
        data = { kind: 'dpo pairs', ...pairs.stats };
        say('train', `Panacea (DPO, ${c.aggregation}): ${pairs.stats.pairs} pairs from ${pairs.stats.prompts} prompts (${pairs.stats.allTies} tied on every objective dropped)`);
      } else {
        items = weightedExamples(pool, c.sft);
        data = { kind: `sft examples (${c.sft.weighting})`, examples: items.length };
        say('train', `Panacea (SFT, ${c.aggregation}): ${items.length} examples weighted per objective (${c.sft.weighting})`);
      }
      using model = await CausalLM.load(inputs.baseModel);
      const panacea = await Panacea.train({
        model,
        data: items,
        objectives: inputs.objectives,
        objective,
        aggregation: c.aggregation,
        tcheIdeal: c.tcheIdeal,
        tcheSmoothing: c.tcheSmoothing,
        lambdaPer: c.lambdaPer,
        vertexProb: c.vertexProb,
        dpoBeta: c.dpoBeta,
        orthRegWeight: c.orthRegWeight,
        adapter: c.adapter,
        training: c.training,
        checkpointDir: run.path(CHECKPOINT_DIR),
        signal: hooks.signal,
        onProgress: (progress) => hooks.onProgress?.({ kind: 'train', name: 'panacea', index: 0, of: 1, progress }),
      });
      panacea.save(run.path(PANACEA_ADAPTER));
      const adapter = { ...c.adapter, targets: c.adapter.targets ?? defaultSvdLoraTargets(model.info.config.layout), m, baseFingerprint: model.fingerprint() };
      const r = panacea.report!;
      await writeTextAtomic(
        run.path(PANACEA_TRAINING),
        `${JSON.stringify({ objective, aggregation: c.aggregation, orthRegWeight: c.orthRegWeight, objectives: inputs.objectives, adapter, data, lambdas: r.lambdas, objectiveLosses: r.objectiveLosses, missingObjectiveEvents: r.missingObjectiveEvents }, null, 1)}\n`,
      );
      // the losses last: their file is the mark writeTrainCurves reads
      await writeTextAtomic(run.path(`panacea/${LOSSES_FILE}`), `${JSON.stringify(Array.from(r.losses))}\n`);
      rmSync(run.path(CHECKPOINT_DIR), { recursive: true, force: true });
    });

    await writeTrainCurves(run, [{ name: 'panacea', out: 'panacea' }]);
    const policies = await writePolicies(run, inputs, {
      method: 'panacea',
      policies: grid.map((preference) => ({ preference, model: inputs.baseModel, adapter: PANACEA_ADAPTER })),
      preferenceInput: true,
      objective,
      aggregation: c.aggregation,
    });
    await evaluateStep(run, inputs.testPrompts, c.evaluation, hooks);
    return policies;
  }
}
