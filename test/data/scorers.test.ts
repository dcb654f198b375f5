// The scorers: built-in statistics against hand-worked values, the reward-model scorer against a
// direct RewardModel call, user functions, spec parsing, and scoreSamples' checks.
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureModelDir } from '../helpers/engine-fixtures.js';
import { countingScorer, sample, samples } from '../fixtures/scorers/samples.js';
import { RewardModel } from '../../ts/engine/index.js';
import {
  afinnScore,
  concisenessScorer,
  fidelityScorer,
  functionScorer,
  parseObjectiveSpecs,
  positivityScorer,
  resolveScorers,
  rewardModelScorer,
  type Scorer,
  type ScoreProgress,
  scoreSamples,
  tokenF1,
  wordCount,
} from '../../ts/data/scorers/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'moalign-scorers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('built-in statistics', () => {
  // AFINN-165 values used here: wonderful +4, good +3, bad -3, happy +3, thanks +2, help +2;
  // "what", "a", "day", "this", "is", "the", "food", "was", "i", "am" are not in the lexicon.
  it('afinnScore sums AFINN values, case-insensitively, and flips a word after a negator', () => {
    expect(afinnScore('What a wonderful day!')).toBe(4);
    expect(afinnScore('Good, good, GOOD.')).toBe(9);
    expect(afinnScore('I am happy. Thanks for the help')).toBe(3 + 2 + 2);
    expect(afinnScore('This is good')).toBe(3);
    expect(afinnScore('This is not good')).toBe(-3);
    expect(afinnScore('This is not good, and the food was bad.')).toBe(-6);
    expect(afinnScore('')).toBe(0);
  });

  it('tokenF1: multiset overlap of normalised words, 2PR/(P+R)', () => {
    expect(tokenF1('the cat sat', 'the cat sat')).toBe(1);
    // a: the cat the hat (4 words), b: the hat (2); overlap the + hat = 2; P = 1/2, R = 1 -> 2/3
    expect(tokenF1('The cat, the hat.', 'the hat')).toBeCloseTo(2 / 3, 15);
    expect(tokenF1('the hat', 'The cat, the hat.')).toBeCloseTo(2 / 3, 15);
    // repeated words count once per occurrence on both sides: overlap 1, P = 1/3, R = 1 -> 1/2
    expect(tokenF1('a a a', 'a')).toBeCloseTo(0.5, 15);
    // overlap 2 of "a a b" and "a a a c": P = 2/3, R = 2/4 -> 4/7
    expect(tokenF1('a a b', 'a a a c')).toBeCloseTo(4 / 7, 15);
    // New York City vs new york: P = 2/3, R = 1 -> 0.8
    expect(tokenF1('New York City', 'new york')).toBeCloseTo(0.8, 15);
    // punctuation is deleted, not a separator; case is ignored
    expect(tokenF1("Don't STOP!", 'dont stop')).toBe(1);
    expect(tokenF1('x y', 'z')).toBe(0);
    expect(tokenF1('', '')).toBe(1);
    expect(tokenF1('!!!', ' ')).toBe(1);
    expect(tokenF1('', 'x')).toBe(0);
    expect(tokenF1('x', '')).toBe(0);
  });

  it('wordCount counts normalised words', () => {
    expect(wordCount("Hello, world!  It's   me.")).toBe(4);
    expect(wordCount('one\ntwo\tthree')).toBe(3);
    expect(wordCount(' — ... ')).toBe(0);
    expect(wordCount('')).toBe(0);
  });
});

describe('built-in scorers', () => {
  const data = [sample('a', 'Good, good answer!', 'a good answer'), sample('b', 'bad', 'very bad indeed')];

  it('positivity, fidelity and conciseness score the response (fidelity against the reference)', async () => {
    const scored = await scoreSamples(data, [positivityScorer(), fidelityScorer(), concisenessScorer()]);
    expect(scored.objectives).toEqual(['positivity', 'fidelity', 'conciseness']);
    // a: good good answer vs a good answer: overlap good + answer = 2, P = 2/3, R = 2/3 -> 2/3
    // b: bad vs very bad indeed: overlap 1, P = 1, R = 1/3 -> 1/2
    expect(scored.rewardsOf(0)).toEqual([6, expect.closeTo(2 / 3, 15), -3]);
    expect(scored.rewardsOf(1)).toEqual([-3, 0.5, -1]);
  });

  it('have distinct, versioned ids and say which needs a reference', () => {
    const ids = [positivityScorer(), fidelityScorer(), concisenessScorer()].map((s) => s.id);
    expect(ids).toEqual(['builtin:positivity@1', 'builtin:fidelity@1', 'builtin:conciseness@1']);
    expect(fidelityScorer().needsReference).toBe(true);
    expect(positivityScorer().needsReference).toBeFalsy();
  });

  it('fidelity on a sample without a reference is an error naming the scorer and the sample, before any scoring', async () => {
    const { scorer, seen } = countingScorer();
    const run = scoreSamples([sample('with', 'x', 'x'), sample('without-ref', 'y')], [scorer, fidelityScorer()]);
    await expect(run).rejects.toThrow(/fidelity.*without-ref/);
    expect(seen).toHaveLength(0);
  });
});

