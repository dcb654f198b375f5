// Weight soups on the fixture GPT-2 (Conv1D layout): merging a peft adapter with weight 1 gives
// the logits of the adapter attached (and peft's own), weight 0 the base, and weights (w, 1 − w)
// of two adapters give W₀ + w ΔW₁ + (1 − w) ΔW₂ with each ΔW = (α/r) B A computed here from the
// adapter files. Full checkpoints average tensor by tensor; adapters factor by factor.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CausalLM } from '../../ts/engine/causal-lm.js';
import { interpolateAdapterFactors, interpolateModels } from '../../ts/engine/soup.js';
import { ENGINE_FIXTURES, fixtureModelDir, int64, maxLogitError } from '../helpers/engine-fixtures.js';
import { type FixtureTensor, readSafetensors, writeSafetensors } from '../helpers/safetensors.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-soup-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cases = JSON.parse(readFileSync(join(ENGINE_FIXTURES, 'cases.json'), 'utf8'));
const batch: { input_ids: number[][]; attention_mask: number[][] } = cases.batch;
const V: number = cases.vocab_size;
const PEFT = 'base_model.model.';
const adapter1 = join(ENGINE_FIXTURES, 'gpt2-lora'); // r 4, α 8, c_attn + c_proj (attention and MLP), B ≠ 0

/** Deterministic values in [-0.5, 0.5). */
function pseudo(seed: number, n: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** A peft adapter folder with `tensors` and the given rank, alpha and targets. */
function writeAdapter(dir: string, tensors: Map<string, FixtureTensor>, r: number, alpha: number, targets: string[]): string {
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, 'adapter_model.safetensors'), tensors);
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r, lora_alpha: alpha, target_modules: targets, fan_in_fan_out: true }));
  return dir;
}

