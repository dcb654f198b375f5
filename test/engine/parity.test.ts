// Parity with Python transformers/peft: fixtures written once by test/fixtures/engine/make_fixtures.py
// (tiny random GPT-2, Llama with GQA, Qwen2 with q/k/v bias, a bf16 copy, a sharded copy, a GPT-2
// reward model and peft LoRA adapters). fp32 logits within 1e-5 relative, loss within 1e-5,
// gradient norms within 1e-4, greedy ids identical.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readModelInfo } from '../../ts/engine/config.js';
import type { NativeCausalLM, NativeTensor } from '../../ts/native/addon.js';
import { native } from '../../ts/native/loader.js';
import { ENGINE_FIXTURES, int64, maxLogitError } from '../helpers/engine-fixtures.js';
import { readSafetensors } from '../helpers/safetensors.js';

const FIX = ENGINE_FIXTURES;
const cases = JSON.parse(readFileSync(join(FIX, 'cases.json'), 'utf8'));
const expected = readSafetensors(join(FIX, 'expected.safetensors'));
const tmp = mkdtempSync(join(tmpdir(), 'moalign-parity-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function load(dir: string): NativeCausalLM {
  const info = readModelInfo(join(FIX, dir));
  return new (native().CausalLM)(join(FIX, dir), info.config);
}
interface TokenBatch {
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
}
const batch: TokenBatch = cases.batch;
const leftBatch: TokenBatch = cases.left_batch;

// max |a - b| / max(1, |b|) over the positions where `mask` (B, T) is 1
const maxRelError = (got: Float32Array, want: Float32Array, mask: number[][], V: number) => maxLogitError(got, want, mask, V, true);

function gradNorm(t: NativeTensor | null): number {
  if (!t) return 0;
  let s = 0;
  for (const x of t.toArray() as Float32Array) s += x * x;
  return Math.sqrt(s);
}

describe.each(['gpt2', 'llama', 'qwen2', 'llama-bf16', 'gpt2-sharded'])('%s against transformers', (name) => {
  const ref = cases.models[name].same_as ?? name;
  const want = cases.models[ref];
  const model = load(cases.models[name].dir);
  afterAll(() => model.dispose());

  it('logits (right and left padding) match within 1e-5', () => {
    const V = cases.vocab_size;
    const right = model.logits(int64(batch.input_ids), int64(batch.attention_mask));
    expect(right.shape).toEqual([3, 12, V]);
    expect(maxRelError(right.toArray() as Float32Array, expected.get(want.tensors.logits)!.data, batch.attention_mask, V)).toBeLessThan(1e-5);
    const left = model.logits(int64(leftBatch.input_ids), int64(leftBatch.attention_mask));
    expect(maxRelError(left.toArray() as Float32Array, expected.get(want.tensors.left_logits)!.data, leftBatch.attention_mask, V)).toBeLessThan(1e-5);
  });

  it('response log-probs (sum, mean, count) match', () => {
    const lp = model.logProbs(int64(batch.input_ids), int64(batch.attention_mask), int64(batch.labels));
    want.response_logps.sum.forEach((s: number, i: number) => expect(lp.sum[i]).toBeCloseTo(s, 4));
    want.response_logps.mean.forEach((s: number, i: number) => expect(lp.mean[i]).toBeCloseTo(s, 5));
    expect(Array.from(lp.tokens)).toEqual(want.response_logps.count);
    const left = model.logProbs(int64(leftBatch.input_ids), int64(leftBatch.attention_mask), int64(leftBatch.labels));
    want.left_response_logps.sum.forEach((s: number, i: number) => expect(left.sum[i]).toBeCloseTo(s, 4));
  });

  it('loss within 1e-5 and gradient norms within 1e-4', () => {
    model.setFullFinetune(true);
    const loss = model.loss(int64(batch.input_ids), int64(batch.attention_mask), int64(batch.labels), true);
    expect(Math.abs(loss - want.loss) / want.loss).toBeLessThan(1e-5);
    for (const [param, norm] of Object.entries(want.grad_norms as Record<string, number>)) {
      const got = gradNorm(model.parameter(param).grad());
      expect(Math.abs(got - norm) / norm, param).toBeLessThan(1e-4);
    }
    model.setFullFinetune(false);
  });

  it.skipIf(!want.generation)('greedy generation gives the same ids at batch 1 and 3', async () => {
    const prompts: number[][] = cases.generation.prompts;
    for (let i = 0; i < prompts.length; ++i) {
      const one = await model.generate([prompts[i]], { maxNewTokens: 8, greedy: true, padId: cases.generation.pad_token_id });
      expect(one.tokens[0]).toEqual(want.generation.batch1[i]);
    }
    const all = await model.generate(prompts, { maxNewTokens: 8, greedy: true, padId: cases.generation.pad_token_id });
    expect(all.tokens).toEqual(want.generation.batch3);
  });
});

describe('reward model (GPT2ForSequenceClassification)', () => {
  it('scores the last real token like transformers', () => {
    const info = readModelInfo(join(FIX, cases.reward.dir));
    expect(info.classifier).toBe(true);
    const model = new (native().CausalLM)(join(FIX, cases.reward.dir), info.config);
    const right = model.scores(int64(batch.input_ids), int64(batch.attention_mask)).toArray();
    const left = model.scores(int64(leftBatch.input_ids), int64(leftBatch.attention_mask)).toArray();
    cases.reward.scores.forEach((s: number, i: number) => expect(right[i]).toBeCloseTo(s, 5));
    cases.reward.left_scores.forEach((s: number, i: number) => expect(left[i]).toBeCloseTo(s, 5));
    model.dispose();
  });
});

describe.each(['gpt2-lora', 'llama-lora'])('peft adapter %s', (name) => {
  const fx = cases.lora[name];
  const adapterConfig = JSON.parse(readFileSync(join(FIX, fx.dir, 'adapter_config.json'), 'utf8'));
  const lora = { targets: adapterConfig.target_modules, rank: adapterConfig.r, alpha: adapterConfig.lora_alpha };
  const V = cases.vocab_size;

  it('gives peft\'s logits, and merging changes nothing', () => {
    const model = load(cases.models[fx.base].dir);
    model.loadLora(join(FIX, fx.dir), lora);
    const active = model.logits(int64(batch.input_ids), int64(batch.attention_mask)).toArray() as Float32Array;
    expect(maxRelError(active, expected.get(fx.tensors.logits)!.data, batch.attention_mask, V)).toBeLessThan(1e-5);
    model.mergeAdapters();
    const merged = model.logits(int64(batch.input_ids), int64(batch.attention_mask)).toArray() as Float32Array;
    expect(maxRelError(merged, expected.get(fx.tensors.logits)!.data, batch.attention_mask, V)).toBeLessThan(1e-5);
    model.unmergeAdapters();
    model.setAdaptersEnabled(false);
    const base = model.logits(int64(batch.input_ids), int64(batch.attention_mask)).toArray() as Float32Array;
    expect(maxRelError(base, expected.get(cases.models[fx.base].tensors.logits)!.data, batch.attention_mask, V)).toBeLessThan(1e-5);
    model.dispose();
  });

  it('saves under peft\'s names and loads back to the same logits', () => {
    const model = load(cases.models[fx.base].dir);
    model.loadLora(join(FIX, fx.dir), lora);
    const out = join(tmp, name);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    model.saveLora(join(out, 'adapter_model.safetensors'));
    const again = load(cases.models[fx.base].dir);
    again.loadLora(out, lora);
    const a = model.logits(int64(batch.input_ids), int64(batch.attention_mask)).toArray() as Float32Array;
    const b = again.logits(int64(batch.input_ids), int64(batch.attention_mask)).toArray() as Float32Array;
    expect(Array.from(b)).toEqual(Array.from(a));
    const names = (file: string) => [...readSafetensors(file).keys()].sort();
    expect(names(join(out, 'adapter_model.safetensors'))).toEqual(names(join(FIX, fx.dir, 'adapter_model.safetensors')));
    model.dispose();
    again.dispose();
  });
});

describe('DPO loss (policy: gpt2 + LoRA, reference: adapters off)', () => {
  // Right-padded (prompt + response) rows with labels on the response only.
  function rows(pairs: { prompt: number[]; chosen: number[]; rejected: number[] }[], side: 'chosen' | 'rejected') {
    const seqs = pairs.map((p) => [...p.prompt, ...p[side]]);
    const T = Math.max(...seqs.map((s) => s.length));
    const ids = seqs.map((s) => [...s, ...Array(T - s.length).fill(cases.special_tokens.pad)]);
    const mask = seqs.map((s) => [...s.map(() => 1), ...Array(T - s.length).fill(0)]);
    const labels = pairs.map((p, i) => [...p.prompt.map(() => -100), ...p[side], ...Array(T - seqs[i].length).fill(-100)]);
    return { ids: int64(ids), mask: int64(mask), labels: int64(labels) };
  }

  it('matches the loss and rewards computed from transformers log-probs', () => {
    const model = load('gpt2');
    const cfg = JSON.parse(readFileSync(join(FIX, 'gpt2-lora', 'adapter_config.json'), 'utf8'));
    model.loadLora(join(FIX, 'gpt2-lora'), { targets: cfg.target_modules, rank: cfg.r, alpha: cfg.lora_alpha });
    const c = rows(cases.dpo.pairs, 'chosen'), r = rows(cases.dpo.pairs, 'rejected');
    const out = model.dpoLoss(c.ids, c.mask, c.labels, r.ids, r.mask, r.labels, cases.dpo.beta, true);
    expect(out.loss).toBeCloseTo(cases.dpo.loss, 5);
    cases.dpo.pairs.forEach((p: { chosen_reward: number; rejected_reward: number }, i: number) => {
      expect(out.chosenRewards[i]).toBeCloseTo(p.chosen_reward, 5);
      expect(out.rejectedRewards[i]).toBeCloseTo(p.rejected_reward, 5);
    });
    // gradients reach the adapter only
    expect(model.parameter('base_model.model.transformer.h.0.attn.c_attn.lora_B.weight').grad()).not.toBeNull();
    expect(model.parameter('transformer.wte.weight').grad()).toBeNull();
    model.dispose();
  });

  it('refuses a model without adapters', () => {
    const model = load('gpt2');
    const c = rows(cases.dpo.pairs, 'chosen');
    expect(() => model.dpoLoss(c.ids, c.mask, c.labels, c.ids, c.mask, c.labels, 0.1)).toThrow(/needs adapters/);
    model.dispose();
  });
});
