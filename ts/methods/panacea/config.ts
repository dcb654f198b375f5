// Panacea's options (design: ../shared/design/panacea.md §2.1, §6, §12). Every default is the
// design doc's; the resolved config is stored with the run.
import { z } from 'zod';
import { evaluationConfig, inputFields, parseConfig, preferencesField, TASK_OR_DATA, withTaskDefaults } from '../common-config.js';

/** The SVD-LoRA adapter (§2.1): rank k of the free singular values, c = α / k. */
export const svdLoraConfig = z
  .object({
    /** Free (preference-agnostic) singular values. Default 8. */
    k: z.number().int().positive().default(8),
    /** Output scale c = α / k (k, not k + m). Default 512, so c = 64. */
    alpha: z.number().positive().default(512),
    /** Module-name suffixes. Default: every attention and MLP projection of the layout. */
    targets: z.array(z.string().min(1)).min(1).optional(),
    /** "zeroDiag" (U, V ~ N(0, 0.02²), σ = s = 0: the model starts at the base) or "kaiming" (§3). */
    init: z.enum(['zeroDiag', 'kaiming']).default('zeroDiag'),
    /** Inverted dropout on each adapter's input during training only (peft's lora_dropout), in [0, 1). Default 0 (§2.1). */
    dropout: z.number().min(0).lt(1).default(0),
  })
  .prefault({});
export type SvdLoraSettings = z.output<typeof svdLoraConfig>;

/** The optimisation (§6.7): AdamW, cosine with 3% warm-up, no weight decay on any adapter tensor. */
export const panaceaTrainingConfig = z
  .object({
    /** Optimiser steps. */
    steps: z.number().int().positive().default(500),
    /** Pairs (DPO) or examples (SFT) per step. */
    batchSize: z.number().int().positive().default(8),
    lr: z.number().positive().default(1e-3),
    schedule: z.enum(['linear', 'cosine', 'constant']).default('cosine'),
    /** Warm-up as a share of the steps. Default 0.03. */
    warmupRatio: z.number().min(0).max(1).default(0.03),
    /** Default 0: decay on σ and s shrinks the preference scale and flattens the front (§11.11). */
    weightDecay: z.number().nonnegative().default(0),
    maxGradNorm: z.number().nonnegative().default(1),
    seed: z.number().int().nonnegative().default(0),
  })
  .prefault({});
export type PanaceaTrainingConfig = z.output<typeof panaceaTrainingConfig>;

export const panaceaConfig = z
  .object({
    ...inputFields,
    /** The preferences the one model is evaluated under. Default: grid:11 (m = 2), paretohqd (m = 3). */
    preferences: preferencesField,
    /**
     * The per-objective losses (§6.2): "dpo" on response pairs of the same prompt, each pair
     * labelled per objective by the sign of its reward difference (default when the pool holds
     * two or more responses per prompt); "sft" on examples weighted per objective (see `sft`).
     */
    objective: z.enum(['dpo', 'sft']).optional(),
    /** How the m losses become one (§6.3): "ls" Σ λ_i L_i (default) or "tche" max_i λ_i (L_i − z_i). */
    aggregation: z.enum(['ls', 'tche']).default('ls'),
    /** Tchebycheff's ideal point z, a lower bound of every loss. Default zeros (DPO and SFT losses are ≥ 0). */
    tcheIdeal: z.array(z.number()).optional(),
    /** Smooth Tchebycheff's μ; 0 (default) is the hard max. */
    tcheSmoothing: z.number().nonnegative().default(0),
    /** One λ per optimiser step (default), per micro-batch, or per sample (LS only). */
    lambdaPer: z.enum(['step', 'microbatch', 'sample']).default('step'),
    /** Chance of drawing a one-hot vertex instead of Dirichlet(1). Default 0.1. */
    vertexProb: z.number().min(0).max(1).default(0.1),
    /** DPO's β. Default 0.1. */
    dpoBeta: z.number().positive().default(0.1),
    /**
     * w ≥ 0: adds w · Σ over the adapted matrices of (‖UᵀU − I‖²_F + ‖VᵀV − I‖²_F) once to every
     * optimiser step's loss (AdaLoRA's orthogonality regulariser, I (k+m, k+m)). Default 0: off (§2.1).
     */
    orthRegWeight: z.number().nonnegative().default(0),
    /** DPO pairs: every two responses to one prompt, a label per objective. */
    pairs: z
      .object({
        /** A reward difference at most this many pool standard deviations is a tie (label 0). Default 0: exact ties only. */
        tieMargin: z.number().nonnegative().default(0),
        /** Pairs taken per prompt at most (the first ones in pool order). Default: all. */
        maxPerPrompt: z.number().int().positive().optional(),
      })
      .prefault({}),
    /** SFT examples: "top" puts the best `topFraction` by objective i in D_i (weight 1); "reward" weights every sample by its min–max normalised reward i. */
    sft: z
      .object({
        weighting: z.enum(['top', 'reward']).default('top'),
        topFraction: z.number().gt(0).max(1).default(0.1),
      })
      .prefault({}),
    adapter: svdLoraConfig,
    training: panaceaTrainingConfig,
    evaluation: evaluationConfig,
  })
  .refine(...TASK_OR_DATA)
  .refine((c) => c.lambdaPer !== 'sample' || c.aggregation === 'ls', {
    path: ['lambdaPer'],
    message: '"sample" (one λ per sample) is valid only with aggregation "ls": a per-sample max is not the Tchebycheff of the batch losses',
  });

export type PanaceaConfigInput = z.input<typeof panaceaConfig>;
export type PanaceaConfig = z.output<typeof panaceaConfig>;

/**
 * The built-in task's sizes (a 1M-weight GPT-2 on two CPU cores): a small rank, a few hundred
 * steps of DPO. Applied under whatever the config sets when it names a task.
 */
export const PANACEA_BUILT_IN_TASK_DEFAULTS = {
  training: { steps: 300, batchSize: 16, lr: 2e-3, schedule: 'cosine', warmupRatio: 0.03, weightDecay: 0, maxGradNorm: 1, seed: 0 },
  evaluation: { enabled: true, maxNewTokens: 32, temperature: 1.0, topP: 0.9, seed: 0 },
} as const;

/** Validates `input` (every problem listed at once), with the built-in task's sizes under a task config. */
export function resolvePanaceaConfig(input: unknown): PanaceaConfig {
  return parseConfig(panaceaConfig, withTaskDefaults(input, PANACEA_BUILT_IN_TASK_DEFAULTS), 'Panacea');
}
