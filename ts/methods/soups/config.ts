// Rewarded Soups' options (design: ../shared/design/paretohqd.md §10–11). The resolved config is
// stored with the run; every default is documented here.
import { z } from 'zod';

export const soupsConfig = z
  .object({
    /** A built-in task folder (moalign task build): the pool, base model, prompts and objectives. */
    task: z.string().optional(),
    /** Or the data spelled out. */
    data: z
      .object({
        /** Scored samples (JSONL or Parquet) the experts are trained on. */
        pool: z.string(),
        /** Held-out prompts for the evaluation. */
        testPrompts: z.string(),
        /** The base model folder (Hugging Face layout): every expert starts from it. */
        baseModel: z.string(),
        /** Objective specs in pool order (built-in names, NAME=rm:DIR, NAME=fn:FILE). */
        objectives: z.array(z.string()).min(2),
      })
      .optional(),
    /** A grid spec (grid:11, paretohqd, ric13, dasDennis:H) or explicit preference vectors. Default: grid:11 (m = 2), paretohqd (m = 3). */
    preferences: z.union([z.string(), z.array(z.array(z.number()))]).optional(),
    /**
     * How each objective's expert is trained from the base model. Default: "dpo" when the pool
     * holds response pairs (every group of two responses to one prompt; each pair reordered by the
     * expert's reward, ties dropped), else "sftTop" (SFT on the top `topFraction` of the pool by
     * that reward). The design's "ppo" (online) is not offered. "dpo" is not available yet: the
     * engine has no DPO training loop.
     */
    expertTrainer: z.enum(['sftTop', 'dpo']).optional(),
    /** sftTop: the share of the pool, best first by the expert's reward, it trains on. Default 0.1. */
    topFraction: z.number().gt(0).max(1).default(0.1),
    /**
     * "merged" (default): W(ω) = W₀ + Σ ω_i (α/r) B_i A_i, which for experts sharing W₀ equals
     * averaging the full weights θ(ω) = Σ ω_i θ_i. "factors" averages A and B separately and is NOT
     * weight interpolation ((Σ ω_i B_i)(Σ ω_j A_j) ≠ Σ ω_i B_i A_i); kept to mimic factor-wise soups.
     * Full fine-tuned experts (lora: false) are always averaged weight by weight.
     */
    interpolation: z.enum(['merged', 'factors']).default('merged'),
    training: z
      .object({
        /** Optimiser steps per expert. */
        steps: z.number().int().positive().default(200),
        batchSize: z.number().int().positive().default(8),
        lr: z.number().positive().default(1.414e-4),
        schedule: z.enum(['linear', 'cosine', 'constant']).default('linear'),
        warmupSteps: z.number().int().nonnegative().default(0),
        weightDecay: z.number().nonnegative().default(0.01),
        maxGradNorm: z.number().nonnegative().default(1),
        seed: z.number().int().nonnegative().default(0),
        /** LoRA (RiC's r 64, α 128; dropout is not supported and is 0), or false for full fine-tuning. */
        lora: z
          .union([z.literal(false), z.object({ rank: z.number().int().positive(), alpha: z.number().positive(), targets: z.array(z.string()).optional() })])
          .default({ rank: 64, alpha: 128 }),
      })
      .default({ steps: 200, batchSize: 8, lr: 1.414e-4, schedule: 'linear', warmupSteps: 0, weightDecay: 0.01, maxGradNorm: 1, seed: 0, lora: { rank: 64, alpha: 128 } }),
    /** Dtype of the interpolated model folders. Default float32 (the dtype experts are trained and merged in). */
    saveDtype: z.enum(['float32', 'bfloat16', 'float16']).optional(),
    evaluation: z
      .object({
        enabled: z.boolean().default(true),
        maxNewTokens: z.number().int().positive().default(128),
        temperature: z.number().positive().default(1.0),
        topP: z.number().gt(0).max(1).default(0.9),
        seed: z.number().int().nonnegative().default(0),
        /** Evaluate on the first N test prompts only. */
        limit: z.number().int().positive().optional(),
      })
      .default({ enabled: true, maxNewTokens: 128, temperature: 1.0, topP: 0.9, seed: 0 }),
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
  const raw = (input ?? {}) as Record<string, unknown>;
  const withDefaults =
    typeof raw.task === 'string'
      ? {
          ...raw,
          training: { ...SOUPS_BUILT_IN_TASK_DEFAULTS.training, ...(raw.training as object) },
          evaluation: { ...SOUPS_BUILT_IN_TASK_DEFAULTS.evaluation, ...(raw.evaluation as object) },
        }
      : raw;
  const parsed = soupsConfig.safeParse(withDefaults);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `  ${i.path.length > 0 ? i.path.join('.') : '(config)'}: ${i.message}`);
  // checks across fields, on the input, so that they are listed with the others
  if ((raw.task === undefined) === (raw.data === undefined)) problems.push('  (config): give exactly one of "task" (a built-in task folder) or "data"');
  if (raw.expertTrainer === 'dpo') problems.push(`  expertTrainer: ${DPO_NOT_AVAILABLE}`);
  if (raw.interpolation === 'factors' && (raw.training as { lora?: unknown } | undefined)?.lora === false)
    problems.push('  interpolation: "factors" averages LoRA factors; with full fine-tuning (training.lora false) use "merged"');
  if (!parsed.success || problems.length > 0) throw new Error(`the Rewarded Soups config is not valid:\n${problems.join('\n')}`);
  return parsed.data;
}

/** Why expertTrainer "dpo" is refused. */
export const DPO_NOT_AVAILABLE =
  '"dpo" is not available yet: the engine has a DPO loss but no DPO training loop. Use "sftTop" (SFT on the top topFraction of the pool by each objective)';
