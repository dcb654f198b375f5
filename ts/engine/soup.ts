// Weight soups: one model made from several fine-tunes of the same initial model by a weighted
// sum of their weights (Wortsman et al. 2022; Rewarded Soups, Ramé et al. 2023). For LoRA experts
// the sum of merged deltas is CausalLM.mergeAdapterFrom; the two functions here average whole
// files: full checkpoints (θ = Σ w_i θ_i) and, factor by factor, adapters.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../native/loader.js';
import { copyModelFiles, readAdapterConfig } from './causal-lm.js';

function checkWeights(dirs: readonly string[], weights: readonly number[]): void {
  if (dirs.length === 0) throw new RangeError('no folders to interpolate');
  if (weights.length !== dirs.length) throw new RangeError(`${weights.length} weights for ${dirs.length} folders`);
  weights.forEach((w, i) => {
    if (!Number.isFinite(w)) throw new RangeError(`weight ${i} is not a finite number: ${w}`);
  });
}

/**
 * Σ_i weights[i] · θ_i over full Hugging Face model folders (fine-tunes of one model: the same
 * tensor names and shapes), written to `out` as a model folder: model.safetensors plus the
 * config and tokenizer files of `dirs[0]`. Stored as each tensor's dtype unless `dtype` is given.
 */
export function interpolateModels(dirs: readonly string[], weights: readonly number[], out: string, options: { dtype?: 'float32' | 'bfloat16' | 'float16' } = {}): void {
  checkWeights(dirs, weights);
  mkdirSync(out, { recursive: true });
  native().interpolateCheckpoints([...dirs], [...weights], 'model', join(out, 'model.safetensors'), options.dtype);
  copyModelFiles(dirs[0], out);
}

/**
 * An adapter whose factors are the weighted sums Σ w_i A_i and Σ w_i B_i of peft LoRA adapters
 * with equal rank, alpha and target modules. This is NOT weight interpolation:
 * (Σ w_i B_i)(Σ w_j A_j) ≠ Σ w_i B_i A_i. It mimics soups that average adapter factors key by key.
 */
export function interpolateAdapterFactors(dirs: readonly string[], weights: readonly number[], out: string): void {
  checkWeights(dirs, weights);
  const configs = dirs.map(readAdapterConfig);
  const key = (c: (typeof configs)[number]) => JSON.stringify([c.rank, c.alpha, [...c.targets].sort()]);
  configs.forEach((c, i) => {
    if (key(c) !== key(configs[0]))
      throw new Error(`${dirs[i]}: rank ${c.rank}, alpha ${c.alpha}, targets ${c.targets.join(',')} differ from ${dirs[0]}'s (${configs[0].rank}, ${configs[0].alpha}, ${configs[0].targets.join(',')}); factors of different adapters cannot be averaged`);
  });
  mkdirSync(out, { recursive: true });
  native().interpolateCheckpoints([...dirs], [...weights], 'adapter_model', join(out, 'adapter_model.safetensors'));
  if (join(dirs[0], 'adapter_config.json') !== join(out, 'adapter_config.json')) copyFileSync(join(dirs[0], 'adapter_config.json'), join(out, 'adapter_config.json'));
}
