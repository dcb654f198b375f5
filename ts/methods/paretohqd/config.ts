// ParetoHqD's options (design: ../shared/design/paretohqd.md §11). Every unknown of the paper is an
// option with the design doc's default, and the resolved config is stored with the run.
import { z } from 'zod';
import { evaluationConfig, inputFields, parseConfig, preferencesField, TASK_OR_DATA, trainingConfig, trainPromptsRequired, withTaskDefaults } from '../common-config.js';

const boundsSchema = z.union([
  z.literal('minmax'),
  z.object({ lowerQuantile: z.number().min(0).max(1), upperQuantile: z.number().min(0).max(1) }).refine((b) => b.lowerQuantile < b.upperQuantile, 'lowerQuantile must be below upperQuantile'),
]);

export const paretoHqdConfig = z
  .object({
    ...inputFields,
    /** The preferences, one model each. Default: grid:11 (m = 2), paretohqd (m = 3). */
    preferences: preferencesField,
    selection: z
      .object({
        k1: z.number().int().positive().default(100),
        k2: z.number().int().positive().default(50),
        bounds: boundsSchema.default('minmax'),
        distance: z.enum(['perpendicular', 'angular']).default('perpendicular'),
        paretoPoolMin: z.number().int().positive().optional(),
        paretoLayers: z.number().int().positive().optional(),
      })
      .prefault({}),
    /** SFT of each stage (its steps are per stage). */
    training: trainingConfig,
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
        /**
         * Bounds of the stage-2 selection (paretohqd.md §6): 'recompute' (default) computes
         * selection.bounds on the stage-2 pool; 'stage1' reuses the stage-1 selection's lo/hi, so
         * both stages measure distances in the same normalised space. Generated rewards may fall
         * outside stage 1's bounds: they are clamped to [0, 1] like rewards beyond quantile bounds.
         * The stage-2 record logs both: its lo/hi (used) and stage1Bounds.
         */
        stage2Bounds: z.enum(['recompute', 'stage1']).default('recompute'),
      })
      .prefault({}),
    evaluation: evaluationConfig,
    /**
     * Jobs at a time: 1 (default) trains the preferences, and lets the representatives answer the
     * augmentation's prompts, one after another in this process; n > 1 runs each stage's trainings,
     * and the representatives' answers, n at a time, each in a child process with
     * MOALIGN_NUM_THREADS = max(1, floor(cores / n)) unless that is set. The models and answers are
     * the same either way, so it is not part of the run's config hash: a run may continue with another n.
     */
    jobs: z.number().int().positive().default(1),
  })
  .refine(...TASK_OR_DATA)
  .refine(...trainPromptsRequired("ParetoHqD's stage 2 answers the training prompts"));

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

/** The config a run folder records and hashes: what decides the results (`jobs` does not). */
export function runConfig(config: ParetoHqdConfig): Omit<ParetoHqdConfig, 'jobs'> {
  const { jobs: _jobs, ...rest } = config;
  return rest;
}

/** Validates `input` (every problem listed at once), with the built-in task's sizes under a task config. */
export function resolveParetoHqdConfig(input: unknown): ParetoHqdConfig {
  return parseConfig(paretoHqdConfig, withTaskDefaults(input, BUILT_IN_TASK_DEFAULTS), 'ParetoHqD');
}
