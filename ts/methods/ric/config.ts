// RiC's options (design: ../shared/design/paretohqd.md §9, §11), with the design's defaults; the
// resolved config is stored with the run.
import { z } from 'zod';
import { evaluationConfig, inputFields, parseConfig, preferencesField, TASK_OR_DATA, trainingConfig, trainPromptsRequired, withTaskDefaults } from '../common-config.js';
import { GAUSSIAN_DRAWS, RIC_PROMPT_FORMAT } from './prompt.js';

const bound = z.number().refine(Number.isFinite, 'must be finite');
const boundsPair = z.tuple([bound, bound]).refine(([low, high]) => low < high, 'low must be below high');

export const ricConfig = z
  .object({
    ...inputFields,
    /** The preferences evaluated (each a prompt for the one model). Default: grid:11 (m = 2), paretohqd (m = 3). */
    preferences: preferencesField,
    /** How ω becomes target z-scores (§9.4): l2 (RiC's evaluation), linf or linear. */
    targetMapping: z.enum(['l2', 'linf', 'linear']).default('l2'),
    /**
     * The targets' bounds: [low, high] (default ±4.2); "data", each objective's min and max of the
     * training z-scores; "gaussian", RiC's min and max of 50,000 N(0, 1) draws, here seeded
     * (`{ gaussian: { draws, seed } }` to choose).
     */
    targetBounds: z
      .union([
        boundsPair,
        z.literal('data'),
        z.literal('gaussian'),
        z.object({ gaussian: z.object({ draws: z.number().int().min(2).default(GAUSSIAN_DRAWS), seed: z.number().int().nonnegative().default(0) }) }),
      ])
      .default([-4.2, 4.2]),
    /** The score block's text (see prompt.ts); the same at training and in every policy's promptSuffix. */
    promptFormat: z
      .object({
        scoreMarker: z.string().min(1).refine((s) => s.includes('{i}'), 'must contain {i} (the objective number)').default(RIC_PROMPT_FORMAT.scoreMarker),
        responseMarker: z.string().default(RIC_PROMPT_FORMAT.responseMarker),
      })
      .prefault({}),
    /** The offline stage: SFT on every sample of the pool, conditioned on its own scores (§9.3). */
    training: trainingConfig,
    /** The online stage, multi-objective rejection sampling (§9.5); off by default. */
    online: z
      .object({
        /** MORS iterations after the offline stage. RiC's README runs 2. */
        iterations: z.number().int().nonnegative().default(0),
        /** Training prompts answered per iteration (RiC's num_generation_samples); all of them when fewer. */
        prompts: z.number().int().positive().default(20_000),
        /** Goal scores are drawn from U[low, high] (rounded to 0.1), all but the smallest then set to high. */
        goalBounds: boundsPair.default([-4.3, 4.3]),
        temperature: z.number().positive().default(0.7),
        topP: z.number().gt(0).max(1).default(0.9),
        maxNewTokens: z.number().int().positive().default(128),
        /** A sample is kept when some objective's z-score reaches this quantile of its batch. */
        quantile: z.number().min(0).max(1).default(0.7),
        /** Kept original samples used per iteration, drawn at random. */
        originalSamples: z.number().int().positive().default(10_000),
        /** Each iteration continues the adapter: steps at a constant lr. */
        steps: z.number().int().positive().default(4000),
        lr: z.number().positive().default(1e-5),
        seed: z.number().int().nonnegative().default(0),
      })
      .prefault({}),
    evaluation: evaluationConfig,
  })
  .refine(...TASK_OR_DATA)
  .refine(...trainPromptsRequired("RiC's online stage answers the training prompts", (c: { online: { iterations: number } }) => c.online.iterations > 0));

export type RicConfigInput = z.input<typeof ricConfig>;
export type RicConfig = z.output<typeof ricConfig>;

/**
 * The built-in task's sizes, under whatever the config sets when it names a task. Its model is a
 * 1M-weight GPT-2 with a 64-token context: a small LoRA at a higher learning rate; 2,000 steps of
 * 16 (about 2.7 epochs of the ~11,700-sample pool, a few minutes on two cores; at 500 steps the
 * model barely reacts to the targets yet); the task's response length; and short markers: RiC's
 * block takes 29 of the 32 prompt tokens left at generation (43 with three objectives), "<1>" 17.
 */
export const RIC_BUILT_IN_TASK_DEFAULTS = {
  promptFormat: { scoreMarker: '<{i}>', responseMarker: '\n' },
  training: { steps: 2000, batchSize: 16, lr: 2e-3, schedule: 'linear', warmupSteps: 20, weightDecay: 0.01, maxGradNorm: 1, seed: 0, lora: { rank: 16, alpha: 32 } },
  online: { prompts: 2000, maxNewTokens: 32, originalSamples: 2000, steps: 100, lr: 2e-4 },
  evaluation: { enabled: true, maxNewTokens: 32, temperature: 1.0, topP: 0.9, seed: 0 },
} as const;

/** Validates `input` (every problem listed at once), with the built-in task's sizes under a task config. */
export function resolveRicConfig(input: unknown): RicConfig {
  return parseConfig(ricConfig, withTaskDefaults(input, RIC_BUILT_IN_TASK_DEFAULTS), 'RiC');
}
