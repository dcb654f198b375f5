// Panacea's SVD-LoRA through the TypeScript engine: preference checks, the default targets, save and
// load with the objective names, refusals of another base model, and generation with one λ (merged)
// or one λ per prompt (unmerged). The layer's maths is tested in C++ (native/tests/engine_tests.cpp).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureModelDir } from '../helpers/engine-fixtures.js';
import { CausalLM, preferenceRows, tokenBatch, Trainer } from '../../ts/engine/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-svd-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let gpt2Dir: string;
let llamaDir: string;
beforeAll(async () => {
  gpt2Dir = await fixtureModelDir('gpt2', tmp);
  llamaDir = await fixtureModelDir('llama', tmp);
});

const prompts = ['Question: why? ', 'Say hi: ', 'Count: '];

/** Trained-looking adapters: random U, V, σ, s written through the parameters' zero-copy views. */
function randomise(lm: CausalLM, seed: number): void {
  let state = seed >>> 0;
  const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  for (const name of lm.native.parameterNames(true)) {
    const scale = name.endsWith('svd_lora_s') ? 2 : name.endsWith('svd_lora_sigma') ? 1 : 0.2;
    const values = lm.native.parameter(name).toArray() as Float32Array;
    for (let i = 0; i < values.length; i++) values[i] = uniform() * scale;
  }
}

function logits(lm: CausalLM): Float32Array {
  const b = tokenBatch(prompts.map((p) => ({ ids: lm.tokenizer.encodePrompt(p), labels: lm.tokenizer.encodePrompt(p).map(() => -100) })), lm.padId);
  return lm.native.logits(b.ids, b.mask).toArray() as Float32Array;
}

function baseWeights(lm: CausalLM): Map<string, Float32Array> {
  return new Map(lm.native.parameterNames(false).filter((n) => !n.startsWith('base_model.')).map((n) => [n, Float32Array.from(lm.native.parameter(n).toArray() as Float32Array)]));
}
function sameBits(lm: CausalLM, kept: Map<string, Float32Array>): boolean {
  for (const [name, w] of kept) {
    const now = lm.native.parameter(name).toArray() as Float32Array;
    if (!Buffer.from(now.buffer, now.byteOffset, now.byteLength).equals(Buffer.from(w.buffer))) return false;
  }
  return true;
}

