// The collapse detector (paretohqd.md §8.3) on hand-written texts: each rule, its boundary on
// both sides, the order of the rules, and the pooled rate.
import { describe, expect, it } from 'vitest';
import { collapseRate, isCollapsed, repeatedTrigramRatio, sentences } from '../../ts/eval/index.js';

/** n distinct words. */
const distinctWords = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');

describe('isCollapsed: too few words', () => {
  it('fewer than 5 words is short; 5 is not (whitespace of any kind splits words)', () => {
    expect(isCollapsed('')).toBe('short');
    expect(isCollapsed('   \n ')).toBe('short');
    expect(isCollapsed('one two three four')).toBe('short');
    expect(isCollapsed('one\ttwo\nthree  four five')).toBeNull();
  });

  it('minWords moves the boundary', () => {
    expect(isCollapsed(distinctWords(7), { minWords: 8 })).toBe('short');
    expect(isCollapsed(distinctWords(8), { minWords: 8 })).toBeNull();
    expect(isCollapsed('', { minWords: 0 })).toBeNull();
  });
});

describe('isCollapsed: repeated 3-grams', () => {
  it('counts the ratio 1 - distinct/all by hand', () => {
    // 12 words, 10 trigrams: abc bcd cde def efg fga gab, then abc bcd cde again -> 3/10
    expect(repeatedTrigramRatio('a b c d e f g a b c d e'.split(' '))).toBe(0.3);
    expect(repeatedTrigramRatio('a b'.split(' '))).toBeUndefined();
    expect(repeatedTrigramRatio('a a a a'.split(' '))).toBe(0.5);
  });

  it('a ratio of exactly 0.3 is not collapsed, above it is', () => {
    expect(isCollapsed('a b c d e f g a b c d e')).toBeNull();
    // 13 words, 11 trigrams, 7 distinct -> 4/11
    expect(isCollapsed('a b c d e f g a b c d e f')).toBe('ngram');
  });

  it('is case-insensitive: words are lower-cased first', () => {
    expect(isCollapsed('Go on go on GO ON go on')).toBe('ngram');
  });

  it('ngramRatio moves the boundary', () => {
    expect(isCollapsed('a b c d e f g a b c d e f', { ngramRatio: 0.4 })).toBeNull();
    expect(isCollapsed('a b c d e f g a b c d e', { ngramRatio: 0.29 })).toBe('ngram');
  });

  it('the short rule comes first', () => {
    expect(isCollapsed('no no no no')).toBe('short');
    expect(isCollapsed('no no no no no')).toBe('ngram');
  });
});

describe('isCollapsed: a repeated sentence', () => {
  // "ok" sits between different sentences, so no 3-gram repeats: only the sentence rule can fire
  const three = 'The weather today is mild and pleasant. Ok. We walked along the river for hours. Ok! Then we had dinner with old friends. OK.';
  const two = 'The weather today is mild and pleasant. Ok. We walked along the river for hours. Ok! Then we had dinner with old friends.';

  it('splits sentences after . ! ? followed by whitespace (or the end) and on newlines', () => {
    expect(sentences('a b. c d! e f? g\nh i.')).toEqual(['a b', 'c d', 'e f', 'g', 'h i']);
    expect(sentences('version 1.5 is out.  \n\n')).toEqual(['version 1.5 is out']);
  });

  it('3 occurrences collapse (case-insensitive, the last one ending the text), 2 do not', () => {
    expect(repeatedTrigramRatio(three.toLowerCase().split(/\s+/))).toBe(0);
    expect(isCollapsed(three)).toBe('sentence');
    expect(isCollapsed(two)).toBeNull();
  });

  it('lines count as sentences', () => {
    expect(isCollapsed('thank you\nthe first line here\nthank you\nsomething else entirely\nthank you')).toBe('sentence');
  });

  it('sentenceRepeats moves the boundary', () => {
    expect(isCollapsed(two, { sentenceRepeats: 2 })).toBe('sentence');
    expect(isCollapsed(three, { sentenceRepeats: 4 })).toBeNull();
  });
});

describe('options and rates', () => {
  it('refuses options out of range', () => {
    expect(() => isCollapsed('x', { ngramRatio: 1.5 })).toThrow(/ngramRatio/);
    expect(() => isCollapsed('x', { minWords: 2.5 })).toThrow(/minWords/);
    expect(() => isCollapsed('x', { sentenceRepeats: 1 })).toThrow(/sentenceRepeats/);
  });

  it('collapseRate pools the responses and counts each rule', () => {
    const r = collapseRate(['short one', distinctWords(6), 'a b c d e f g a b c d e f', distinctWords(9)]);
    expect(r).toEqual({ responses: 4, collapsed: 2, percent: 50, byRule: { short: 1, ngram: 1, sentence: 0 } });
    expect(collapseRate([])).toEqual({ responses: 0, collapsed: 0, percent: 0, byRule: { short: 0, ngram: 0, sentence: 0 } });
  });
});
