// Rewarded Soups (Ramé et al., NeurIPS 2023; spec ../shared/design/paretohqd.md §10): one expert
// per objective, all trained from the same base model, then one model per preference ω by
// interpolating the experts' weights, θ(ω) = Σ_i ω_i θ_i.
//
//   experts   for each objective i, from the base model: DPO on the pool's response pairs ordered
//             by r_i ("dpo", when the pool is made of pairs), or SFT on the top `topFraction` of
//             the pool by r_i ("sftTop"); adapter (or full model) in experts/<objective>/
//   soups     for each ω: W₀ + Σ_i ω_i ΔW_i (merged LoRA deltas), saved as a plain Hugging Face
//             model folder soups/pref-<i>/
//   evaluate  every ω's model answers the test prompts (method-agnostic, ts/eval)
//
// Every step writes its artefact atomically into the run folder and is skipped on a re-run.
import { rmSync } from 'node:fs';
import { readScoredDataset } from '../../data/dataset.js';
import { responseGroups, type ScoredDataset, topByObjective } from '../../data/records.js';
import { CausalLM } from '../../engine/causal-lm.js';
import { interpolateAdapterFactors, interpolateModels } from '../../engine/soup.js';
import type { PoliciesFile } from '../../eval/index.js';
import { formatPreference } from '../../moo/index.js';
import { writeTextAtomic } from '../../util/atomic-file.js';
import { resolvePreferences } from '../common-config.js';
import { type MethodEventOf, type MethodHooks, stepReporter } from '../events.js';
import { evaluateStep, writePolicies } from '../finish.js';
import { resolveInputs } from '../inputs.js';
import { RunFolder } from '../run-folder.js';
import { type PolicyData, textPairs, trainedMarker, trainPolicy, writeTrainCurves } from '../train-policy.js';
import { resolveSoupsConfig, type SoupsConfig, type SoupsConfigInput } from './config.js';

/** What the run reports while it works (a MethodEvent); each expert's training is named "expert <objective>" and carries the objective. */
export type SoupsEvent = MethodEventOf<'step' | 'evaluate'> | (MethodEventOf<'train'> & { objective: string });

export type SoupsHooks = MethodHooks<SoupsEvent>;

/** The expert trainers the design names (§10); only "sftTop" runs today. */
export type ExpertTrainer = 'sftTop' | 'dpo';

/** `experts/<objective>/expert.json`: how an expert was trained (its losses are in losses.json beside it). */
export type ExpertRecord =
  | {
      objective: string;
      trainer: 'sftTop';
      topFraction: number;
      /** Rows of the pool it trained on, best first by its objective's reward. */
      indices: number[];
      /** The lowest reward among them. */
      minReward: number;
    }
  | {
      objective: string;
      trainer: 'dpo';
      beta: number;
      /** Pairs it trained on, and pairs dropped because both responses had the same reward. */
      pairs: number;
      ties: number;
    };

/** policies.json of a Rewarded Soups run: the common fields plus how its models were made. */
export type SoupsPoliciesFile = PoliciesFile & { expertTrainer: ExpertTrainer; interpolation: SoupsConfig['interpolation'] | 'weights' };

/**
 * The pool's response pairs (see hasResponsePairs) ordered by objective `j`: the response with the
 * higher reward j is chosen; pairs with equal rewards teach nothing about j and are dropped.
 */
export function pairsByObjective(pool: ScoredDataset, j: number): { pairs: { prompt: string; chosen: string; rejected: string }[]; ties: number } {
  const m = pool.objectives.length;
  const pairs: { prompt: string; chosen: string; rejected: string }[] = [];
  let ties = 0;
  for (const [a, b] of responseGroups(pool.samples)) {
    const [ra, rb] = [pool.rewards[a * m + j], pool.rewards[b * m + j]];
    if (ra === rb) ties++;
    else {
      const [win, lose] = ra > rb ? [a, b] : [b, a];
      pairs.push({ prompt: pool.samples[win].prompt, chosen: pool.samples[win].response, rejected: pool.samples[lose].response });
    }
  }
  return { pairs, ties };
}

