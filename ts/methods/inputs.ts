// The data a method's run works on, the same for every method: a built-in task folder (moalign
// task build) or the files spelled out in the config's `data`.
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { builtinScorers, parseObjectiveSpecs, resolveScorers, type Scorer } from '../data/scorers/index.js';
import { readTaskManifest, TASK_FILES } from '../task/build.js';

/** A config's `data`: the files a run needs when it names no built-in task. */
export const dataConfig = z.object({
  /** Scored samples (JSONL or Parquet): the training pool. */
  pool: z.string(),
  /** Prompts (PromptRecord JSONL) the models answer while training (ParetoHqD's stage 2, RiC's online stage). */
  trainPrompts: z.string(),
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
  pool: string;
  trainPrompts: string;
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
  return { objectives: specs.map((s) => s.name), scorerSpecs: d.objectives, pool: resolve(d.pool), trainPrompts: resolve(d.trainPrompts), testPrompts: resolve(d.testPrompts), baseModel: resolve(d.baseModel) };
}

/** One scorer per objective, in order; the caller disposes them. */
export async function inputScorers(inputs: MethodInputs): Promise<Scorer[]> {
  if (inputs.scorerSpecs.every((s) => s in builtinScorers)) return inputs.scorerSpecs.map((s) => builtinScorers[s]());
  return resolveScorers(parseObjectiveSpecs(inputs.scorerSpecs));
}