describe('SVD-LoRA', () => {
  it('checks preferences in TS: length, sign, NaN, simplex, normalised only when asked', async () => {
    expect(preferenceRows([0.25, 0.75], 2)).toEqual([[0.25, 0.75]]);
    expect(preferenceRows([[1, 0], [0.5, 0.5]], 2)).toHaveLength(2);
    expect(() => preferenceRows([0.5, 0.5], 3)).toThrow(RangeError);
    expect(() => preferenceRows([0.5, 0.5], 3)).toThrow(/3 objectives/);
    expect(() => preferenceRows([1.5, -0.5], 2)).toThrow(/>= 0/);
    expect(() => preferenceRows([Number.NaN, 1], 2)).toThrow(/finite/);
    expect(() => preferenceRows([2, 2], 2)).toThrow(/sums to 4/);
    expect(() => preferenceRows([[1, 0], [2, 2]], 2)).toThrow(/preference 1/);
    expect(preferenceRows([2, 6], 2, { normalise: true })).toEqual([[0.25, 0.75]]);
    expect(() => preferenceRows([0, 0], 2, { normalise: true })).toThrow(RangeError);
    expect(() => preferenceRows([-1, 2], 2, { normalise: true })).toThrow(/>= 0/);

    using lm = await CausalLM.load(gpt2Dir);
    expect(lm.preferenceDim).toBe(0);
    expect(() => lm.setPreference([1, 0])).toThrow(/no SVD-LoRA/);
    lm.addSvdLora({ m: 2, k: 2, alpha: 8 });
    expect(lm.preferenceDim).toBe(2);
    expect(lm.hasAdapter).toBe(true);
    // default targets: GPT-2's four projections per block, 4 tensors each; λ is no parameter
    const trainable = lm.native.parameterNames(true);
    expect(trainable).toHaveLength(4 * 4 * lm.info.config.numLayers);
    expect(trainable.every((n) => /\.svd_lora_(U|V|sigma|s)$/.test(n))).toBe(true);
    expect(() => lm.setPreference([0.2, 0.2])).toThrow(RangeError);
    lm.setPreference([2, 2], { normalise: true });
    // the native layer checks too (bypassing TS)
    expect(() => lm.native.setPreference([0.6, 0.6], 2)).toThrow(/sums to/);
    expect(() => lm.native.setPreference([1, 0, 0], 3)).toThrow(/m = 2/);
  });

  it('refuses targets that match nothing, naming the model’s projections', async () => {
    using lm = await CausalLM.load(llamaDir);
    expect(() => lm.addSvdLora({ m: 2, targetModules: ['q_proj', 'c_attn'] })).toThrow(/c_attn.*self_attn\.q_proj|self_attn\.q_proj.*c_attn/s);
    expect(lm.hasAdapter).toBe(false);
    lm.addSvdLora({ m: 2, k: 2 });
    expect(lm.native.parameterNames(true)).toHaveLength(4 * 7 * lm.info.config.numLayers);
  });

  it('starts at the base model, saves and loads exactly, and refuses another base model', async () => {
    using lm = await CausalLM.load(gpt2Dir);
    const base = logits(lm);
    const fp = lm.fingerprint();
    expect(fp).toMatch(/^[0-9a-f]{16}$/);
    lm.addSvdLora({ m: 3, k: 2, alpha: 8, seed: 4 });
    lm.setPreference([0.2, 0.3, 0.5]);
    expect(logits(lm)).toEqual(base);  // σ = s = 0: ΔW(λ) = 0 for every λ
    randomise(lm, 9);
    lm.setPreference([[1, 0, 0], [0.2, 0.3, 0.5], [0, 0, 1]]);
    const want = logits(lm);
    expect(want).not.toEqual(base);
    const file = join(tmp, 'svd', 'adapter.safetensors');
    expect(() => lm.saveSvdLora(file, { objectives: ['helpful'] })).toThrow(/m = 3/);
    lm.saveSvdLora(file, { objectives: ['helpful', 'harmless', 'concise'] });

    using again = await CausalLM.load(gpt2Dir);
    const info = again.loadSvdLora(file);
    expect(info).toEqual({ k: 2, m: 3, alpha: 8, targetModules: ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'], objectives: ['helpful', 'harmless', 'concise'], fingerprint: fp, init: 'zeroDiag', dropout: 0 });
    again.setPreference([[1, 0, 0], [0.2, 0.3, 0.5], [0, 0, 1]]);
    expect(logits(again)).toEqual(want);

    using other = await CausalLM.fromScratch(gpt2Dir, { seed: 3 });
    expect(() => other.loadSvdLora(file)).toThrow(new RegExp(`trained on base model ${fp.slice(0, 12)}, this model is ${other.fingerprint().slice(0, 12)}`));
    using llama = await CausalLM.load(llamaDir);
    expect(() => llama.loadSvdLora(file)).toThrow(/gpt2 model, this model is llama/);
    const bytes = readFileSync(file);
    writeFileSync(join(tmp, 'short.safetensors'), bytes.subarray(0, bytes.length - 64));
    using fresh = await CausalLM.load(gpt2Dir);
    expect(() => fresh.loadSvdLora(join(tmp, 'short.safetensors'))).toThrow(/truncated/);
    expect(fresh.hasAdapter).toBe(false);
  });

  // The maths (dropout's masks, the regulariser's gradient) is checked in C++ (svd_lora_dropout,
  // svd_lora_orth_reg); here the options' path through TS.
  it('dropout is saved with the adapter; orthRegWeight adds w·Σ(‖UᵀU − I‖² + ‖VᵀV − I‖²) to the step loss, and needs SVD-LoRA', async () => {
    using lm = await CausalLM.load(gpt2Dir);
    expect(() => lm.addSvdLora({ m: 2, k: 2, dropout: 1 })).toThrow(/dropout must lie in \[0, 1\)/);
    lm.addSvdLora({ m: 2, k: 2, alpha: 8, seed: 1, dropout: 0.25 });
    const file = join(tmp, 'dropout', 'adapter.safetensors');
    lm.saveSvdLora(file, { objectives: ['a', 'b'] });
    using again = await CausalLM.load(gpt2Dir);
    expect(again.loadSvdLora(file).dropout).toBe(0.25);

    // the same start, one step, with w = 0 and w = 0.5: the step losses differ by w·reg0
    randomise(again, 4);
    const start = new Map(again.native.parameterNames(true).map((n) => [n, Float32Array.from(again.native.parameter(n).toArray() as Float32Array)]));
    let reg0 = 0;  // Σ ‖FᵀF − I‖²_F over every U (out, r) and V (in, r), in float64
    for (const [name, f] of start) {
      if (!name.endsWith('svd_lora_U') && !name.endsWith('svd_lora_V')) continue;
      const r = 4;
      const rows = f.length / r;
      for (let i = 0; i < r; i++)
        for (let j = 0; j < r; j++) {
          let g = 0;
          for (let t = 0; t < rows; t++) g += f[t * r + i] * f[t * r + j];
          reg0 += (g - (i === j ? 1 : 0)) ** 2;
        }
    }
    const items = [{ prompt: 'Say hi: ', chosen: 'hi there', labels: [1, 0.5] }, { prompt: 'Count: ', chosen: 'one two', labels: [0, 1] }];
    const stepLoss = async (orthRegWeight: number) => {
      for (const [name, f] of start) (again.native.parameter(name).toArray() as Float32Array).set(f);
      const trainer = new Trainer(again, { steps: 1, batchSize: 2, lr: 1e-3, seed: 3 });
      return (await trainer.fitPreference(items, { objective: 'sft', fixedPreference: [0.3, 0.7], orthRegWeight })).losses[0];
    };
    const plain = await stepLoss(0);
    const regularised = await stepLoss(0.5);
    expect(regularised - plain).toBeCloseTo(0.5 * reg0, 3);

    using lora = await CausalLM.load(gpt2Dir);
    lora.addLora({ targets: ['attn.c_attn'], rank: 2 });
    await expect(new Trainer(lora, { steps: 1, batchSize: 1 }).fitPreference([{ prompt: 'Say hi: ', chosen: 'hi', labels: [1] }], { objective: 'sft', orthRegWeight: 0.1 }))
      .rejects.toThrow(/no SVD-LoRA/);
  });

  it('the fingerprint is the same for float32 and bfloat16 loads of one checkpoint', async () => {
    using f32 = await CausalLM.load(llamaDir);
    using bf16 = await CausalLM.load(llamaDir, { dtype: 'bfloat16' });
    using gpt2 = await CausalLM.load(gpt2Dir);
    expect(bf16.fingerprint()).toBe(f32.fingerprint());
    expect(gpt2.fingerprint()).not.toBe(f32.fingerprint());
  });

  for (const model of ['gpt2', 'llama'] as const) {
    it(`${model}: generation with one λ (merged) equals the same λ per prompt alone, and per-prompt λ equals each prompt alone; W0 restored bit for bit`, async () => {
      using lm = await CausalLM.load(model === 'gpt2' ? gpt2Dir : llamaDir);
      const w0 = baseWeights(lm);
      lm.addSvdLora({ m: 2, k: 2, alpha: 8, seed: 1 });
      randomise(lm, 5);
      const lambdas = [[0.9, 0.1], [0, 1], [0.5, 0.5]];
      const opts = { maxNewTokens: 6 };
      const shared = await lm.generate(prompts, { ...opts, preference: lambdas[0] });
      expect(sameBits(lm, w0)).toBe(true);
      const perRow = await lm.generate(prompts, { ...opts, preference: lambdas });
      expect(sameBits(lm, w0)).toBe(true);
      for (let i = 0; i < prompts.length; i++) {
        // alone, with a one-row per-prompt list: one prompt, one λ → merged path
        const [aloneShared] = await lm.generate([prompts[i]], { ...opts, preference: [lambdas[0]] });
        const [aloneOwn] = await lm.generate([prompts[i]], { ...opts, preference: lambdas[i] });
        expect(shared[i].tokenIds).toEqual(aloneShared.tokenIds);
        expect(perRow[i].tokenIds).toEqual(aloneOwn.tokenIds);
      }
      expect(perRow.map((g) => g.tokenIds)).not.toEqual(shared.map((g) => g.tokenIds));
      await expect(lm.generate(prompts, { ...opts, preference: [[1, 0], [0, 1]] })).rejects.toThrow(/2 preference rows for 3 prompts/);
      await expect(lm.generate(prompts, { ...opts, preference: [0.5, 0.6] })).rejects.toThrow(RangeError);
      expect(sameBits(lm, w0)).toBe(true);
    });
  }
});
