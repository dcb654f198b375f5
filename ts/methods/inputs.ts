// The data a method's run works on, the same for every method: a built-in task folder (moalign
// task build) or the files spelled out in the config's `data`; and the run's scorers.
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Sample, ScoredDataset } from '../data/records.js';
import { builtinScorers, parseObjectiveSpecs, resolveScorers, type Scorer, scoreSamples } from '../data/scorers/index.js';
import { readTaskManifest, TASK_FILES } from '../task/build.js';
import type { MethodEventOf, MethodHooks } from './events.js';

/** A config's `data`: the files a run needs when it names no built-in task. */
export const dataConfig = z.object({
  /** Scored samples (JSONL or Parquet): the training pool. */
  pool: z.string(),
  /**
   * Prompts (PromptRecord JSONL) the models answer while training: needed by ParetoHqD (stage 2)
   * and by RiC's online stage (their configs say so when it is missing); Rewarded Soups and the
   * SFT baseline do not read it.
   */
  trainPrompts: z.string().optional(),
  /** Held-out prompts for the evaluation. */
  testPrompts: z.string(),
  /** The base model folder (Hugging Face layout). */
  baseModel: z.string(),
  /** Objective specs in pool order (built-in names, NAME=rm:DIR, NAME=fn:FILE). */
  objectives: z.array(z.string()).min(2),
});
export type DataConfig = z.output<typeof dataConfig>;

/** The resolved inputs of a run; every path absolute. */
export interface MethodInputs {
  objectives: string[];
  /** What scores each objective (resolveScorers' specs, or built-in names). */
  scorerSpecs: string[];
  /** The scorers of objectives that are not built in, as policies.json's `scorers` (name → "rm:DIR" or "fn:FILE", absolute). */
  scorers?: Record<string, string>;
  pool: string;
  /** Absent when `data` gives none (see trainPromptsOf). */
  trainPrompts?: string;
  testPrompts: string;
  baseModel: string;
  /** The task folder, when the run is on one (its policies.json names it). */
  task?: string;
}

/** The inputs of a config that gives exactly one of `task` and `data` (its schema checks that). */
export function resolveInputs(config: { task?: string; data?: DataConfig }): MethodInputs {
  if (config.task !== undefined) {
    const task = resolve(config.task);
    const objectives = readTaskManifest(task).objectives.map((o) => o.name);
    return {
      task,
      objectives,
      scorerSpecs: objectives,
      pool: join(task, TASK_FILES.pool),
      trainPrompts: join(task, TASK_FILES.trainPrompts),
      testPrompts: join(task, TASK_FILES.testPrompts),
      baseModel: join(task, TASK_FILES.baseModel),
    };
  }
  if (config.data === undefined) throw new Error('the config gives neither "task" nor "data"');
  const d = config.data;
  const specs = parseObjectiveSpecs(d.objectives);
  const custom = specs.flatMap((s) => (s.kind === 'rm' ? [[s.name, `rm:${resolve(s.dir)}`]] : s.kind === 'fn' ? [[s.name, `fn:${resolve(s.file)}`]] : []));
  return {
    objectives: specs.map((s) => s.name),
    scorerSpecs: d.objectives,
    ...(custom.length > 0 && { scorers: Object.fromEntries(custom) as Record<string, string> }),
    pool: resolve(d.pool),
    ...(d.trainPrompts !== undefined && { trainPrompts: resolve(d.trainPrompts) }),
    testPrompts: resolve(d.testPrompts),
    baseModel: resolve(d.baseModel),
  };
}

/** The training prompts, for a method that answers them (its config has checked that `data` gives them). */
export function trainPromptsOf(inputs: MethodInputs): string {
  if (inputs.trainPrompts === undefined) throw new Error('the config\'s "data" gives no "trainPrompts" (the prompts the models answer while training)');
  return inputs.trainPrompts;
}

/** One scorer per objective, in order; the caller disposes them. */
export async function inputScorers(inputs: MethodInputs): Promise<Scorer[]> {
  if (inputs.scorerSpecs.every((s) => s in builtinScorers)) return inputs.scorerSpecs.map((s) => builtinScorers[s]());
  return resolveScorers(parseObjectiveSpecs(inputs.scorerSpecs));
}

/** Scores `samples` with the run's scorers (disposed after), reporting "score" events. */
export async function scoreWithInputs(inputs: MethodInputs, samples: Sample[], hooks: MethodHooks<MethodEventOf<'score'>>): Promise<ScoredDataset> {
  const scorers = await inputScorers(inputs);
  try {
    return await scoreSamples(samples, scorers, { signal: hooks.signal, onProgress: (p) => hooks.onProgress?.({ kind: 'score', done: p.done, total: p.total }) });
  } finally {
    for (const s of scorers) s.dispose?.();
  }
}
