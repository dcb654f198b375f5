// The demo's per-method configs: --seed sets the training seed of every method (over --quick's
// sizes too) and every method's schema takes it; the default seed leaves the configs as they were.
import { describe, expect, it } from 'vitest';
import { DEMO_METHODS, demoDevice, methodConfig } from '../../ts/demo/demo.js';
import { resolvePanaceaConfig } from '../../ts/methods/panacea/index.js';
import { resolveParetoHqdConfig } from '../../ts/methods/paretohqd/index.js';
import { resolveRicConfig } from '../../ts/methods/ric/index.js';
import { resolveSftBaselineConfig } from '../../ts/methods/sft/index.js';
import { resolveSoupsConfig } from '../../ts/methods/soups/index.js';

const resolve = { paretohqd: resolveParetoHqdConfig, panacea: resolvePanaceaConfig, ric: resolveRicConfig, soups: resolveSoupsConfig, sft: resolveSftBaselineConfig };

describe('demo method configs', () => {
  it.each(DEMO_METHODS)('%s: seed 0 keeps the plain config; another seed reaches the resolved training seed, quick sizes kept', (method) => {
    expect(methodConfig(method, 'task', false, 2, 0)).toEqual({ task: 'task' });
    const full = resolve[method](methodConfig(method, 'task', false, 2, 7));
    const plain = resolve[method](methodConfig(method, 'task', false, 2, 0));
    expect(full.training.seed).toBe(7);
    expect({ ...full.training, seed: 0 }).toEqual(plain.training);
    const quick = resolve[method](methodConfig(method, 'task', true, 2, 7));
    const quickPlain = resolve[method](methodConfig(method, 'task', true, 2, 0));
    expect(quick.training.seed).toBe(7);
    expect({ ...quick.training, seed: 0 }).toEqual(quickPlain.training);
  });
});

describe('demo device', () => {
  it('is CUDA only when --gpu asks for it and libtorch has it; a missing GPU is said, not an error', () => {
    expect(demoDevice(false, false)).toEqual({ device: 'cpu' });
    expect(demoDevice(false, true)).toEqual({ device: 'cpu' });
    expect(demoDevice(true, true)).toEqual({ device: 'cuda' });
    expect(demoDevice(true, false)).toEqual({ device: 'cpu', notice: '--gpu: this libtorch has no CUDA device; running on the CPU' });
  });
});
