// The plain SFT baseline (the "SFT" of the ParetoHqD paper's Fig. 1): one model fine-tuned on the
// whole pool with plain prompts, blind to any preference. Its policies.json lists that one model
// under every preference of the grid, so the evaluation measures it with the same protocol and its
// "front" is one point repeated: the reference the preference-aware methods should move away from.
//
//   train     SFT of the base model on every pool sample (adapter in model/)
//   policies  every ω → the same model
//   evaluate  method-agnostic (ts/eval)
import { readScoredDataset } from '../../data/dataset.js';
import type { PoliciesFile } from '../../eval/index.js';
import { resolvePreferences } from '../common-config.js';
import { type MethodHooks, stepReporter } from '../events.js';
import { evaluateStep, writePolicies } from '../finish.js';
import { resolveInputs } from '../inputs.js';
import { RunFolder } from '../run-folder.js';
import { textPairs, trainedMarker, trainedPolicy, trainPolicy, writeTrainCurves } from '../train-policy.js';
import { resolveSftBaselineConfig, type SftBaselineConfig, type SftBaselineConfigInput } from './config.js';

/** The trained model's folder, relative to the run folder. */
export const SFT_MODEL_DIR = 'model';

export class SftBaseline {
  readonly config: SftBaselineConfig;
  readonly run: RunFolder;

  /** Validates `config` (every problem at once) and opens the run folder `dir`. */
  constructor(config: SftBaselineConfigInput, dir: string, options: { overwrite?: boolean } = {}) {
    this.config = resolveSftBaselineConfig(config);
    this.run = RunFolder.open(dir, 'sft', this.config, options);
  }

  /** Runs (or finishes) every step; returns the policies file written for the evaluation. */
  async runAll(hooks: MethodHooks = {}): Promise<PoliciesFile> {
    const { config: c, run } = this;
    const inputs = resolveInputs(c);
    const say = stepReporter(hooks);
    const grid = resolvePreferences(c.preferences, inputs.objectives.length);

    await run.step('train', [trainedMarker(SFT_MODEL_DIR)], async () => {
      const { dataset: pool } = await readScoredDataset(inputs.pool, { objectives: inputs.objectives });
      say('train', `SFT on the whole pool: ${pool.size} samples`);
      await trainPolicy(run, {
        base: inputs.baseModel,
        data: textPairs(pool.samples),
        out: SFT_MODEL_DIR,
        training: c.training,
        signal: hooks.signal,
        onProgress: (progress) => hooks.onProgress?.({ kind: 'train', name: 'sft', index: 0, of: 1, progress }),
      });
    });

    await writeTrainCurves(run, [{ name: 'sft', out: SFT_MODEL_DIR }]);
    const policies = await writePolicies(run, inputs, {
      method: 'sft',
      policies: grid.map((preference) => ({ preference, ...trainedPolicy(inputs.baseModel, SFT_MODEL_DIR, c.training) })),
    });
    await evaluateStep(run, inputs.testPrompts, c.evaluation, hooks);
    return policies;
  }
}
