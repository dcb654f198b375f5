// Rewarded Soups (Ramé et al., NeurIPS 2023; spec ../shared/design/paretohqd.md §10): one expert
// per objective, all trained from the same base model, then one model per preference ω by
// interpolating the experts' weights, θ(ω) = Σ_i ω_i θ_i.
//
//   experts   for each objective i: SFT of the base model on the top `topFraction` of the pool by
//             r_i ("sftTop"); adapter (or full model) in experts/<objective>/
//   soups     for each ω: W₀ + Σ_i ω_i ΔW_i (merged LoRA deltas), saved as a plain Hugging Face
//             model folder soups/pref-<i>/
//   evaluate  every ω's model answers the test prompts (method-agnostic, ts/eval)
//
// Every step writes its artefact atomically into the run folder and is skipped on a re-run.
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readScoredDataset } from '../../data/dataset.js';
import type { ScoredDataset } from '../../data/records.js';
import { parseObjectiveSpecs } from '../../data/scorers/index.js';
import { CausalLM, type TextPair } from '../../engine/causal-lm.js';
import { interpolateAdapterFactors, interpolateModels } from '../../engine/soup.js';
import { Trainer, type TrainProgress } from '../../engine/trainer.js';
import { EVAL_FILES, evaluateRun, type EvalProgress, type PoliciesFile } from '../../eval/index.js';
import { checkPreferences, defaultPreferences, formatPreference, parsePreferences } from '../../moo/index.js';
import { TRAIN_CURVES_FILE, type TrainCurves } from '../../report/compare.js';
import { readTaskManifest, TASK_FILES } from '../../task/build.js';
import { writeTextAtomic } from '../../util/atomic-file.js';
import { readJsonFile } from '../../util/json-file.js';
import { RunFolder } from '../run-folder.js';
import { DPO_NOT_AVAILABLE, resolveSoupsConfig, type SoupsConfig, type SoupsConfigInput } from './config.js';

/** What the run reports while it works. */
export type SoupsEvent =
  | { kind: 'step'; step: string; message: string }
  | { kind: 'train'; objective: string; index: number; of: number; progress: TrainProgress }
  | { kind: 'evaluate'; progress: EvalProgress };

export interface SoupsHooks {
  onProgress?: (event: SoupsEvent) => void;
  signal?: AbortSignal;
}

/** The expert trainers the design names (§10); only "sftTop" runs today. */
export type ExpertTrainer = 'sftTop' | 'dpo';

/** `experts/<objective>/expert.json`: how an expert was trained. */
export interface ExpertRecord {
  objective: string;
  trainer: ExpertTrainer;
  topFraction: number;
  /** Rows of the pool it trained on, best first by its objective's reward. */
  indices: number[];
  /** The lowest reward among them. */
  minReward: number;
  /** Training loss per optimiser step. */
  losses: number[];
}

/** policies.json of a Rewarded Soups run: the common fields plus how its models were made. */
export type SoupsPoliciesFile = PoliciesFile & { expertTrainer: ExpertTrainer; interpolation: SoupsConfig['interpolation'] | 'weights' };

/** The data a run works on, resolved from a task folder or the config's `data`. */
interface Inputs {
  objectives: string[];
  /** Scorers of objectives that are not built in, as policies.json's `scorers` (absolute paths). */
  scorers?: Record<string, string>;
  pool: string;
  testPrompts: string;
  baseModel: string;
  task?: string;
}

const DEFAULT_LORA_TARGETS = { gpt2: ['c_attn', 'c_proj', 'c_fc'], llama: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] };

/**
 * The rows of the `fraction` best samples of `pool` by objective `j` (⌈fraction·n⌉, at least one),
 * best first; equal rewards keep pool order.
 */
export function topByObjective(pool: ScoredDataset, j: number, fraction: number): number[] {
  const r = pool.column(j);
  const order = Array.from({ length: pool.size }, (_, i) => i).sort((a, b) => r[b] - r[a] || a - b);
  return order.slice(0, Math.max(1, Math.ceil(fraction * pool.size)));
}

/**
 * True when the pool is made of response pairs: every sample has a group, and every group holds
 * exactly two responses to one prompt (as Anthropic HH's chosen/rejected sides do).
 */
export function hasResponsePairs(pool: ScoredDataset): boolean {
  if (pool.size === 0) return false;
  const groups = new Map<string, string[]>();
  for (const s of pool.samples) {
    if (s.group === undefined) return false;
    const g = groups.get(s.group);
    if (g) g.push(s.prompt);
    else groups.set(s.group, [s.prompt]);
  }
  return [...groups.values()].every((g) => g.length === 2 && g[0] === g[1]);
}

export class RewardedSoups {
  readonly config: SoupsConfig;
  readonly run: RunFolder;

  /** Validates `config` (every problem at once) and opens the run folder `dir`. */
  constructor(config: SoupsConfigInput, dir: string, options: { overwrite?: boolean } = {}) {
    this.config = resolveSoupsConfig(config);
    this.run = RunFolder.open(dir, 'rewarded-soups', this.config, options);
  }

