// Preference training through Trainer.fitPreference / fitDpo on the GPT-2 fixture with LoRA:
// plain DPO lowers the DPO loss (measured by the model's own dpoLoss), the first step's losses
// are log 2 at zero-init LoRA, a step's loss matches a float64 recomputation from logProbs, an
// interrupted run resumes on the same loss and λ curves, multi-objective runs log λ and the
// objective losses, and bad input is refused with a message naming it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CausalLM, type PreferenceItem, type PreferenceOptions, tokenBatch, type TrainOptions, Trainer } from '../../ts/engine/index.js';
import { fixtureModelDir } from '../helpers/engine-fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-dpo-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let gpt2Dir: string;
beforeAll(async () => {
  gpt2Dir = await fixtureModelDir('gpt2', tmp);
});

// Response a is plain text, response b the same words scrambled: something a LoRA can tell apart.
const words = ['the cat sat on the mat', 'a bird sings at dawn', 'rain falls on the roof', 'we walk to the old mill', 'stars shine over the sea', 'bread bakes in the oven', 'the river runs to the lake', 'wind moves the tall grass'];
const scramble = (s: string) => s.split('').reverse().join('');
const pairs = words.map((w, i) => ({ prompt: `Q${i}: `, chosen: w, rejected: scramble(w) }));

async function lora(): Promise<CausalLM> {
  const lm = await CausalLM.load(gpt2Dir);
  lm.addLora({ targets: ['c_attn', 'c_proj', 'c_fc'], rank: 4, alpha: 8, seed: 3 });
  return lm;
}

/** The model's own DPO loss and mean chosen − rejected reward margin over the pairs (no training). */
function dpoEval(lm: CausalLM, beta = 0.1) {
  const a = tokenBatch(pairs.map((p) => lm.encodePair({ prompt: p.prompt, response: p.chosen })), lm.padId);
  const b = tokenBatch(pairs.map((p) => lm.encodePair({ prompt: p.prompt, response: p.rejected })), lm.padId);
  const r = lm.native.dpoLoss(a.ids, a.mask, a.labels, b.ids, b.mask, b.labels, beta, false);
  const margin = Array.from(r.chosenRewards).reduce((s, c, i) => s + c - r.rejectedRewards[i], 0) / pairs.length;
  return { loss: r.loss, margin };
}

/** Summed response log-probs of a and b under the model, with EOS as the trainer encodes them. */
function sums(lm: CausalLM, items: { prompt: string; chosen: string; rejected?: string }[], side: 'chosen' | 'rejected') {
  const rows = items.map((p) => lm.encodePair({ prompt: p.prompt, response: p[side] ?? '' }));
  const batch = tokenBatch(rows, lm.padId);
  return Array.from(lm.native.logProbs(batch.ids, batch.mask, batch.labels).sum);
}

const logSigmoid = (x: number) => (x > 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));
const onSimplex = (l: number[]) => l.every((x) => x >= 0) && Math.abs(l.reduce((s, x) => s + x, 0) - 1) < 1e-9;

// m = 2 conflicting objectives: objective 0 prefers a, objective 1 prefers b (ties on two items).
const conflicting: PreferenceItem[] = pairs.map((p, i) => ({ ...p, labels: [1, i % 4 === 3 ? 0 : -1] }));

const train: TrainOptions = { steps: 12, batchSize: 4, lr: 2e-2, seed: 5, schedule: 'constant' };