/**
 * True when the pool is made of response pairs: every sample has a group, and every group holds
 * exactly two responses to one prompt (as Anthropic HH's chosen/rejected sides do).
 */
export function hasResponsePairs(pool: ScoredDataset): boolean {
  const s = pool.samples;
  if (pool.size === 0 || s.some((x) => x.group === undefined)) return false;
  return responseGroups(s).every((g) => g.length === 2 && s[g[0]].prompt === s[g[1]].prompt);
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
    const { config: c, run } = this;
    const inputs = resolveInputs(c);
    const say = stepReporter(hooks);
    const m = inputs.objectives.length;
    const grid = resolvePreferences(c.preferences, m);
    const { dataset: pool } = await readScoredDataset(inputs.pool, { objectives: inputs.objectives });
    const paired = hasResponsePairs(pool);
    const trainer = c.expertTrainer ?? (paired ? 'dpo' : 'sftTop');
    if (trainer === 'dpo' && !paired)
      throw new Error(`expertTrainer "dpo" needs a pool of response pairs (each prompt's two responses in one group), and ${inputs.pool} is not one; use "sftTop"`);

    // experts: one per objective, each from the base model
    const experts = inputs.objectives.map((o) => `experts/${o}`);
    for (const [j, objective] of inputs.objectives.entries()) {
      const out = experts[j];
      await run.step(`expert-${objective}`, [trainedMarker(out), `${out}/expert.json`], async () => {
        let record: ExpertRecord;
        let data: PolicyData;
        if (trainer === 'dpo') {
          const { pairs, ties } = pairsByObjective(pool, j);
          if (pairs.length === 0) throw new Error(`every response pair of ${inputs.pool} ties on ${objective}: no DPO pair orders them`);
          say(`expert-${objective}`, `expert ${j + 1}/${m}: DPO on ${pairs.length} pairs ordered by ${objective} (${ties} ties dropped)`);
          data = { dpo: pairs, beta: c.dpoBeta };
          record = { objective, trainer, beta: c.dpoBeta, pairs: pairs.length, ties };
        } else {
          const indices = topByObjective(pool, j, c.topFraction);
          say(`expert-${objective}`, `expert ${j + 1}/${m}: training on the top ${indices.length} of ${pool.size} samples by ${objective}`);
          data = textPairs(pool.samples, indices);
          record = { objective, trainer, topFraction: c.topFraction, indices, minReward: pool.rewards[indices[indices.length - 1] * m + j] };
        }
        await trainPolicy(run, {
          base: inputs.baseModel,
          data,
          out,
          training: c.training,
          signal: hooks.signal,
          onProgress: (progress) => hooks.onProgress?.({ kind: 'train', name: `expert ${objective}`, objective, index: j, of: m, progress }),
        });
        await writeTextAtomic(run.path(out, 'expert.json'), `${JSON.stringify(record)}\n`);
      });
    }

    // soups: one interpolated model per preference
    for (const [i, w] of grid.entries()) {
      const out = `soups/pref-${i}`;
      await run.step(`soup-${i}`, [`${out}/model.safetensors`, `${out}/config.json`], async () => {
        say(`soup-${i}`, `interpolating the experts for ω = ${formatPreference(w)}`);
        hooks.signal?.throwIfAborted();
        await this.soup(inputs.baseModel, experts.map((e) => run.path(e)), w, run.path(out));
      });
    }

    await writeTrainCurves(run, inputs.objectives.map((o, j) => ({ name: `expert ${o}`, out: experts[j] })));
    const policies = await writePolicies(run, inputs, {
      method: 'rewarded-soups',
      policies: grid.map((preference, i) => ({ preference, model: `soups/pref-${i}` })),
      expertTrainer: trainer,
      interpolation: c.training.lora !== false ? c.interpolation : ('weights' as const),
    });
    await evaluateStep(run, inputs.testPrompts, c.evaluation, hooks);
    return policies;
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
