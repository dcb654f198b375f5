// The TypeScript engine API over a fixture model with a byte-level tokenizer: text in, text out,
// response-only loss, adapters and save/load round trips.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureModelDir } from '../helpers/engine-fixtures.js';
import { CausalLM, RewardModel, tokenBatch, Trainer } from '../../ts/engine/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-lm-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const withTokenizer = (name: string) => fixtureModelDir(name, tmp);

let gpt2Dir: string;
beforeAll(async () => {
  gpt2Dir = await withTokenizer('gpt2');
});

const pairs = [
  { prompt: 'Question: why? ', response: 'Because the sky is blue.' },
  { prompt: 'Say hi: ', response: 'hi' },
  { prompt: 'Count: ', response: 'one two three' },
];

describe('CausalLM', () => {
  it('generates text whose ids decode to it, greedy = batch of one, and cuts at stop strings', async () => {
    using lm = await CausalLM.load(gpt2Dir);
    const all = await lm.generate(pairs.map((p) => p.prompt), { maxNewTokens: 10 });
    const single = await lm.generate([pairs[1].prompt], { maxNewTokens: 10 });
    expect(single[0].tokenIds).toEqual(all[1].tokenIds);
    for (const g of all) expect(g.text).toBe(lm.tokenizer.decode(g.tokenIds, { skipSpecialTokens: true }));
    const stop = all[0].text.slice(2, 4);
    const cut = await lm.generate([pairs[0].prompt], { maxNewTokens: 10, stop: [stop] });
    expect(cut[0].text).toBe(all[0].text.slice(0, all[0].text.indexOf(stop)));
    const sampled = await lm.generate([pairs[0].prompt], { maxNewTokens: 10, temperature: 0.8, topP: 0.9, seed: 3 });
    const again = await lm.generate([pairs[0].prompt], { maxNewTokens: 10, temperature: 0.8, topP: 0.9, seed: 3 });
    expect(again[0].tokenIds).toEqual(sampled[0].tokenIds);
  });

  it('takes the loss on response tokens only', async () => {
    using lm = await CausalLM.load(gpt2Dir);
    const rows = pairs.map((p) => lm.encodePair(p));
    const b = tokenBatch(rows, lm.padId);
    const loss = lm.native.loss(b.ids, b.mask, b.labels);
    // independent path: summed response log-probs from log_softmax + gather
    const lp = lm.native.logProbs(b.ids, b.mask, b.labels);
    const tokens = Array.from(lp.tokens).reduce((a, c) => a + c, 0);
    const mean = -Array.from(lp.sum).reduce((a, c) => a + c, 0) / tokens;
    expect(loss).toBeCloseTo(mean, 5);
    expect(tokens).toBe(rows.reduce((a, r) => a + r.labels.filter((l) => l !== -100).length, 0));
    // labelling the prompt too changes the loss: the mask is what keeps it out
    const unmasked = tokenBatch(rows.map((r) => ({ ids: r.ids, labels: r.ids })), lm.padId);
    expect(Math.abs(lm.native.loss(unmasked.ids, unmasked.mask, unmasked.labels) - loss)).toBeGreaterThan(1e-3);
  });

  it('Trainer.fit trains a LoRA adapter with progress, and the adapter saves and loads in peft layout', async () => {
    using lm = await CausalLM.load(gpt2Dir);
    lm.addLora({ targets: ['c_attn', 'c_proj', 'c_fc'], rank: 4, alpha: 8, seed: 2 });
    const seen: number[] = [];
    const report = await new Trainer(lm, { steps: 12, batchSize: 3, lr: 1e-2, seed: 1 }).fit(pairs, { onProgress: (p) => seen.push(p.step) });
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(report.losses[11]).toBeLessThan(report.losses[0]);
    const adapterDir = join(tmp, 'adapter');
    lm.saveAdapter(adapterDir);
    using again = await CausalLM.load(gpt2Dir, { adapter: adapterDir });
    expect(again.logProbs(pairs)).toEqual(lm.logProbs(pairs));
  });

  it('saves a model that loads back to identical logits (and in bf16)', async () => {
    using lm = await CausalLM.load(gpt2Dir);
    const out = join(tmp, 'saved');
    lm.save(out);
    using back = await CausalLM.load(out);
    expect(back.logProbs(pairs)).toEqual(lm.logProbs(pairs));
    const half = join(tmp, 'saved-bf16');
    lm.save(half, { dtype: 'bfloat16' });
    using bf = await CausalLM.load(half);
    bf.logProbs(pairs).forEach((s, i) => expect(Math.abs(s.mean - lm.logProbs(pairs)[i].mean)).toBeLessThan(0.05));
  });

  it('steers decoding with a logit bias: the first greedy token is the argmax of logits + bias', async () => {
    using lm = await CausalLM.load(gpt2Dir);
    const prompt = pairs[0].prompt;
    const ids = lm.tokenizer.encodePrompt(prompt);
    const logits = lm.native.logits(tokenBatch([{ ids, labels: ids }], lm.padId).ids).toArray() as Float32Array;
    const V = lm.info.config.vocabSize;
    const last = Array.from(logits.subarray((ids.length - 1) * V, ids.length * V));
    const eos = new Set(lm.tokenizer.eosIds);
    const ranked = last.map((v, id) => [v, id] as const).filter(([, id]) => !eos.has(id)).sort((a, b) => b[0] - a[0]);
    const [[top], [second, target]] = ranked;
    // just enough bias to lift the runner-up over the top token
    const [plain] = await lm.generate([prompt], { maxNewTokens: 1 });
    expect(plain.tokenIds[0]).toBe(ranked[0][1]);
    const [steered] = await lm.generate([prompt], { maxNewTokens: 1, logitBias: { [target]: top - second + 1e-3 } });
    expect(steered.tokenIds[0]).toBe(target);
    await expect(lm.generate([prompt], { maxNewTokens: 1, logitBias: { [V + 5]: 1 } })).rejects.toThrow(/outside the vocabulary/);
  });

  it('draws a fresh model with GPT-2 initialisation from a seed, reproducibly', async () => {
    using a = await CausalLM.fromScratch(gpt2Dir, { seed: 7 });
    using b = await CausalLM.fromScratch(gpt2Dir, { seed: 7 });
    using c = await CausalLM.fromScratch(gpt2Dir, { seed: 8 });
    const values = (lm: CausalLM, name: string) => Array.from(lm.native.parameter(name).toArray() as Float32Array);
    const std = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + x * x, 0) / xs.length);
    expect(values(a, 'transformer.h.0.mlp.c_fc.weight')).toEqual(values(b, 'transformer.h.0.mlp.c_fc.weight'));
    expect(values(a, 'transformer.h.0.mlp.c_fc.weight')).not.toEqual(values(c, 'transformer.h.0.mlp.c_fc.weight'));
    // the fixture's config: initializer_range 0.2, 2 layers -> residual projections 0.2 / sqrt(4)
    const range = 0.2;
    expect(std(values(a, 'transformer.wte.weight'))).toBeCloseTo(range, 1);
    expect(Math.abs(std(values(a, 'transformer.wte.weight')) / range - 1)).toBeLessThan(0.05);
    expect(Math.abs(std(values(a, 'transformer.h.1.attn.c_proj.weight')) / (range / 2) - 1)).toBeLessThan(0.1);
    expect(Math.abs(std(values(a, 'transformer.h.1.attn.c_attn.weight')) / range - 1)).toBeLessThan(0.1);
    expect(new Set(values(a, 'transformer.h.0.ln_1.weight'))).toEqual(new Set([1]));
    expect(new Set(values(a, 'transformer.h.0.attn.c_attn.bias'))).toEqual(new Set([0]));
    // a fresh model saves and loads back to the same logits (to float32 rounding: the loaded
    // weights are memory-mapped, so kernels may sum in another order)
    const out = join(tmp, 'fresh');
    a.save(out);
    using back = await CausalLM.load(out);
    const batch = tokenBatch([{ ids: [1, 2, 3], labels: [1, 2, 3] }], a.padId);
    const want = a.native.logits(batch.ids).toArray() as Float32Array;
    const got = back.native.logits(batch.ids).toArray() as Float32Array;
    expect(Math.max(...got.map((x, i) => Math.abs(x - want[i])))).toBeLessThan(1e-5);
  });

  it('aborts generation through an AbortSignal', async () => {
    using lm = await CausalLM.load(gpt2Dir);
    const ac = new AbortController();
    ac.abort();
    await expect(lm.generate(['x'], { maxNewTokens: 8, signal: ac.signal })).rejects.toThrow(/abort/i);
  });

  it('refuses what it cannot run, naming it', async () => {
    await expect(CausalLM.load(join(tmp, 'nowhere'))).rejects.toThrow(/config\.json: not found/);
    const reward = await withTokenizer('gpt2-reward');
    await expect(CausalLM.load(reward)).rejects.toThrow(/RewardModel/);
    using lm = await CausalLM.load(gpt2Dir);
    await expect(lm.generate(['hi'], { maxNewTokens: 64 })).rejects.toThrow(/no room/);
  });
});

describe('RewardModel', () => {
  it('scores pairs like the head applied at the last token', async () => {
    using rm = await RewardModel.load(await withTokenizer('gpt2-reward'));
    const scores = rm.score(pairs);
    expect(scores).toHaveLength(3);
    const one = rm.score([pairs[2]]);
    expect(one[0]).toBeCloseTo(scores[2], 5); // padding in the batch changes nothing
  });
});

