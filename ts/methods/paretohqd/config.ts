// ParetoHqD's options (design: ../shared/design/paretohqd.md §11). Every unknown of the paper is an
// option with the design doc's default, and the resolved config is stored with the run.
import { z } from 'zod';

const boundsSchema = z.union([
  z.literal('minmax'),
  z.object({ lowerQuantile: z.number().min(0).max(1), upperQuantile: z.number().min(0).max(1) }).refine((b) => b.lowerQuantile < b.upperQuantile, 'lowerQuantile must be below upperQuantile'),
]);

export const paretoHqdConfig = z
  .object({
    /** A built-in task folder (moalign task build): the pool, base model, prompts and objectives. */
    task: z.string().optional(),
    /** Or the data spelled out. */
    data: z
      .object({
        /** Scored samples (JSONL or Parquet) the stage-1 selection runs on. */
        pool: z.string(),
        /** Prompts (PromptRecord JSONL) the representatives answer for stage 2. */
        trainPrompts: z.string(),
        /** Held-out prompts for the evaluation. */
        testPrompts: z.string(),
        /** The base model folder (Hugging Face layout). */
        baseModel: z.string(),
        /** Objective specs in pool order (built-in names, NAME=rm:DIR, NAME=fn:FILE). */
        objectives: z.array(z.string()).min(2),
      })
      .optional(),
    /** A grid spec (grid:11, paretohqd, ric13, dasDennis:H) or explicit preference vectors. Default: grid:11 (m = 2), paretohqd (m = 3). */
    preferences: z.union([z.string(), z.array(z.array(z.number()))]).optional(),
    selection: z
      .object({
        k1: z.number().int().positive().default(100),
        k2: z.number().int().positive().default(50),
        bounds: boundsSchema.default('minmax'),
        distance: z.enum(['perpendicular', 'angular']).default('perpendicular'),
        paretoPoolMin: z.number().int().positive().optional(),
        paretoLayers: z.number().int().positive().optional(),
      })
      .default({ k1: 100, k2: 50, bounds: 'minmax', distance: 'perpendicular' }),
    training: z
      .object({
        /** Optimiser steps per stage. */
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
    augmentation: z
      .object({
        /** Distinct training prompts every representative answers. */
        prompts: z.number().int().positive().default(10000),
        temperature: z.number().positive().default(0.7),
        topP: z.number().gt(0).max(1).default(0.9),
        maxNewTokens: z.number().int().positive().default(128),
        seed: z.number().int().nonnegative().default(0),
        /** Stage 2 selects from the generated pool plus the original one. */
        stage2IncludeOriginal: z.boolean().default(false),
        /** Bounds of the stage-2 selection: recomputed on its own pool (stage 1's bounds are not supported yet). */
        stage2Bounds: z.literal('recompute').default('recompute'),
      })
      .default({ prompts: 10000, temperature: 0.7, topP: 0.9, maxNewTokens: 128, seed: 0, stage2IncludeOriginal: false, stage2Bounds: 'recompute' }),
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
  })
  .refine((c) => (c.task === undefined) !== (c.data === undefined), 'give exactly one of "task" (a built-in task folder) or "data"');

export type ParetoHqdConfigInput = z.input<typeof paretoHqdConfig>;
export type ParetoHqdConfig = z.output<typeof paretoHqdConfig>;

/**
 * The built-in task's sizes: its base model is a 1M-weight GPT-2, so training uses a small LoRA
 * and a higher learning rate (100 steps of 8 per stage, the paper's batch), and stage 2 answers
 * 1,000 prompts with the task's response length. A full run takes a few minutes on 2 CPU cores.
 * Applied under whatever the config sets when it names a task.
 */
export const BUILT_IN_TASK_DEFAULTS = {
  training: { steps: 100, batchSize: 8, lr: 2e-3, schedule: 'linear', warmupSteps: 10, weightDecay: 0.01, maxGradNorm: 1, seed: 0, lora: { rank: 16, alpha: 32 } },
  augmentation: { prompts: 1000, temperature: 0.7, topP: 0.9, maxNewTokens: 32, seed: 0, stage2IncludeOriginal: false, stage2Bounds: 'recompute' },
  evaluation: { enabled: true, maxNewTokens: 32, temperature: 1.0, topP: 0.9, seed: 0 },
} as const;

/** Validates `input` (every problem listed at once), with the built-in task's sizes under a task config. */
export function resolveParetoHqdConfig(input: unknown): ParetoHqdConfig {
  const raw = (input ?? {}) as Record<string, unknown>;
  const withDefaults =
    typeof raw.task === 'string'
      ? {
          ...raw,
          training: { ...BUILT_IN_TASK_DEFAULTS.training, ...(raw.training as object) },
          augmentation: { ...BUILT_IN_TASK_DEFAULTS.augmentation, ...(raw.augmentation as object) },
          evaluation: { ...BUILT_IN_TASK_DEFAULTS.evaluation, ...(raw.evaluation as object) },
        }
      : raw;
  const parsed = paretoHqdConfig.safeParse(withDefaults);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.length > 0 ? i.path.join('.') : '(config)'}: ${i.message}`);
    throw new Error(`the ParetoHqD config is not valid:\n${problems.join('\n')}`);
  }
  return parsed.data;
}
