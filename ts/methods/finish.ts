// The end of every method's run: policies.json (the contract with the evaluation, ts/eval/policies.ts)
// with the run's inputs and training time, then the evaluation on the test prompts as a resumable step.
import { EVAL_FILES, evaluateRun, POLICIES_FILE, type PoliciesFile } from '../eval/index.js';
import { writeTextAtomic } from '../util/atomic-file.js';
import type { EvaluationConfig } from './common-config.js';
import { type MethodEventOf, type MethodHooks, stepReporter } from './events.js';
import type { MethodInputs } from './inputs.js';
import type { RunFolder, StepRecord } from './run-folder.js';

/** The name of the evaluation step (its time is not training time). */
export const EVALUATE_STEP = 'evaluate';

/**
 * Seconds the run's finished steps took, the evaluation left out: wall clock (steps that ran at
 * the same time, as parallel jobs do, count once), or the CPU or GPU seconds of them all.
 */
export function trainSeconds(run: RunFolder, clock: 'wall' | 'cpu' | 'gpu' = 'wall'): number {
  const train = Object.entries(run.records)
    .filter(([k]) => !k.startsWith(EVALUATE_STEP))
    .map(([, r]) => r);
  if (clock === 'wall') return elapsedSeconds(train);
  return train.reduce((s, r) => s + ((clock === 'cpu' ? r.cpuSeconds : r.gpuSeconds) ?? 0), 0);
}

/**
 * The wall-clock seconds `steps` cover: the length of the union of their [start, finish]
 * intervals. A step that overlaps no other adds its own `seconds` exactly, so steps run one after
 * another sum as before.
 */
export function elapsedSeconds(steps: readonly Pick<StepRecord, 'seconds' | 'finishedAt'>[]): number {
  const spans = steps.map((r) => ({ end: Date.parse(r.finishedAt), seconds: r.seconds })).map((r) => ({ ...r, start: r.end - r.seconds * 1000 }));
  spans.sort((a, b) => a.start - b.start);
  let total = 0;
  for (let i = 0; i < spans.length; ) {
    let end = spans[i].end;
    let j = i + 1;
    while (j < spans.length && spans[j].start < end) end = Math.max(end, spans[j++].end);
    total += j === i + 1 ? spans[i].seconds : (end - spans[i].start) / 1000;
    i = j;
  }
  return total;
}

/** What a method says in policies.json: its name, its policies, and any fields of its own. */
export type MethodPolicies = Pick<PoliciesFile, 'method' | 'policies'> & Partial<PoliciesFile> & Record<string, unknown>;

/**
 * Writes `policies.json` (rewritten on every run: it only names what the steps made): the
 * method's policies with the inputs' objectives, task and scorers of objectives that are not
 * built in, preferenceInput false, the run's trainSeconds, then the method's own fields.
 */
export async function writePolicies<T extends MethodPolicies>(run: RunFolder, inputs: MethodInputs, own: T): Promise<PoliciesFile & T> {
  const { method, policies, ...rest } = own;
  const file = {
    method,
    objectives: inputs.objectives,
    ...(inputs.task !== undefined && { task: inputs.task }),
    policies,
    preferenceInput: false,
    trainSeconds: trainSeconds(run),
    trainCpuSeconds: trainSeconds(run, 'cpu'),
    trainGpuSeconds: trainSeconds(run, 'gpu'),
    ...(inputs.scorers !== undefined && { scorers: inputs.scorers }),
    ...rest,
  };
  await writeTextAtomic(run.path(POLICIES_FILE), `${JSON.stringify(file, null, 2)}\n`);
  return file as PoliciesFile & T; // own's fields, all of them there
}

/** Evaluates the run (evaluateRun on its policies.json) unless disabled or already done. */
export async function evaluateStep(run: RunFolder, testPrompts: string, e: EvaluationConfig, hooks: MethodHooks<MethodEventOf<'step' | 'evaluate'>> = {}): Promise<void> {
  if (!e.enabled) return;
  await run.step(EVALUATE_STEP, [EVAL_FILES.record], async () => {
    stepReporter(hooks)(EVALUATE_STEP, 'evaluating every preference on the test prompts');
    await evaluateRun(run.dir, {
      prompts: testPrompts,
      limit: e.limit,
      maxNewTokens: e.maxNewTokens,
      temperature: e.temperature,
      topP: e.topP,
      seed: e.seed,
      signal: hooks.signal,
      onProgress: (progress) => hooks.onProgress?.({ kind: 'evaluate', progress }),
    });
  });
}