describe('Trainer.fitDpo (plain DPO)', () => {
  it('lowers the model’s DPO loss and raises the chosen − rejected margin; step 1 is log 2', async () => {
    using lm = await lora();
    const before = dpoEval(lm);
    expect(before.loss).toBeCloseTo(Math.LN2, 6); // B = 0: policy = reference
    const report = await new Trainer(lm, train).fitDpo(pairs, { beta: 0.1 });
    expect(report.losses[0]).toBeCloseTo(Math.LN2, 6);
    expect(report.lambdas).toEqual(Array.from({ length: 12 }, () => [1]));
    expect(report.missingObjectiveEvents).toBe(0);
    const after = dpoEval(lm);
    expect(after.loss).toBeLessThan(before.loss - 0.05);
    expect(after.margin).toBeGreaterThan(0.5);
  });

  it('reports a step’s loss as a float64 recomputation from logProbs (LS and Tchebycheff)', async () => {
    using lm = await lora();
    await new Trainer(lm, { ...train, steps: 4 }).fitDpo(pairs); // move off B = 0
    const beta = 0.2, lambda = [0.3, 0.7];
    const polA = sums(lm, conflicting, 'chosen'), polB = sums(lm, conflicting, 'rejected');
    lm.native.setAdaptersEnabled(false);
    const refA = sums(lm, conflicting, 'chosen'), refB = sums(lm, conflicting, 'rejected');
    lm.native.setAdaptersEnabled(true);
    const L = [0, 1].map((i) => {
      const terms = conflicting.flatMap((it, b) => {
        const o = it.labels[i];
        const h = beta * (polA[b] - refA[b] - (polB[b] - refB[b]));
        return o === 0 ? [] : [-logSigmoid(o * h)];
      });
      return terms.reduce((s, x) => s + x, 0) / terms.length;
    });
    expect(Math.abs(L[0] - L[1])).toBeGreaterThan(1e-4); // the objectives really differ
    // one step over all items in one micro-batch, lr ~ 0: the reported loss is at these weights
    const probe = (options: Partial<PreferenceOptions>) =>
      new Trainer(lm, { steps: 1, batchSize: conflicting.length, lr: 1e-30 }).fitPreference(conflicting, { objective: 'dpo', dpoBeta: beta, fixedPreference: lambda, ...options });
    const ls = await probe({});
    expect(ls.objectiveLosses[0][0]).toBeCloseTo(L[0], 4);
    expect(ls.objectiveLosses[0][1]).toBeCloseTo(L[1], 4);
    expect(ls.losses[0]).toBeCloseTo(lambda[0] * L[0] + lambda[1] * L[1], 4);
    const tche = await probe({ aggregation: 'tche', tcheIdeal: [0.1, 0.2] });
    expect(tche.losses[0]).toBeCloseTo(Math.max(lambda[0] * (L[0] - 0.1), lambda[1] * (L[1] - 0.2)), 4);
    const mu = 0.05;
    const smooth = await probe({ aggregation: 'tche', tcheSmoothing: mu });
    expect(smooth.losses[0]).toBeCloseTo(mu * Math.log(Math.exp((lambda[0] * L[0]) / mu) + Math.exp((lambda[1] * L[1]) / mu)), 4);
  });
});

