// ParetoHqD's augmentation (../shared/design/paretohqd.md §6): a representative stage-1 model
// answers the shared training prompts, and its cleaned answers are written into a file of the run
// folder. The job is data, so it runs the same in this process or in a child process (jobs.ts):
// the same model, prompts and seeds give the same answers either way.
import { writeTextSamples } from '../../data/dataset.js';
import type { PromptRecord, Sample } from '../../data/records.js';
import { CausalLM } from '../../engine/causal-lm.js';
import { type AnswerOptions, type AnswerProgress, answerPrompts } from '../answer.js';
import type { JobHooks } from '../jobs.js';
import type { RunPaths } from '../run-folder.js';

/** One representative's answers as data (what a child process receives). */
export interface AugmentJob {
  /** The representative: a model folder, with its adapter folder when it is a LoRA (absolute paths). */
  policy: { model: string; adapter?: string };
  preference: number[];
  prompts: PromptRecord[];
  decoding: Pick<AnswerOptions, 'maxNewTokens' | 'temperature' | 'topP' | 'seed'>;
  /** The samples file, relative to the run folder. */
  out: string;
}

/**
 * The representative answers `job.prompts` (empty and degenerate answers dropped) into `run/out`,
 * each answer a generated sample with its provenance; returns how many it kept.
 */
export async function answerForAugmentation(run: RunPaths, job: AugmentJob, hooks: JobHooks<AnswerProgress> = {}): Promise<number> {
  const { policy, preference, prompts } = job;
  using lm = await CausalLM.load(policy.model, policy.adapter === undefined ? {} : { adapter: policy.adapter });
  const answers = await answerPrompts(
    lm,
    prompts.map((p) => p.prompt),
    { ...job.decoding, signal: hooks.signal, onProgress: hooks.onProgress },
  );
  const model = policy.adapter ?? policy.model;
  const tag = preference.map((x) => x.toFixed(3)).join('-');
  const samples = answers.flatMap(({ response, seed }, k): Sample[] => {
    const p = prompts[k];
    return response === undefined ? [] : [{ id: `${p.id}/w${tag}`, prompt: p.prompt, response, reference: p.reference, group: p.id, origin: 'generated', generatedBy: { model, preference, seed } }];
  });
  await writeTextSamples(run.path(job.out), samples, { overwrite: true });
  return samples.length;
}
