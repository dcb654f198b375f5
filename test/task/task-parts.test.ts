// The built-in task's pieces against hand-worked examples: detokenising the tagged corpus, prompt
// cutting, response cleaning, correlations with ties, and the positivity steering bias.
import { describe, expect, it } from 'vitest';
import { ScoredDataset } from '../../ts/data/records.js';
import { afinnScore } from '../../ts/data/scorers/index.js';
import { Tokenizer } from '../../ts/engine/tokenizer.js';
import { trainByteLevelBpe } from '../../ts/engine/bpe-trainer.js';
import { niceTicks } from '../../ts/report/svg.js';
import { detokenize, readBrownCorpus } from '../../ts/task/brown.js';
import { averageRanks, measureConflict, pearson, spearman } from '../../ts/task/conflict.js';
import { cleanResponse } from '../../ts/task/pool.js';
import { sentencePrompts, splitDocuments } from '../../ts/task/splits.js';
import { positivityLogitBias } from '../../ts/task/steering.js';

describe('the Brown corpus', () => {
  it('detokenises tagged lines: tags dropped, quotes and punctuation spaced as in print', () => {
    expect(detokenize("\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, (/( 1937/cd )/) ./.")).toBe('The jury said "no evidence", (1937).');
    expect(detokenize('It/pps was/bedz n\'t/* over/rp --/-- yet/rb ;/.')).toBe("It wasn't over — yet;");
  });

  it('has 500 documents in 15 genres, split into disjoint sets by document', () => {
    const docs = readBrownCorpus();
    expect(docs).toHaveLength(500);
    expect(new Set(docs.map((d) => d.category)).size).toBe(15);
    const s = splitDocuments(docs, { seed: 3 });
    const ids = [...s.pretrain, ...s.trainPrompts, ...s.testPrompts].map((d) => d.id);
    expect(new Set(ids).size).toBe(500);
    expect(s.testPrompts).toHaveLength(50);
    expect(s.trainPrompts).toHaveLength(50);
    expect(splitDocuments(docs, { seed: 3 })).toEqual(s);
    expect(() => splitDocuments(docs, { trainPromptShare: 0.6, testPromptShare: 0.5 })).toThrow(/sum to < 1/);
  });
});

describe('prompts and responses', () => {
  const doc = { id: 'x01', category: 'test', sentences: ['one two three four five six seven eight nine ten.', 'too short here.', 'a b c d e f g h'] };

  it('cuts each usable sentence into a prompt of 3..8 words and the rest, exactly', () => {
    const prompts = sentencePrompts([doc], { seed: 1 });
    expect(prompts.map((p) => p.id)).toEqual(['x01:0', 'x01:2']);
    for (const p of prompts) {
      const words = p.prompt.split(' ').length;
      expect(words).toBeGreaterThanOrEqual(3);
      expect(words).toBeLessThanOrEqual(Math.min(8, doc.sentences[Number(p.id.split(':')[1])].split(' ').length - 4));
      expect(p.reference!.startsWith(' ')).toBe(true);
      expect(p.prompt + p.reference).toBe(doc.sentences[Number(p.id.split(':')[1])]);
    }
    expect(sentencePrompts([doc], { seed: 1, limit: 1 })).toHaveLength(1);
  });

  it('cleans generations: first line, no trailing space, nothing without a word', () => {
    expect(cleanResponse(' the end.  \nnext line')).toBe(' the end.');
    expect(cleanResponse(' ,;\n')).toBeUndefined();
    expect(cleanResponse('')).toBeUndefined();
  });
});

describe('conflict measures', () => {
  it('computes Pearson and Spearman (average ranks for ties) as by hand', () => {
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 14);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 14);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(Array.from(averageRanks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
    // ranks x: 1,2,3,4 ; y: 1,3,3,... -> y = [5, 7, 7, 1] has ranks [2, 3.5, 3.5, 1]
    const r = pearson([1, 2, 3, 4], [2, 3.5, 3.5, 1]);
    expect(spearman([1, 2, 3, 4], [5, 7, 7, 1])).toBeCloseTo(r, 14);
  });

  it('reports correlations within prompts and the share of each Pareto layer', () => {
    // two prompts, three responses each, a perfect trade-off within each prompt
    const samples = ['a', 'b'].flatMap((g) => [0, 1, 2].map((k) => ({ id: `${g}${k}`, prompt: g, response: `${k}`, group: g, origin: 'dataset' as const })));
    const rewards = Float64Array.from([0, 2, 1, 1, 2, 0, 0, 1, 1, 0.5, 2, 0]);
    const c = measureConflict(new ScoredDataset(['x', 'y'], samples, rewards));
    expect(c.withinPromptPearson[0][1]).toBeCloseTo(-1, 12);
    expect(c.promptGroups).toBe(2);
    // front: (0,2) (1,1) (2,0) from group a, (2,0) again from b -> 4 points on layer 1
    expect(c.layers.first).toBe(4);
    expect(c.layers.firstShare).toBeCloseTo(4 / 6, 14);
    expect(c.layers.count).toBe(2);
  });
});

describe('positivity steering', () => {
  it('biases exactly the whole-word tokens with positive AFINN valence, by strength × valence / 2', () => {
    const text = Array.from({ length: 30 }, () => 'a good day and a great friend, the bad news and the good old days of love').join(' ');
    const tokenizer = Tokenizer.fromJSON({ tokenizer: trainByteLevelBpe([text], { vocabSize: 300 }), config: {} });
    const bias = positivityLogitBias(tokenizer, 2);
    const good = tokenizer.encode(' good')[0];
    expect(tokenizer.encode(' good')).toHaveLength(1);
    expect(bias[good]).toBe((2 * afinnScore('good')) / 2);
    for (const [id, b] of Object.entries(bias)) {
      const word = tokenizer.decode([Number(id)]);
      expect(word).toMatch(/^ [A-Za-z]+$/);
      expect(b).toBe(afinnScore(word.trim().toLowerCase()));
    }
    const bad = tokenizer.encode(' bad');
    expect(bad).toHaveLength(1);
    expect(bias[bad[0]]).toBeUndefined();
  });
});

describe('charts', () => {
  it('picks round tick values', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-3.2, 7.9, 5)).toEqual([-2, 0, 2, 4, 6]);
  });
});