describe('Trainer.fitPreference (multi-objective)', () => {
  it('starts at log 2 for every objective, logs λ on the simplex and per-objective losses', async () => {
    const seen: { step: number; lambda: number[]; objectiveLosses: number[] }[] = [];
    for (const aggregation of ['ls', 'tche'] as const) {
      seen.length = 0;
      using fresh = await lora();
      const r = await new Trainer(fresh, { ...train, steps: 6, gradAccum: 2 }).fitPreference(
        conflicting,
        { objective: 'dpo', aggregation, vertexProb: 0.3 },
        { onProgress: (p) => seen.push({ step: p.step, lambda: p.lambda, objectiveLosses: p.objectiveLosses }) },
      );
      expect(r.objectiveLosses[0][0]).toBeCloseTo(Math.LN2, 6);
      expect(r.objectiveLosses[0][1]).toBeCloseTo(Math.LN2, 6);
      const l0 = r.lambdas[0];
      expect(r.losses[0]).toBeCloseTo(aggregation === 'ls' ? Math.LN2 : Math.max(...l0) * Math.LN2, 6);
      expect(r.lambdas).toHaveLength(6);
      expect(r.lambdas.every(onSimplex)).toBe(true);
      expect(new Set(r.lambdas.map((l) => l.join())).size).toBeGreaterThan(1); // sampled per step
      expect(r.objectiveLosses.every((l) => l.length === 2 && l.every(Number.isFinite))).toBe(true);
      expect(seen.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(seen.map((s) => s.lambda)).toEqual(r.lambdas);
      expect(seen.map((s) => s.objectiveLosses)).toEqual(r.objectiveLosses);
    }
  });

  it('follows the fixed preference: λ = (1, 0) and (0, 1) push the conflicting objectives apart', async () => {
    const run = async (fixedPreference: number[]) => {
      using lm = await lora();
      const r = await new Trainer(lm, train).fitPreference(conflicting, { objective: 'dpo', fixedPreference });
      return { first: r.objectiveLosses[0], last: r.objectiveLosses[r.objectiveLosses.length - 1], margin: dpoEval(lm).margin };
    };
    const a = await run([1, 0]), b = await run([0, 1]);
    expect(a.last[0]).toBeLessThan(a.first[0] - 0.05);
    expect(a.last[1]).toBeGreaterThan(a.first[1]);
    expect(b.last[1]).toBeLessThan(b.first[1] - 0.05);
    expect(a.margin).toBeGreaterThan(0);
    expect(b.margin).toBeLessThan(0);
  });

  it('counts micro-batches without an objective and leaves it out of the loss', async () => {
    using lm = await lora();
    const onlyFirst = pairs.map((p) => ({ ...p, labels: [1, 0] }));
    const r = await new Trainer(lm, { ...train, steps: 3, gradAccum: 2 }).fitPreference(onlyFirst, { objective: 'dpo', vertexProb: 0 });
    expect(r.missingObjectiveEvents).toBe(6);
    expect(r.objectiveLosses.every((l) => Number.isNaN(l[1]))).toBe(true);
    expect(r.losses[0]).toBeCloseTo(r.lambdas[0][0] * Math.LN2, 6); // λ_1 L_1 is not in the sum
  });

  it('draws one λ per item under lambdaPer "sample" (LS only)', async () => {
    using lm = await lora();
    const everyItemBoth = pairs.map((p) => ({ ...p, labels: [1, -1] }));
    const r = await new Trainer(lm, { ...train, steps: 4 }).fitPreference(everyItemBoth, { objective: 'dpo', lambdaPer: 'sample' });
    expect(r.losses[0]).toBeCloseTo(Math.LN2, 6); // mean_b Σ_i λ_{b,i} log 2 = log 2
    expect(r.lambdas.every(onSimplex)).toBe(true);
    expect(r.losses.every(Number.isFinite)).toBe(true);
    await expect(new Trainer(lm, train).fitPreference(conflicting, { objective: 'dpo', lambdaPer: 'sample', aggregation: 'tche' })).rejects.toThrow(
      /lambdaPer 'sample' works with aggregation 'ls' only/,
    );
  });

  it('resumes an interrupted run on the same loss, λ and objective-loss curves', async () => {
    const options: PreferenceOptions = { objective: 'dpo', vertexProb: 0.3 };
    const opts: TrainOptions = { ...train, steps: 10, gradAccum: 2 };
    const straight = await (async () => {
      using lm = await lora();
      return new Trainer(lm, opts).fitPreference(conflicting, options);
    })();
    const dir = join(tmp, 'resume');
    {
      using lm = await lora();
      const abort = new AbortController();
      const first = new Trainer(lm, { ...opts, checkpointDir: dir, checkpointEvery: 2 }).fitPreference(conflicting, options, {
        signal: abort.signal,
        onProgress: (p) => p.step === 4 && abort.abort(),
      });
      await expect(first).rejects.toMatchObject({ name: 'AbortError' });
    }
    using lm = await lora();
    const resumed = await new Trainer(lm, { ...opts, checkpointDir: dir, checkpointEvery: 2 }).fitPreference(conflicting, options);
    expect(resumed.startStep).toBeGreaterThanOrEqual(4);
    expect(resumed.startStep).toBeLessThan(10);
    expect(Array.from(resumed.losses)).toEqual(Array.from(straight.losses));
    expect(resumed.lambdas).toEqual(straight.lambdas);
    expect(resumed.objectiveLosses).toEqual(straight.objectiveLosses);
    // another objective on the same checkpoint is refused
    await expect(
      new Trainer(lm, { ...opts, steps: 12, checkpointDir: dir }).fitPreference(
        pairs.map((p) => ({ prompt: p.prompt, chosen: p.chosen, labels: [1, 1] })),
        { objective: 'sft' },
      ),
    ).rejects.toThrow(/was not written by sft preference training/);
  });

  it('trains SFT objectives: L_i is the weighted mean of the items’ response NLL', async () => {
    using lm = await lora();
    const items = pairs.map((p, i) => ({ prompt: p.prompt, chosen: p.chosen, labels: [i % 2, 0.5 + (i % 3)] }));
    const rows = items.map((p) => lm.encodePair({ prompt: p.prompt, response: p.chosen }));
    const b = tokenBatch(rows, lm.padId);
    const lp = lm.native.logProbs(b.ids, b.mask, b.labels);
    const nll = Array.from(lp.sum, (s, k) => -s / lp.tokens[k]);
    const expected = [0, 1].map((i) => items.reduce((s, it, k) => s + it.labels[i] * nll[k], 0) / items.reduce((s, it) => s + it.labels[i], 0));
    const r = await new Trainer(lm, { ...train, steps: 6, batchSize: items.length }).fitPreference(items, { objective: 'sft', fixedPreference: [0.5, 0.5] });
    expect(r.objectiveLosses[0][0]).toBeCloseTo(expected[0], 4);
    expect(r.objectiveLosses[0][1]).toBeCloseTo(expected[1], 4);
    expect(r.losses[5]).toBeLessThan(r.losses[0]);
  });

  it('refuses bad input with a message naming it', async () => {
    using lm = await lora();
    const t = new Trainer(lm, { steps: 2, batchSize: 2 });
    const dpo: PreferenceOptions = { objective: 'dpo' };
    const bad = (items: PreferenceItem[], options: Partial<PreferenceOptions> = {}) => t.fitPreference(items, { ...dpo, ...options });
    await expect(bad([])).rejects.toThrow(/training data is empty/);
    await expect(bad([conflicting[0], { ...conflicting[1], labels: [1] }])).rejects.toThrow(/item 1 has 1 labels, item 0 has 2/);
    await expect(bad([conflicting[0], { prompt: 'x', chosen: 'y', labels: [1, 1] }])).rejects.toThrow(/item 1 has no rejected response/);
    await expect(bad([{ ...conflicting[0], labels: [2, 0] }])).rejects.toThrow(/DPO labels must be -1, 0 or 1/);
    await expect(bad([{ ...conflicting[0], labels: [0, 0] }])).rejects.toThrow(/no non-zero label/);
    await expect(bad(pairs.map((p) => ({ ...p, labels: [1, 1] })), { objective: 'sft' })).rejects.toThrow(/rejected response, which SFT does not use/);
    await expect(bad([{ prompt: 'x', chosen: 'y', labels: [1, -0.5] }], { objective: 'sft' })).rejects.toThrow(/SFT weights must be finite and >= 0/);
    await expect(bad([{ prompt: 'x', chosen: 'y', labels: [1, Number.NaN] }], { objective: 'sft' })).rejects.toThrow(/SFT weights/);
    await expect(bad(conflicting, { aggregation: 'max' as 'ls' })).rejects.toThrow(/aggregation must be ls or tche, not max/);
    await expect(bad(conflicting, { lambdaPer: 'epoch' as 'step' })).rejects.toThrow(/lambdaPer must be step, microbatch or sample/);
    await expect(bad(conflicting, { objective: 'ppo' as 'dpo' })).rejects.toThrow(/objective must be dpo or sft, not ppo/);
    await expect(bad(conflicting, { aggregation: 'tche', tcheIdeal: [0] })).rejects.toThrow(/tcheIdeal has 1 values for 2 objectives/);
    await expect(bad(conflicting, { aggregation: 'tche', tcheSmoothing: -1 })).rejects.toThrow(/tcheSmoothing must be a finite number >= 0/);
    await expect(bad(conflicting, { fixedPreference: [0.5, 0.6] })).rejects.toThrow(/fixedPreference \[0.5, 0.6\] is not on the simplex/);
    await expect(bad(conflicting, { fixedPreference: [1] })).rejects.toThrow(/fixedPreference has 1 values for 2 objectives/);
    await expect(bad(conflicting, { vertexProb: 2 })).rejects.toThrow(/vertexProb must lie in \[0, 1\]/);
    await expect(bad(conflicting, { dpoBeta: 0 })).rejects.toThrow(/dpoBeta must be a positive number/);
    using plain = await CausalLM.load(gpt2Dir);
    await expect(new Trainer(plain, { steps: 1 }).fitDpo(pairs)).rejects.toThrow(/DPO needs adapters/);
  });
});
