// The end of every method's run: policies.json (the contract with the evaluation, ts/eval/policies.ts)
// with the run's training time, then the evaluation on the test prompts as a resumable step.
import { EVAL_FILES, evaluateRun, type EvalProgress, POLICIES_FILE, type PoliciesFile } from '../eval/index.js';
import { writeTextAtomic } from '../util/atomic-file.js';
import type { EvaluationConfig } from './common-config.js';
import type { RunFolder } from './run-folder.js';

/** The name of the evaluation step (its time is not training time). */
export const EVALUATE_STEP = 'evaluate';

/** Seconds the run's finished steps took, the evaluation left out. */
export function trainSeconds(run: RunFolder): number {
  return Object.entries(run.timings)
    .filter(([k]) => !k.startsWith(EVALUATE_STEP))
    .reduce((s, [, v]) => s + v, 0);
}

/** Writes `policies.json` (rewritten on every run: it only names what the steps made) with trainSeconds added. */
export async function writePolicies(run: RunFolder, policies: Omit<PoliciesFile, 'trainSeconds'>): Promise<PoliciesFile> {
  const file: PoliciesFile = { ...policies, trainSeconds: trainSeconds(run) };
  await writeTextAtomic(run.path(POLICIES_FILE), `${JSON.stringify(file, null, 2)}\n`);
  return file;
}

/** Evaluates the run (evaluateRun on its policies.json) unless disabled or already done. */
export async function evaluateStep(
  run: RunFolder,
  testPrompts: string,
  e: EvaluationConfig,
  hooks: { signal?: AbortSignal; onProgress?: (p: EvalProgress) => void; say?: (step: string, message: string) => void } = {},
): Promise<void> {
  if (!e.enabled) return;
  await run.step(EVALUATE_STEP, [EVAL_FILES.record], async () => {
    hooks.say?.(EVALUATE_STEP, 'evaluating every preference on the test prompts');
    await evaluateRun(run.dir, { prompts: testPrompts, limit: e.limit, maxNewTokens: e.maxNewTokens, temperature: e.temperature, topP: e.topP, seed: e.seed, signal: hooks.signal, onProgress: hooks.onProgress });
  });
}
