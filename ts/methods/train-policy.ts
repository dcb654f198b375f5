// One SFT (or DPO) run inside a method's run folder, the same for every method: load the base model (and
// the adapter or model to continue), add LoRA, train with a checkpoint next to the output (so an
// interrupted run resumes mid-way), save the adapter (or the full model), drop the checkpoint.
import { rmSync } from 'node:fs';
import type { Sample } from '../data/records.js';
import { CausalLM, type TextPair } from '../engine/causal-lm.js';
import { Trainer, type TrainProgress } from '../engine/trainer.js';
import { TRAIN_CURVES_FILE } from '../report/compare.js';
import { readJsonFile } from '../util/json-file.js';
import { writeTextAtomic } from '../util/atomic-file.js';
import type { TrainingConfig } from './common-config.js';
import type { RunFolder, RunPaths } from './run-folder.js';

/** The modules LoRA adapts when the config names none. */
export const DEFAULT_LORA_TARGETS = { gpt2: ['c_attn', 'c_proj', 'c_fc'], llama: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] };

/** Steps between checkpoints of a training run. */
const CHECKPOINT_EVERY = 50;

/** A training run as data (what a child process receives, jobs.ts): the options without the hooks. */
export type TrainPolicyJob = Omit<TrainPolicyOptions, 'signal' | 'onProgress'>;

export interface TrainPolicyOptions {
  /** The base model folder. */
  base: string;
  /** An adapter folder to continue (LoRA), or a full model folder (training.lora false). Default: start from the base. */
  from?: string;
  data: PolicyData;
  /** The output folder, relative to the run folder. */
  out: string;
  training: TrainingConfig;
  signal?: AbortSignal;
  onProgress?: (progress: TrainProgress) => void;
}

/** What a policy trains on: (prompt, response) pairs for SFT, or DPO pairs (a LoRA on the base, which is DPO's reference policy). */
export type PolicyData = TextPair[] | { dpo: { prompt: string; chosen: string; rejected: string }[]; beta: number };

/** Each training run's loss per step, next to its adapter; written last, so it marks the run done. */
export const LOSSES_FILE = 'losses.json';

/** The file whose presence says the training into `out` finished (a run step's file). */
export function trainedMarker(out: string): string {
  return `${out}/${LOSSES_FILE}`;
}

/** The (prompt, response) pairs SFT trains on: of every sample, or of the rows `indices` in that order. */
export function textPairs(samples: readonly Pick<Sample, 'prompt' | 'response'>[], indices?: readonly number[]): TextPair[] {
  const pair = (s: Pick<Sample, 'prompt' | 'response'>): TextPair => ({ prompt: s.prompt, response: s.response });
  return indices === undefined ? samples.map(pair) : indices.map((i) => pair(samples[i]));
}

/** Trains and saves the adapter (or model) in `run/out`, then its losses; returns the loss of every step. */
export async function trainPolicy(run: RunPaths, o: TrainPolicyOptions): Promise<number[]> {
  const t = o.training;
  using lm = await CausalLM.load(o.from !== undefined && t.lora === false ? o.from : o.base);
  if (t.lora !== false) {
    if (o.from !== undefined) lm.loadAdapter(o.from);
    else lm.addLora({ targets: t.lora.targets ?? DEFAULT_LORA_TARGETS[lm.info.config.layout], rank: t.lora.rank, alpha: t.lora.alpha, seed: t.seed });
  }
  const checkpointDir = run.path(`${o.out}.checkpoint`);
  const trainer = new Trainer(lm, {
    steps: t.steps,
    batchSize: t.batchSize,
    lr: t.lr,
    schedule: t.schedule,
    warmupSteps: t.warmupSteps,
    weightDecay: t.weightDecay,
    maxGradNorm: t.maxGradNorm,
    seed: t.seed,
    checkpointDir,
    checkpointEvery: CHECKPOINT_EVERY,
    overlong: 'truncate',
  });
  const hooks = { signal: o.signal, onProgress: o.onProgress };
  if (!Array.isArray(o.data) && t.lora === false) throw new Error('DPO trains a LoRA adapter (its reference policy is the base model with the adapter off): set training.lora');
  const report = Array.isArray(o.data) ? await trainer.fit(o.data, hooks) : await trainer.fitDpo(o.data.dpo, { beta: o.data.beta }, hooks);
  if (t.lora !== false) lm.saveAdapter(run.path(o.out));
  else lm.save(run.path(o.out));
  const losses = Array.from(report.losses);
  await writeTextAtomic(run.path(trainedMarker(o.out)), `${JSON.stringify(losses)}\n`);
  rmSync(checkpointDir, { recursive: true, force: true });
  return losses;
}

/** What policies.json names for a model trained into `out`: the base plus the adapter, or the full model. */
export function trainedPolicy(base: string, out: string, training: TrainingConfig): { model: string; adapter?: string } {
  return training.lora === false ? { model: out } : { model: base, adapter: out };
}

/**
 * `train-curves.json` (the training curves `moalign compare` draws) from the losses trainPolicy
 * saved in each output folder `out`, under its label: [{name, losses}] in the order given.
 */
export async function writeTrainCurves(run: RunFolder, curves: { name: string; out: string }[]): Promise<void> {
  const out = curves.map(({ name, out }) => ({ name, losses: readJsonFile(run.path(trainedMarker(out))) as number[] }));
  await writeTextAtomic(run.path(TRAIN_CURVES_FILE), `${JSON.stringify(out)}\n`);
}
