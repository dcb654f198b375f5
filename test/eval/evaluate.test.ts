// evaluatePolicies with fake policies (plain functions returning fixed texts) and the built-in
// scorers: the points are checked against means worked out by hand, the metrics against
// frontMetrics called here on the same points, and one hypervolume against a hand computation.
import { describe, expect, it } from 'vitest';
import type { PromptRecord } from '../../ts/data/records.js';
import { builtinScorers } from '../../ts/data/scorers/index.js';
import { evaluatePolicies, type Policy, type PolicyGenerateOptions } from '../../ts/eval/index.js';
import { frontMetrics } from '../../ts/moo/index.js';

const prompts: PromptRecord[] = [
  { id: 'p1', prompt: 'Tell me about the day', reference: 'a day at home' },
  { id: 'p2', prompt: 'Where were you', reference: 'at the old mill' },
];

/** A policy answering prompt i with texts[i], recording how it was called. */
function fakePolicy(preference: number[], texts: Record<string, string>) {
  const calls: { prompts: string[]; options: PolicyGenerateOptions }[] = [];
  let disposed = 0;
  const policy: Policy = {
    preference,
    async generate(batch, options) {
      calls.push({ prompts: batch, options });
      return batch.map((p) => texts[p]);
    },
    dispose: () => void disposed++,
  };
  return { policy, calls, disposed: () => disposed };
}

// Policy A (ω = (1, 0)): two "good"s (AFINN +3 each) and 3 of its 5 words in the 4-word reference:
// positivity 6; fidelity F1 = 2·(3/5)(3/4) / (3/5 + 3/4) = 2/3. Both 5 distinct words: not collapsed.
const A = { 'Tell me about the day': 'good good day at home', 'Where were you': 'good good at the mill' };
// Policy B (ω = (0, 1)): the references themselves, padded: positivity 0, fidelity 1; 4 words: short.
const B = { 'Tell me about the day': '  a day at home\n', 'Where were you': ' at the old mill ' };
const scorers = () => [builtinScorers.positivity(), builtinScorers.fidelity()];