describe('reward-model scorer', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fixtureModelDir('gpt2-reward', tmp);
  });
  const pairs = [
    { prompt: 'Question: why? ', response: 'Because the sky is blue.' },
    { prompt: 'Say hi: ', response: 'hi' },
    { prompt: 'Count: ', response: 'one two three' },
  ];

  it('gives the scores of a direct RewardModel.score call, in batches', async () => {
    using rm = await RewardModel.load(dir);
    const want = rm.score(pairs);
    const scorer = rewardModelScorer('helpful', dir, { batchSize: 2 });
    try {
      const data = pairs.map((p, i) => sample(`p${i}`, p.response, undefined, p.prompt));
      const scored = await scoreSamples(data, [scorer], { batchSize: 2 });
      expect(scored.objectives).toEqual(['helpful']);
      Array.from(scored.column('helpful')).forEach((got, i) => expect(got).toBeCloseTo(want[i], 5));
      expect(new Set(want).size).toBe(3);
    } finally {
      scorer.dispose?.();
    }
  });

  it('its id names the absolute folder and changes with the weights file', () => {
    const before = rewardModelScorer('helpful', dir).id;
    expect(before.startsWith(`rm:${dir}:`)).toBe(true);
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, 'model.safetensors'), later, later);
    const after = rewardModelScorer('helpful', dir).id;
    expect(after).not.toBe(before);
    expect(rewardModelScorer('helpful', dir, { dtype: 'bfloat16' }).id).not.toBe(after);
  });

  it('a folder without weights is an error naming the file', () => {
    expect(() => rewardModelScorer('helpful', join(tmp, 'nowhere'))).toThrow(/nowhere.*config\.json/);
  });
});

describe('function scorer', () => {
  const data = [sample('a', 'one two'), sample('b', 'three')];

  it('per sample, sync or async', async () => {
    const scorer = functionScorer('len', async (s) => s.response.length);
    expect((await scoreSamples(data, [scorer])).column('len')).toEqual(Float64Array.from([7, 5]));
  });

  it('per batch, one call per batch', async () => {
    const calls: number[] = [];
    const scorer = functionScorer(
      'len',
      (batch) => {
        calls.push(batch.length);
        return batch.map((s) => s.response.length);
      },
      { batch: true },
    );
    const scored = await scoreSamples([...data, sample('c', 'four')], [scorer], { batchSize: 2 });
    expect(calls).toEqual([2, 1]);
    expect(scored.column('len')).toEqual(Float64Array.from([7, 5, 4]));
  });

  it('id: fn:<name>:<version>, else the hash of the source', () => {
    expect(functionScorer('len', (s) => s.response.length, { version: 'v2' }).id).toBe('fn:len:v2');
    const a = functionScorer('len', (s) => s.response.length).id;
    const b = functionScorer('len', (s) => s.response.length + 1).id;
    expect(a).toMatch(/^fn:len:[0-9a-f]{64}$/);
    expect(b).not.toBe(a);
    expect(functionScorer('len', (s) => s.response.length).id).toBe(a);
  });
});

describe('scoreSamples', () => {
  it('objectives in scorer order, row-major rewards, progress per batch', async () => {
    const data = samples(5);
    const progress: ScoreProgress[] = [];
    const scored = await scoreSamples(data, [functionScorer('index', (s) => Number(s.response.split(' ')[1])), concisenessScorer()], {
      batchSize: 2,
      onProgress: (p) => progress.push(p),
    });
    expect(scored.objectives).toEqual(['index', 'conciseness']);
    expect(Array.from(scored.rewards)).toEqual([0, -2, 1, -2, 2, -2, 3, -2, 4, -2]);
    expect(scored.samples).toBe(data);
    const index = progress.filter((p) => p.scorer === 'index').map((p) => p.done);
    expect(index).toEqual([0, 2, 4, 5]);
    expect(progress.every((p) => p.total === 5 && p.cached === 0)).toBe(true);
  });

  it('a non-finite score is an error naming the scorer and the sample', async () => {
    const nan = functionScorer('ratio', (s) => (s.response === 'response 2' ? Number.NaN : 1));
    await expect(scoreSamples(samples(4), [nan], { batchSize: 2 })).rejects.toThrow(/ratio.*NaN.*sample s2/);
    const inf = functionScorer('ratio', () => Number.POSITIVE_INFINITY);
    await expect(scoreSamples(samples(1), [inf])).rejects.toThrow(/ratio.*Infinity.*sample s0/);
    const text = functionScorer('ratio', () => '1' as unknown as number);
    await expect(scoreSamples(samples(1), [text])).rejects.toThrow(/ratio.*sample s0.*finite/);
  });

  it('a wrong number of scores is an error', async () => {
    const short = functionScorer('short', (batch) => batch.slice(1).map(() => 0), { batch: true });
    await expect(scoreSamples(samples(3), [short])).rejects.toThrow(/short.*returned 2 scores for a batch of 3/);
  });

  it("a scorer's own failure names it and the batch", async () => {
    const broken: Scorer = { name: 'broken', id: 'test:broken', score: async () => Promise.reject(new Error('model exploded')) };
    await expect(scoreSamples(samples(2), [broken])).rejects.toThrow(/broken.*s0.*model exploded/);
  });

  it('an aborted signal stops before the next batch with an AbortError', async () => {
    const abort = new AbortController();
    const { scorer, seen } = countingScorer();
    const run = scoreSamples(samples(6), [scorer], { batchSize: 2, signal: abort.signal, onProgress: (p) => p.done === 2 && abort.abort() });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toHaveLength(2);
  });
});

