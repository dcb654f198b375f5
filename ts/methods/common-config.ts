// Config pieces every method shares (ParetoHqD, RiC, Rewarded Soups, the plain SFT baseline): where
// the data is, the preference grid, the training and the evaluation, with the design's defaults
// (../shared/design/paretohqd.md §7, §8, §11), and the parsing that lists every problem at once.
import { z } from 'zod';
import { checkPreferences, defaultPreferences, parsePreferences } from '../moo/index.js';
import { dataConfig } from './inputs.js';

/** Exactly one of `task` and `data`; refine a schema that has both with it. */
export const TASK_OR_DATA = [(c: { task?: unknown; data?: unknown }) => (c.task === undefined) !== (c.data === undefined), 'give exactly one of "task" (a built-in task folder) or "data"'] as const;

/**
 * Under `data`, `trainPrompts` is needed (when `when` holds) by a method that answers them while
 * it trains; refine a schema with it: `.refine(...trainPromptsRequired('why'))`.
 */
export function trainPromptsRequired<C = unknown>(why: string, when: (config: C) => boolean = () => true): [(config: C & { data?: { trainPrompts?: string } }) => boolean, { path: string[]; message: string }] {
  return [(c) => c.data === undefined || c.data.trainPrompts !== undefined || !when(c), { path: ['data', 'trainPrompts'], message: `missing: ${why}` }];
}

/** The task folder or the data, as a schema shape. */
export const inputFields = {
  /** A built-in task folder (moalign task build): the pool, base model, prompts and objectives. */
  task: z.string().optional(),
  /** Or the data spelled out. */
  data: dataConfig.optional(),
};

/** A grid spec (grid:11, paretohqd, ric13, dasDennis:H) or explicit preference vectors. Default: grid:11 (m = 2), paretohqd (m = 3). */
export const preferencesField = z.union([z.string(), z.array(z.array(z.number()))]).optional();

/** The preferences a config names, checked against m objectives. */
export function resolvePreferences(spec: z.output<typeof preferencesField>, m: number): number[][] {
  return spec === undefined ? defaultPreferences(m) : typeof spec === 'string' ? parsePreferences(spec, m) : checkPreferences(spec, m);
}

/** SFT's optimisation (RiC's offline settings by default; §7, §9.3). */
export const trainingConfig = z
  .object({
    /** Optimiser steps. */
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
  .prefault({});
export type TrainingConfig = z.output<typeof trainingConfig>;

/** The evaluation after training (§8.2: RiC's decoding). */
export const evaluationConfig = z
  .object({
    enabled: z.boolean().default(true),
    maxNewTokens: z.number().int().positive().default(128),
    temperature: z.number().positive().default(1.0),
    topP: z.number().gt(0).max(1).default(0.9),
    seed: z.number().int().nonnegative().default(0),
    /** Evaluate on the first N test prompts only. */
    limit: z.number().int().positive().optional(),
  })
  .prefault({});
export type EvaluationConfig = z.output<typeof evaluationConfig>;

/**
 * `input` with `taskDefaults` under it when it names a built-in task (whose tiny model wants
 * other sizes than the paper's): each object-valued section is merged one level deep, the
 * config's own fields winning.
 */
export function withTaskDefaults(input: unknown, taskDefaults: Record<string, unknown>): Record<string, unknown> {
  const raw = (input ?? {}) as Record<string, unknown>;
  if (typeof raw.task !== 'string') return raw;
  const out: Record<string, unknown> = { ...raw };
  for (const [key, value] of Object.entries(taskDefaults)) {
    const own = raw[key];
    const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
    out[key] = own === undefined ? value : isObject(own) && isObject(value) ? { ...(value as object), ...(own as object) } : own;
  }
  return out;
}

/** Parses `input` with `schema`, or throws one error listing every problem ("the <label> config is not valid: ..."). */
export function parseConfig<T extends z.ZodType>(schema: T, input: unknown, label: string): z.output<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.length > 0 ? i.path.join('.') : '(config)'}: ${i.message}`);
    throw new Error(`the ${label} config is not valid:\n${problems.join('\n')}`);
  }
  return parsed.data;
}
