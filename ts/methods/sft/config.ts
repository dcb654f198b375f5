// The plain SFT baseline's options: the data, the preferences its one model is listed under, the
// training and the evaluation (design: ../shared/design/paretohqd.md §8.4, §11).
import { z } from 'zod';
import { evaluationConfig, inputFields, parseConfig, preferencesField, TASK_OR_DATA, trainingConfig, withTaskDefaults } from '../common-config.js';

export const sftBaselineConfig = z
  .object({
    ...inputFields,
    /** The preferences the model is evaluated under (the same model for each). Default: grid:11 (m = 2), paretohqd (m = 3). */
    preferences: preferencesField,
    /** SFT on every sample of the pool, plain prompts. */
    training: trainingConfig,
    evaluation: evaluationConfig,
  })
  .refine(...TASK_OR_DATA);

export type SftBaselineConfigInput = z.input<typeof sftBaselineConfig>;
export type SftBaselineConfig = z.output<typeof sftBaselineConfig>;

/** The built-in task's sizes: those of RiC's offline stage there (the same data, the same budget). */
export const SFT_BUILT_IN_TASK_DEFAULTS = {
  training: { steps: 2000, batchSize: 16, lr: 2e-3, schedule: 'linear', warmupSteps: 20, weightDecay: 0.01, maxGradNorm: 1, seed: 0, lora: { rank: 16, alpha: 32 } },
  evaluation: { enabled: true, maxNewTokens: 32, temperature: 1.0, topP: 0.9, seed: 0 },
} as const;

/** Validates `input` (every problem listed at once), with the built-in task's sizes under a task config. */
export function resolveSftBaselineConfig(input: unknown): SftBaselineConfig {
  return parseConfig(sftBaselineConfig, withTaskDefaults(input, SFT_BUILT_IN_TASK_DEFAULTS), 'SFT baseline');
}
