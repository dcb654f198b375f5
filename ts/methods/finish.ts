// The end of every method's run: policies.json (the contract with the evaluation, ts/eval/policies.ts)
// with the run's inputs and training time, then the evaluation on the test prompts as a resumable step.
import { EVAL_FILES, evaluateRun, POLICIES_FILE, type PoliciesFile } from '../eval/index.js';
import { writeTextAtomic } from '../util/atomic-file.js';
import type { EvaluationConfig } from './common-config.js';
import { type MethodEventOf, type MethodHooks, stepReporter } from './events.js';
import type { MethodInputs } from './inputs.js';
import type { RunFolder } from './run-folder.js';

/** The name of the evaluation step (its time is not training time). */
export const EVALUATE_STEP = 'evaluate';

/** Seconds the run's finished steps took, the evaluation left out: wall clock, or CPU with `cpu`. */
export function trainSeconds(run: RunFolder, cpu = false): number {
  return Object.entries(cpu ? run.cpuTimings : run.timings)
    .filter(([k]) => !k.startsWith(EVALUATE_STEP))
    .reduce((s, [, v]) => s + v, 0);
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
    trainCpuSeconds: trainSeconds(run, true),
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