describe('evaluatePolicies', () => {
  it('gives one point per preference, the mean rewards, worked out by hand', async () => {
    const a = fakePolicy([1, 0], A);
    const b = fakePolicy([0, 1], B);
    const r = await evaluatePolicies([a.policy, b.policy], prompts, scorers(), { maxNewTokens: 8 });
    expect(r.objectives).toEqual(['positivity', 'fidelity']);
    expect(r.points.map((p) => p.preference)).toEqual([[1, 0], [0, 1]]);
    expect(r.points[0].mean[0]).toBe(6);
    expect(r.points[0].mean[1]).toBeCloseTo(2 / 3, 12);
    expect(r.points[1].mean).toEqual([0, 1]);
    expect(r.prompts).toBe(2);
    // the generations: trimmed, in policy then prompt order, with their rewards and references
    expect(r.generations.map((g) => [g.policy, g.promptId, g.response])).toEqual([
      [0, 'p1', 'good good day at home'],
      [0, 'p2', 'good good at the mill'],
      [1, 'p1', 'a day at home'],
      [1, 'p2', 'at the old mill'],
    ]);
    expect(r.generations[2]).toMatchObject({ prompt: 'Tell me about the day', reference: 'a day at home', preference: [0, 1], rewards: { positivity: 0, fidelity: 1 }, collapsed: 'short' });
    // collapse: B's two 4-word answers
    expect(r.points.map((p) => p.collapse.collapsed)).toEqual([0, 2]);
    expect(r.points[1].collapse.percent).toBe(100);
    expect(r.collapse).toMatchObject({ responses: 4, collapsed: 2, percent: 50, byRule: { short: 2, ngram: 0, sentence: 0 }, options: { minWords: 5, ngramRatio: 0.3, sentenceRepeats: 3 } });
    expect(a.disposed()).toBe(1);
    expect(b.disposed()).toBe(1);
  });

  it('measures the front as frontMetrics does, in its own normalised space, and the HV matches a hand computation', async () => {
    const r = await evaluatePolicies([fakePolicy([1, 0], A).policy, fakePolicy([0, 1], B).policy], prompts, scorers(), { maxNewTokens: 8 });
    const points = r.points.map((p) => p.mean);
    expect(r.metrics).toEqual(frontMetrics(points, [[1, 0], [0, 1]], { objectives: ['positivity', 'fidelity'] }));
    // By hand: positivity lo = 0 - 0.1·6 = -0.6, hi = 6; fidelity lo = 2/3 - 0.1·(1/3) = 19/30, hi = 1.
    // Normalised, A = (1, 1/11) and B = (1/11, 1); HV = 1/11 + 1/11 - 1/121 = 21/121.
    expect(r.metrics.lo?.[0]).toBeCloseTo(-0.6, 12);
    expect(r.metrics.lo?.[1]).toBeCloseTo(19 / 30, 12);
    expect(r.metrics.hi).toEqual([6, 1]);
    expect(r.metrics.hypervolume).toBeCloseTo(21 / 121, 12);
    // each point's own weight picks its best coordinate, 1
    expect(r.metrics.innerProduct).toBeCloseTo(1, 12);
    expect(r.metrics.points).toEqual([{ preference: [1, 0], mean: points[0] }, { preference: [0, 1], mean: points[1] }]);
  });

  it('uses given bounds (a comparison\'s pooled ones) and metric variants', async () => {
    const bounds = { lo: [-10, 0], hi: [10, 2], hvMargin: 0.1 };
    const r = await evaluatePolicies([fakePolicy([1, 0], A).policy, fakePolicy([0, 1], B).policy], prompts, scorers(), {
      maxNewTokens: 8,
      metrics: { bounds, sparsityVariant: 'pairwise', spacingVariant: 'schott' },
    });
    const want = frontMetrics(r.points.map((p) => p.mean), [[1, 0], [0, 1]], { objectives: ['positivity', 'fidelity'], bounds, sparsityVariant: 'pairwise', spacingVariant: 'schott' });
    expect(r.metrics).toEqual(want);
    // normalised by hand: A = (16/20, (2/3)/2) = (0.8, 1/3), B = (10/20, 1/2); HV = 0.8·1/3 + 0.5·(0.5 − 1/3)
    expect(r.metrics.hypervolume).toBeCloseTo(0.8 / 3 + 0.5 * (0.5 - 1 / 3), 12);
  });

  it('batches the prompts and gives every policy the same decoding and seeds', async () => {
    const three: PromptRecord[] = [...prompts, { id: 'p3', prompt: 'Say more', reference: 'more' }];
    const texts = { ...A, 'Say more': 'more' };
    const a = fakePolicy([0.5, 0.5], texts);
    const b = fakePolicy([0.2, 0.8], texts);
    await evaluatePolicies([a.policy, b.policy], three, scorers(), { maxNewTokens: 7, batchSize: 2, seed: 5, temperature: 0.7, topP: 0.8 });
    for (const calls of [a.calls, b.calls]) {
      expect(calls.map((c) => c.prompts)).toEqual([['Tell me about the day', 'Where were you'], ['Say more']]);
      expect(calls.map(({ options: { signal: _s, onProgress: _p, ...o } }) => o)).toEqual([
        { maxNewTokens: 7, temperature: 0.7, topP: 0.8, seed: 5 },
        { maxNewTokens: 7, temperature: 0.7, topP: 0.8, seed: 7 },
      ]);
    }
    // defaults: temperature 1, top-p 0.9, seed 0
    const c = fakePolicy([0.5, 0.5], texts);
    await evaluatePolicies([c.policy], three, scorers(), { maxNewTokens: 3 });
    expect(c.calls.map(({ options: o }) => [o.temperature, o.topP, o.seed])).toEqual([[1, 0.9, 0]]);
  });

  it('generates once for policies with the same sameAs key and gives each the same answers; other keys generate', async () => {
    const three: PromptRecord[] = [...prompts, { id: 'p3', prompt: 'Say more', reference: 'more' }];
    const texts = { ...A, 'Say more': 'more' };
    const first = fakePolicy([1, 0], texts);
    const same = fakePolicy([0, 1], B); // would answer differently if it were asked
    const other = fakePolicy([0.5, 0.5], texts);
    const r = await evaluatePolicies(
      [
        { ...first.policy, sameAs: 'model-x' },
        { ...same.policy, sameAs: 'model-x' },
        { ...other.policy, sameAs: 'model-y' },
      ],
      three,
      scorers(),
      { maxNewTokens: 4, batchSize: 2 },
    );
    expect(first.calls).toHaveLength(2);
    expect(same.calls).toHaveLength(0);
    expect(other.calls).toHaveLength(2);
    expect(same.disposed()).toBe(1);
    expect(r.points[1].mean).toEqual(r.points[0].mean);
    expect(r.points[1].preference).toEqual([0, 1]);
    expect(r.generations.filter((g) => g.policy === 1).map((g) => g.response)).toEqual(r.generations.filter((g) => g.policy === 0).map((g) => g.response));
  });

  it("cleans with 'first-line' as the built-in task does, or with a function; an empty response is kept and collapses", async () => {
    const texts = { 'Tell me about the day': ' good day at home today\nsecond line', 'Where were you': '\n...' };
    const firstLine = await evaluatePolicies([fakePolicy([1], texts).policy], prompts, [builtinScorers.conciseness()], { maxNewTokens: 8, clean: 'first-line' });
    expect(firstLine.generations.map((g) => g.response)).toEqual([' good day at home today', '']);
    expect(firstLine.points[0].mean).toEqual([(-5 + 0) / 2]);
    expect(firstLine.generations[1].collapsed).toBe('short');
    const upper = await evaluatePolicies([fakePolicy([1], texts).policy], prompts, [builtinScorers.conciseness()], { maxNewTokens: 8, clean: (t) => t.toUpperCase() });
    expect(upper.generations[0].response).toBe(' GOOD DAY AT HOME TODAY\nSECOND LINE');
  });

  it('reports progress through generation, then scoring', async () => {
    const events: string[] = [];
    await evaluatePolicies([fakePolicy([1, 0], A).policy, fakePolicy([0, 1], B).policy], prompts, scorers(), {
      maxNewTokens: 8,
      batchSize: 1,
      onProgress: (p) => events.push(p.phase === 'generate' ? `g${p.policy} ${p.done}/${p.total} [${p.preference}]` : `s ${p.scorer} ${p.done}/${p.total}`),
    });
    expect(events.slice(0, 4)).toEqual(['g0 1/4 [1,0]', 'g0 2/4 [1,0]', 'g1 3/4 [0,1]', 'g1 4/4 [0,1]']);
    expect(events.slice(4).at(-1)).toBe('s fidelity 4/4');
  });

  it('refuses, before generating, a missing reference, a preference of the wrong length, a bad option', async () => {
    const a = fakePolicy([1, 0], A);
    await expect(evaluatePolicies([a.policy], [{ id: 'x', prompt: 'Where were you' }], scorers(), { maxNewTokens: 8 })).rejects.toThrow(/fidelity needs a reference, and prompt x has none/);
    await expect(evaluatePolicies([fakePolicy([1], A).policy], prompts, scorers(), { maxNewTokens: 8 })).rejects.toThrow(/policy 0: preference \[1\] has 1 weights for 2 objectives/);
    await expect(evaluatePolicies([a.policy], prompts, scorers(), { maxNewTokens: 0 })).rejects.toThrow(/maxNewTokens/);
    await expect(evaluatePolicies([a.policy], prompts, scorers(), { maxNewTokens: 8, topP: 1.5 })).rejects.toThrow(/topP/);
    await expect(evaluatePolicies([], prompts, scorers(), { maxNewTokens: 8 })).rejects.toThrow(/no policies/);
    expect(a.calls).toHaveLength(0);
  });

  it('refuses a policy that answers the wrong number of prompts, and still disposes it', async () => {
    const disposed: string[] = [];
    const bad: Policy = { preference: [1, 0], name: 'bad', generate: async () => ['only one'], dispose: () => void disposed.push('bad') };
    await expect(evaluatePolicies([bad], prompts, scorers(), { maxNewTokens: 8 })).rejects.toThrow(/bad: generate returned 1 responses for 2 prompts/);
    expect(disposed).toEqual(['bad']);
  });

  it('stops when the signal is aborted', async () => {
    const abort = new AbortController();
    const a = fakePolicy([1, 0], A);
    const stopping: Policy = { ...a.policy, generate: async (p, o) => { abort.abort(new Error('stop')); return a.policy.generate(p, o); } };
    await expect(evaluatePolicies([stopping, fakePolicy([0, 1], B).policy], prompts, scorers(), { maxNewTokens: 8, batchSize: 1, signal: abort.signal })).rejects.toThrow(/stop/);
    expect(a.calls).toHaveLength(1);
  });
});
