// Rewarded Soups' options (design: ../shared/design/paretohqd.md §10–11). The resolved config is
// stored with the run; every default is documented here.
import { z } from 'zod';
import { evaluationConfig, inputFields, parseConfig, preferencesField, TASK_OR_DATA, trainingConfig, withTaskDefaults } from '../common-config.js';

export const soupsConfig = z
  .object({
    ...inputFields,
    /** The preferences, one interpolated model each. Default: grid:11 (m = 2), paretohqd (m = 3). */
    preferences: preferencesField,
    /**
     * How each objective's expert is trained from the base model. Default: "dpo" when the pool
     * holds response pairs (every group of two responses to one prompt; each pair reordered by the
     * expert's reward, ties dropped; the reference policy is the base model, the expert a LoRA
     * adapter on it), else "sftTop" (SFT on the top `topFraction` of the pool by that reward). The
     * design's "ppo" (online) is not offered.
     */
    expertTrainer: z.enum(['sftTop', 'dpo']).optional(),
    /** DPO experts' β. Default 0.1. */
    dpoBeta: z.number().positive().default(0.1),
    /** sftTop: the share of the pool, best first by the expert's reward, it trains on. Default 0.1. */
    topFraction: z.number().gt(0).max(1).default(0.1),
    /**
     * "merged" (default): W(ω) = W₀ + Σ ω_i (α/r) B_i A_i, which for experts sharing W₀ equals
     * averaging the full weights θ(ω) = Σ ω_i θ_i. "factors" averages A and B separately and is NOT
     * weight interpolation ((Σ ω_i B_i)(Σ ω_j A_j) ≠ Σ ω_i B_i A_i); kept to mimic factor-wise soups.
     * Full fine-tuned experts (lora: false) are always averaged weight by weight.
     */
    interpolation: z.enum(['merged', 'factors']).default('merged'),
    /** The training of each expert, SFT or DPO (its steps are per expert). */
    training: trainingConfig,
    /** Dtype of the interpolated model folders. Default float32 (the dtype experts are trained and merged in). */
    saveDtype: z.enum(['float32', 'bfloat16', 'float16']).optional(),
    evaluation: evaluationConfig,
  })
  .refine(...TASK_OR_DATA)
  // checks across fields; refinements run alongside the fields' own checks, so every problem is listed at once
  .refine((c) => c.expertTrainer !== 'dpo' || c.training.lora !== false, {
    path: ['expertTrainer'],
    message: '"dpo" experts are LoRA adapters (the reference policy is the base model with the adapter off); set training.lora, or use "sftTop"',
  })
  .refine((c) => c.interpolation !== 'factors' || c.training.lora !== false, {
    path: ['interpolation'],
    message: '"factors" averages LoRA factors; with full fine-tuning (training.lora false) use "merged"',
  });

export type SoupsConfigInput = z.input<typeof soupsConfig>;
export type SoupsConfig = z.output<typeof soupsConfig>;

/**
 * The built-in task's sizes (its base model is a 1M-weight GPT-2): a small LoRA, a higher
 * learning rate, and about three epochs over the top 10% of its ~12,000-sample pool, which fits
 * two CPU cores. Applied under whatever the config sets when it names a task.
 */
export const SOUPS_BUILT_IN_TASK_DEFAULTS = {
  training: { steps: 200, batchSize: 16, lr: 2e-3, schedule: 'linear', warmupSteps: 10, weightDecay: 0.01, maxGradNorm: 1, seed: 0, lora: { rank: 16, alpha: 32 } },
  evaluation: { enabled: true, maxNewTokens: 32, temperature: 1.0, topP: 0.9, seed: 0 },
} as const;

/** Validates `input` (every problem listed at once), with the built-in task's sizes under a task config. */
export function resolveSoupsConfig(input: unknown): SoupsConfig {
  return parseConfig(soupsConfig, withTaskDefaults(input, SOUPS_BUILT_IN_TASK_DEFAULTS), 'Rewarded Soups');
}