  /** Runs (or finishes) every step; returns the policies file written for the evaluation. */
  async runAll(hooks: SoupsHooks = {}): Promise<SoupsPoliciesFile> {
    const inputs = this.inputs();
    const say = (step: string, message: string) => hooks.onProgress?.({ kind: 'step', step, message });
    const m = inputs.objectives.length;
    const p = this.config.preferences;
    const grid = p === undefined ? defaultPreferences(m) : typeof p === 'string' ? parsePreferences(p, m) : checkPreferences(p, m);
    const { dataset: pool } = await readScoredDataset(inputs.pool, { objectives: inputs.objectives });
    const trainer = this.config.expertTrainer ?? (hasResponsePairs(pool) ? 'dpo' : 'sftTop');
    if (trainer === 'dpo') throw new Error(`${inputs.pool} holds response pairs, for which the expert trainer defaults to "dpo": ${DPO_NOT_AVAILABLE}; set "expertTrainer": "sftTop"`);
    const lora = this.config.training.lora !== false;

    // experts: one per objective, each from the base model
    const experts = inputs.objectives.map((o) => `experts/${o}`);
    for (const [j, objective] of inputs.objectives.entries()) {
      const out = experts[j];
      await this.run.step(`expert-${objective}`, [`${out}/${lora ? 'adapter_config.json' : 'config.json'}`, `${out}/expert.json`], async () => {
        const indices = topByObjective(pool, j, this.config.topFraction);
        say(`expert-${objective}`, `expert ${j + 1}/${m}: training on the top ${indices.length} of ${pool.size} samples by ${objective}`);
        const pairs: TextPair[] = indices.map((i) => ({ prompt: pool.samples[i].prompt, response: pool.samples[i].response }));
        const losses = await this.train(inputs.baseModel, pairs, out, (progress) => hooks.onProgress?.({ kind: 'train', objective, index: j, of: m, progress }), hooks.signal);
        const record: ExpertRecord = { objective, trainer, topFraction: this.config.topFraction, indices, minReward: pool.rewards[indices[indices.length - 1] * m + j], losses };
        await writeTextAtomic(this.run.path(out, 'expert.json'), `${JSON.stringify(record)}\n`);
      });
    }

    // soups: one interpolated model per preference
    for (const [i, w] of grid.entries()) {
      const out = `soups/pref-${i}`;
      await this.run.step(`soup-${i}`, [`${out}/model.safetensors`, `${out}/config.json`], async () => {
        say(`soup-${i}`, `interpolating the experts for ω = ${formatPreference(w)}`);
        hooks.signal?.throwIfAborted();
        await this.soup(inputs.baseModel, experts.map((e) => this.run.path(e)), w, this.run.path(out));
      });
    }

    const curves: TrainCurves = inputs.objectives.map((o, j) => ({ name: `expert ${o}`, losses: (readJsonFile(this.run.path(experts[j], 'expert.json')) as ExpertRecord).losses }));
    await writeTextAtomic(this.run.path(TRAIN_CURVES_FILE), `${JSON.stringify(curves)}\n`);
    const policies: SoupsPoliciesFile = {
      method: 'rewarded-soups',
      objectives: inputs.objectives,
      ...(inputs.task !== undefined && { task: inputs.task }),
      policies: grid.map((preference, i) => ({ preference, model: `soups/pref-${i}` })),
      preferenceInput: false,
      trainSeconds: Object.entries(this.run.timings)
        .filter(([k]) => !k.startsWith('evaluate'))
        .reduce((s, [, v]) => s + v, 0),
      ...(inputs.scorers !== undefined && { scorers: inputs.scorers }),
      expertTrainer: trainer,
      interpolation: lora ? this.config.interpolation : 'weights',
    };
    await writeTextAtomic(this.run.path('policies.json'), `${JSON.stringify(policies, null, 2)}\n`);
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
      return {
        task,
        objectives: manifest.objectives.map((o) => o.name),
        pool: join(task, TASK_FILES.pool),
        testPrompts: join(task, TASK_FILES.testPrompts),
        baseModel: join(task, TASK_FILES.baseModel),
      };
    }
    const d = this.config.data!;
    const specs = parseObjectiveSpecs(d.objectives);
    const custom = specs.flatMap((s) => (s.kind === 'rm' ? [[s.name, `rm:${resolve(s.dir)}`]] : s.kind === 'fn' ? [[s.name, `fn:${resolve(s.file)}`]] : []));
    return {
      objectives: specs.map((s) => s.name),
      ...(custom.length > 0 && { scorers: Object.fromEntries(custom) as Record<string, string> }),
      pool: resolve(d.pool),
      testPrompts: resolve(d.testPrompts),
      baseModel: resolve(d.baseModel),
    };
  }

  /** SFT of the base model on `data`; writes the adapter (or the full model) to `out`. Returns the losses. */
  private async train(base: string, data: TextPair[], out: string, onProgress: (p: TrainProgress) => void, signal?: AbortSignal): Promise<number[]> {
    const t = this.config.training;
    using lm = await CausalLM.load(base);
    if (t.lora !== false) lm.addLora({ targets: t.lora.targets ?? DEFAULT_LORA_TARGETS[lm.info.config.layout], rank: t.lora.rank, alpha: t.lora.alpha, seed: t.seed });
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
    }).fit(data, { signal, onProgress });
    if (t.lora !== false) lm.saveAdapter(this.run.path(out));
    else lm.save(this.run.path(out));
    rmSync(checkpointDir, { recursive: true, force: true });
    return Array.from(report.losses);
  }

  /** θ(ω) from the experts (absolute folders), written to the model folder `out`. */
  private async soup(base: string, experts: string[], w: number[], out: string): Promise<void> {
    const dtype = this.config.saveDtype;
    if (this.config.training.lora === false) {
      interpolateModels(experts, w, out, { dtype });
      return;
    }
    using lm = await CausalLM.load(base);
    if (this.config.interpolation === 'factors') {
      const averaged = `${out}.factors`;
      interpolateAdapterFactors(experts, w, averaged);
      lm.mergeAdapterFrom(averaged, 1);
      rmSync(averaged, { recursive: true, force: true });
    } else {
      // W₀ + Σ ω_i ΔW_i; a zero weight adds nothing, so its expert is not read
      for (const [i, expert] of experts.entries()) if (w[i] !== 0) lm.mergeAdapterFrom(expert, w[i]);
    }
    lm.save(out, { dtype });
  }
}