describe('objective specs', () => {
  it('built-in names, NAME=rm:DIR and NAME=fn:FILE', () => {
    expect(parseObjectiveSpecs(['positivity', 'helpful=rm:models/rm', 'short=fn:./short.mjs'])).toEqual([
      { kind: 'builtin', name: 'positivity' },
      { kind: 'rm', name: 'helpful', dir: 'models/rm' },
      { kind: 'fn', name: 'short', file: './short.mjs' },
    ]);
  });

  it('an unknown name is an error listing the known ones', () => {
    expect(() => parseObjectiveSpecs(['positivity', 'politeness'])).toThrow(/unknown objective "politeness".*positivity, fidelity, conciseness/);
    expect(() => parseObjectiveSpecs(['x=py:score.py'])).toThrow(/x=py:score\.py.*x=rm:DIR or x=fn:FILE/);
    expect(() => parseObjectiveSpecs(['x=rm:'])).toThrow(/x=rm:/);
    expect(() => parseObjectiveSpecs(['=rm:dir'])).toThrow(/name before "="/);
    expect(() => parseObjectiveSpecs([])).toThrow(/no objectives/);
  });

  it('a repeated objective name is an error', () => {
    expect(() => parseObjectiveSpecs(['positivity', 'positivity=fn:p.mjs'])).toThrow(/positivity is given twice/);
  });

  // "so" is not in AFINN, "good" is +3
  it('x=fn:FILE imports the module and scores with its default export; its version names the cache entry', async () => {
    const dir = mkdtempSync(join(tmp, 'fn-'));
    writeFileSync(join(dir, 'shout.mjs'), 'export default (s) => (s.response.match(/!/g) ?? []).length;\n');
    writeFileSync(join(dir, 'versioned.mjs'), "export const version = 'v7';\nexport default async (s) => s.prompt.length;\n");
    writeFileSync(join(dir, 'none.mjs'), 'export const score = () => 1;\n');
    const scorers = await resolveScorers(parseObjectiveSpecs(['shout=fn:shout.mjs', `len=fn:${join(dir, 'versioned.mjs')}`, 'positivity']), { cwd: dir });
    expect(scorers.map((s) => s.name)).toEqual(['shout', 'len', 'positivity']);
    expect(scorers[0].id).toMatch(/^fn:shout:sha256-[0-9a-f]{64}$/);
    expect(scorers[1].id).toBe('fn:len:v7');
    const scored = await scoreSamples([sample('a', 'So!! good', undefined, 'abc')], scorers);
    expect(scored.rewardsOf(0)).toEqual([2, 3, 3]);

    await expect(resolveScorers(parseObjectiveSpecs(['n=fn:none.mjs']), { cwd: dir })).rejects.toThrow(/objective n: .*none\.mjs has no default export/);
    await expect(resolveScorers(parseObjectiveSpecs(['m=fn:missing.mjs']), { cwd: dir })).rejects.toThrow(/objective m: cannot load .*missing\.mjs/);
  });

  it('NAME=rm:DIR becomes a reward-model scorer over the folder resolved from cwd', async () => {
    const dir = await fixtureModelDir('gpt2-reward', join(tmp, 'rm-spec'));
    const [scorer] = await resolveScorers(parseObjectiveSpecs(['helpful=rm:gpt2-reward']), { cwd: join(tmp, 'rm-spec') });
    expect(scorer.name).toBe('helpful');
    expect(scorer.id.startsWith(`rm:${dir}:`)).toBe(true);
    scorer.dispose?.();
  });
});