/** W (in, out) of every Conv1D the adapter targets, plus scale · (α/r) (B A)ᵀ, in float64. */
function addDeltas(weights: Map<string, Float64Array>, adapterDir: string, scale: number): void {
  const cfg = JSON.parse(readFileSync(join(adapterDir, 'adapter_config.json'), 'utf8'));
  const t = readSafetensors(join(adapterDir, 'adapter_model.safetensors'));
  for (const [name, a] of t) {
    if (!name.endsWith('.lora_A.weight')) continue;
    const module = name.slice(PEFT.length, -'.lora_A.weight'.length);
    const b = t.get(`${PEFT}${module}.lora_B.weight`)!;
    const [r, I] = a.shape;
    const O = b.shape[0];
    const w = weights.get(`${module}.weight`)!;
    expect(w.length).toBe(I * O);
    const s = (scale * cfg.lora_alpha) / cfg.r;
    for (let i = 0; i < I; i++)
      for (let o = 0; o < O; o++) {
        let d = 0;
        for (let k = 0; k < r; k++) d += b.data[o * r + k] * a.data[k * I + i];
        w[i * O + o] += s * d; // Conv1D stores Wᵀ: (in, out)
      }
  }
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const logitsOf = (lm: CausalLM) => lm.native.logits(int64(batch.input_ids), int64(batch.attention_mask)).toArray() as Float32Array;

let base: string;
let adapter2: string; // r 2, α 6, c_attn + c_fc: other modules and rank than adapter1
let adapter1b: string; // adapter1's config, other values
let baseTensors: Map<string, FixtureTensor>;

beforeAll(async () => {
  base = await fixtureModelDir('gpt2', tmp);
  baseTensors = readSafetensors(join(base, 'model.safetensors'));
  const t2 = new Map<string, FixtureTensor>();
  let seed = 1;
  for (const layer of [0, 1])
    for (const [module, out] of [
      ['attn.c_attn', 96],
      ['mlp.c_fc', 128],
    ] as const) {
      t2.set(`${PEFT}transformer.h.${layer}.${module}.lora_A.weight`, { shape: [2, 32], data: pseudo(seed++, 2 * 32) });
      t2.set(`${PEFT}transformer.h.${layer}.${module}.lora_B.weight`, { shape: [out, 2], data: pseudo(seed++, out * 2) });
    }
  adapter2 = writeAdapter(join(tmp, 'adapter2'), t2, 2, 6, ['c_attn', 'c_fc']);
  const t1b = new Map([...readSafetensors(join(adapter1, 'adapter_model.safetensors'))].map(([k, v], i) => [k, { shape: v.shape, data: pseudo(100 + i, v.data.length) }]));
  adapter1b = writeAdapter(join(tmp, 'adapter1b'), t1b, 4, 8, ['c_attn', 'c_proj']);
});

describe('CausalLM.mergeAdapterFrom', () => {
  it('with weight 1 gives the logits of the adapter attached, and peft\'s', async () => {
    using attached = await CausalLM.load(base, { adapter: adapter1 });
    using merged = await CausalLM.load(base);
    merged.mergeAdapterFrom(adapter1, 1);
    expect(merged.hasAdapter).toBe(false);
    const got = logitsOf(merged);
    expect(maxDiff(got, logitsOf(attached))).toBeLessThan(1e-5);
    const peft = readSafetensors(join(ENGINE_FIXTURES, 'expected.safetensors')).get(cases.lora['gpt2-lora'].tensors.logits)!.data;
    expect(maxLogitError(got, peft, batch.attention_mask, V, true)).toBeLessThan(1e-5);
  });

  it('with weight 0 leaves the base model', async () => {
    using plain = await CausalLM.load(base);
    using merged = await CausalLM.load(base);
    merged.mergeAdapterFrom(adapter1, 0);
    expect(maxDiff(logitsOf(merged), logitsOf(plain))).toBe(0);
  });

  it('with weights (w, 1 − w) of two adapters gives W₀ + w ΔW₁ + (1 − w) ΔW₂', async () => {
    for (const w of [0.3, 0.8]) {
      using lm = await CausalLM.load(base);
      lm.mergeAdapterFrom(adapter1, w);
      lm.mergeAdapterFrom(adapter2, 1 - w);
      const want = new Map([...baseTensors].map(([k, v]) => [k, Float64Array.from(v.data)]));
      addDeltas(want, adapter1, w);
      addDeltas(want, adapter2, 1 - w);
      for (const [name, values] of want) {
        const got = lm.native.parameter(name).toArray() as Float32Array;
        expect(maxDiff(got, values), name).toBeLessThan(1e-5);
      }
      // the merged deltas do move every targeted weight
      expect(maxDiff(lm.native.parameter('transformer.h.1.mlp.c_fc.weight').toArray() as Float32Array, baseTensors.get('transformer.h.1.mlp.c_fc.weight')!.data)).toBeGreaterThan(1e-3);
    }
  });

  it('refuses an adapter that lacks a target module\'s tensors, and then no weight has changed', async () => {
    const partial = new Map([...readSafetensors(join(adapter2, 'adapter_model.safetensors'))].filter(([k]) => !k.includes('h.1.mlp.c_fc')));
    const bad = writeAdapter(join(tmp, 'partial'), partial, 2, 6, ['c_attn', 'c_fc']);
    using lm = await CausalLM.load(base);
    const before = logitsOf(lm);
    expect(() => lm.mergeAdapterFrom(bad, 0.5)).toThrow(/missing tensor .*h\.1\.mlp\.c_fc\.lora_A/);
    expect(maxDiff(logitsOf(lm), before)).toBe(0);
    expect(() => lm.mergeAdapterFrom(adapter1, Number.NaN)).toThrow(RangeError);
    expect(() => lm.mergeAdapterFrom(join(tmp, 'nowhere'), 1)).toThrow(/adapter_config\.json: not found/);
  });
});

describe('interpolateModels', () => {
  it('averages full checkpoints tensor by tensor: experts sharing W₀ give the merged soup', async () => {
    const experts = [adapter1, adapter2].map((_, i) => join(tmp, `full-${i}`));
    for (const [i, adapter] of [adapter1, adapter2].entries()) {
      using lm = await CausalLM.load(base);
      lm.mergeAdapterFrom(adapter, 1);
      lm.save(experts[i]);
    }
    const out = join(tmp, 'full-soup');
    interpolateModels(experts, [0.3, 0.7], out);
    expect(existsSync(join(out, 'config.json')) && existsSync(join(out, 'tokenizer.json'))).toBe(true);
    using soup = await CausalLM.load(out);
    const want = new Map([...baseTensors].map(([k, v]) => [k, Float64Array.from(v.data)]));
    addDeltas(want, adapter1, 0.3);
    addDeltas(want, adapter2, 0.7);
    for (const [name, values] of want) expect(maxDiff(soup.native.parameter(name).toArray() as Float32Array, values), name).toBeLessThan(1e-5);
  });

  it('refuses folders that are not fine-tunes of one model, writing nothing', () => {
    const llama = join(tmp, 'llama');
    mkdirSync(llama, { recursive: true });
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(ENGINE_FIXTURES, 'llama', f), join(llama, f));
    const out = join(tmp, 'mixed');
    expect(() => interpolateModels([base, llama], [0.5, 0.5], out)).toThrow(/names differ/);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
    expect(() => interpolateModels([base], [0.5, 0.5], out)).toThrow(/2 weights for 1 folders/);
  });
});

describe('interpolateAdapterFactors', () => {
  it('averages A and B separately', () => {
    const out = join(tmp, 'factors');
    interpolateAdapterFactors([adapter1, adapter1b], [0.25, 0.75], out);
    const a = readSafetensors(join(adapter1, 'adapter_model.safetensors'));
    const b = readSafetensors(join(adapter1b, 'adapter_model.safetensors'));
    const got = readSafetensors(join(out, 'adapter_model.safetensors'));
    expect([...got.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [name, t] of got) {
      const want = Array.from(t.data, (_, i) => 0.25 * a.get(name)!.data[i] + 0.75 * b.get(name)!.data[i]);
      expect(maxDiff(t.data, want), name).toBeLessThan(1e-6);
    }
    expect(JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')).r).toBe(4);
  });

  it('refuses adapters of different rank or targets', () => {
    expect(() => interpolateAdapterFactors([adapter1, adapter2], [0.5, 0.5], join(tmp, 'bad-factors'))).toThrow(/cannot be averaged/);
  });
});
